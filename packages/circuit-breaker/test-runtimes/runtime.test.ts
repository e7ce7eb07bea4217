import { expect, it } from 'vitest';

/** The runtime this worker runs on, told by the global each one defines. */
function currentRuntime(): string {
  if ('Bun' in globalThis) return `bun ${(globalThis as unknown as { Bun: { version: string } }).Bun.version}`;
  if ('Deno' in globalThis) return `deno ${(globalThis as unknown as { Deno: { version: { deno: string } } }).Deno.version.deno}`;
  return `node ${process.versions.node}`;
}

const expected = process.env.PHLOW_EXPECT_RUNTIME;

it.runIf(expected)(`the suite's workers run on ${expected}`, () => {
  expect(currentRuntime()).toBe(expected);
});
