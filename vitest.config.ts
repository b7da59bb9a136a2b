import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

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
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts', 'test/helpers/browser-setup.ts'],
    // Each file gets its own database; servers are real, so allow them time to start.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: more workers than that only makes the servers under test slower.
    maxWorkers: 2,
  },
});
