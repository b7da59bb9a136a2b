import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const MEASURED_ALONE = ['test/fault-flood.test.ts'];

export default defineConfig({
  resolve: {
    // One graphql build for all: Vite would give src/ the ESM one and Pothos the CommonJS one,
    // and graphql refuses types from "another realm". Production (Node) loads CommonJS for both.
    alias: [
      {
        find: /^graphql$/,
        replacement: fileURLToPath(new URL('node_modules/graphql/index.js', import.meta.url)),
      },
    ],
  },
  test: {
    // Each file gets its own database; servers are real, so allow them time to start.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'suite',
          include: ['test/**/*.test.ts'],
          globalSetup: ['test/helpers/global-setup.ts', 'test/helpers/browser-setup.ts'],
          exclude: MEASURED_ALONE,
          // Two cores: more workers than that only makes the servers under test slower.
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        // Tests whose bounds are latencies under a flood: run after the rest, one at a time,
        // so a second test file on the same two cores is not part of what they measure.
        extends: true,
        test: {
          name: 'measured alone',
          include: MEASURED_ALONE,
          globalSetup: ['test/helpers/global-setup.ts'],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
