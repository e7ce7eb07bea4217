import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { extractBlocks } from './readme-blocks.js';
import { typecheckBlocks } from './typecheck-blocks.js';

const readme = [
  '# A package', //                     1
  '```sh', //                           2
  'pnpm add a-package', //              3
  '```', //                             4
  '```ts', //                           5
  "const a = 'one';", //                6
  '```', //                             7
  '<!-- not compiled: shell output -->', // 8
  '', //                                9
  '```typescript', //                   10
  '$ node main.js', //                  11
  '```', //                             12
  '<!-- not compiled: -->', //          13
  '  ```ts', //                         14
  '  const b = 2;', //                  15
  '  ```', //                           16
  '```', //                             17
  'const c: number = "untagged: not ours";', // 18
  '```', //                             19
].join('\n');

describe('extractBlocks', () => {
  it('finds the ts and typescript blocks with the README line of their first code line, and their opt-outs', () => {
    expect(extractBlocks('README.md', readme)).toEqual([
      { readme: 'README.md', index: 1, line: 6, code: "const a = 'one';\n" },
      { readme: 'README.md', index: 2, line: 11, code: '$ node main.js\n', optOut: 'shell output' },
      { readme: 'README.md', index: 3, line: 15, code: '  const b = 2;\n', optOut: '' },
    ]);
  });

  it('refuses an unclosed fence', () => {
    expect(() => extractBlocks('README.md', '```ts\nconst a = 1;\n')).toThrow('unclosed code fence at line 1');
  });
});

describe('typecheckBlocks', () => {
  it("places the compiler's message on the README's line", () => {
    const generatedDir = fileURLToPath(new URL('./.generated/self-test/', import.meta.url));
    const tsconfig = fileURLToPath(new URL('./tsconfig.json', import.meta.url));
    const block = { readme: 'packages/x/README.md', index: 2, line: 40, code: "const ok = 1;\nconst n: number = 'two';\n" };
    const diagnostics = typecheckBlocks([block], generatedDir, tsconfig);
    expect(diagnostics.map(({ line, message }) => ({ line, message }))).toEqual([
      { line: 41, message: "Type 'string' is not assignable to type 'number'." },
    ]);
  });
});
