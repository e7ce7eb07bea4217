import { fileURLToPath } from 'node:url';
import { defineConfig, mergeConfig } from 'vitest/config';
import base from '../vitest.config.js';

// The package's own suite, plus a check that its workers really run on the runtime run.sh started
// (vitest forks workers with process.execPath: a worker silently on Node would prove nothing).
export default mergeConfig(
  base,
  defineConfig({
    root: fileURLToPath(new URL('..', import.meta.url)),
    test: { include: ['src/**/*.test.ts', 'test-runtimes/**/*.test.ts'] },
  }),
);
