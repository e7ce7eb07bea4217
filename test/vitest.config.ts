import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['e2e/**/*.test.ts', 'docs/**/*.test.ts'],
    // One demo process per file; files run one after another (each starts PGlite, peers, proxies).
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
