import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    // PGlite boots in about 3 s and the real clients retry on their own; give hooks room, not tests slack.
    testTimeout: 15_000,
    hookTimeout: 30_000,
  },
});
