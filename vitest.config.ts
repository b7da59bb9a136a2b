import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    // Each file gets its own database; servers are real, so allow them time to start.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: more workers than that only makes the servers under test slower.
    maxWorkers: 2,
  },
});
