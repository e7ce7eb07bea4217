import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    // PGlite boots in about 3 s; give hooks room, not tests slack.
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});
