import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // Tests share two cores and real servers; run files one at a time for stable timing.
    fileParallelism: false,
    reporters: ['verbose'],
  },
});
