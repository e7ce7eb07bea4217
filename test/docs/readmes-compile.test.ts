import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { readmeBlocks } from './readme-blocks.js';
import { typecheckBlocks, type BlockDiagnostic } from './typecheck-blocks.js';

// Docs are code: every TypeScript example of every README compiles as a reader would paste it,
// imports included, under the repository's compiler settings (strict, NodeNext, ESM).
const root = fileURLToPath(new URL('../../', import.meta.url));
const generatedDir = fileURLToPath(new URL('./.generated/compile/', import.meta.url));
const tsconfig = fileURLToPath(new URL('./tsconfig.json', import.meta.url));

const blocks = readmeBlocks(root);
const compiled = blocks.filter((block) => block.optOut === undefined);
let diagnostics: BlockDiagnostic[] = [];

beforeAll(() => {
  diagnostics = typecheckBlocks(compiled, generatedDir, tsconfig);
}, 120_000);

describe('README TypeScript blocks', () => {
  it('are found', () => {
    expect(blocks.length).toBeGreaterThan(0);
  });

  it('opt out only with a reason', () => {
    const withoutReason = blocks
      .filter((block) => block.optOut === '')
      .map((block) => `${block.readme}:${block.line - 1} (block ${block.index}): <!-- not compiled: … --> needs a reason`);
    expect(withoutReason).toEqual([]);
  });

  it.each(compiled.map((block) => [`${block.readme} block ${block.index} (line ${block.line})`, block] as const))(
    '%s compiles',
    (_, block) => {
      const messages = diagnostics
        .filter((diagnostic) => diagnostic.block === block)
        .map((diagnostic) => `${block.readme}:${diagnostic.line} (block ${block.index}): ${diagnostic.message}`);
      expect(messages.length, messages.join('\n')).toBe(0);
    },
  );
});
