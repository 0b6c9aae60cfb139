import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // the suite's own image cache (test/global-setup.ts)
    globalSetup: ['test/global-setup.ts'],
  },
});
