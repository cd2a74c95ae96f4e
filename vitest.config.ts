import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30000,
    hookTimeout: 60000,
    // end-to-end tests bind real ports and start real servers; two workers match the 2-core machine
    maxWorkers: 2,
  },
});
