import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';

/** A fenced TypeScript block of a README, as a reader sees it. */
export interface ReadmeBlock {
  /** The README's path from the repository root, e.g. `packages/supabase/README.md`. */
  readme: string;
  /** 1-based position among the README's TypeScript blocks. */
  index: number;
  /** README line of the block's first code line (the line after the opening fence). */
  line: number;
  code: string;
  /** Why the block is not compiled, when the README says so right before it. */
  optOut?: string;
}

const OPENING_FENCE = /^\s*```(ts|typescript)\s*$/;
const ANY_FENCE = /^\s*```/;
const OPT_OUT = /^\s*<!--\s*not compiled:\s*(.*?)\s*-->\s*$/;

/** Every README whose examples users read: the root's, each package's and each app's. */
export function findReadmes(root: string): string[] {
  const readmes = [join(root, 'README.md')];
  for (const parent of ['packages', 'apps']) {
    for (const entry of readdirSync(join(root, parent), { withFileTypes: true })) {
      const readme = join(root, parent, entry.name, 'README.md');
      if (entry.isDirectory() && existsSync(readme)) readmes.push(readme);
    }
  }
  return readmes.filter((readme) => existsSync(readme)).map((readme) => relative(root, readme));
}

/**
 * The ```ts / ```typescript blocks of a README. A block opts out only with `<!-- not compiled: why -->`
 * on the line right before its fence (blank lines between them are allowed); an opt-out without a
 * reason is kept as `optOut: ''` so the test can refuse it.
 */
export function extractBlocks(readme: string, text: string): ReadmeBlock[] {
  const lines = text.split(/\r?\n/);
  const blocks: ReadmeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const opening = lines[i]!;
    if (!ANY_FENCE.test(opening)) continue;
    const end = closingFence(lines, i);
    if (OPENING_FENCE.test(opening)) {
      const block: ReadmeBlock = {
        readme,
        index: blocks.length + 1,
        line: i + 2,
        code: lines.slice(i + 1, end).join('\n') + '\n',
      };
      const optOut = optOutBefore(lines, i);
      if (optOut !== undefined) block.optOut = optOut;
      blocks.push(block);
    }
    i = end;
  }
  return blocks;
}

function closingFence(lines: string[], opening: number): number {
  for (let i = opening + 1; i < lines.length; i++) if (/^\s*```\s*$/.test(lines[i]!)) return i;
  throw new Error(`unclosed code fence at line ${opening + 1}`);
}

function optOutBefore(lines: string[], fence: number): string | undefined {
  let i = fence - 1;
  while (i >= 0 && lines[i]!.trim() === '') i--;
  const match = i >= 0 ? OPT_OUT.exec(lines[i]!) : null;
  return match ? match[1]! : undefined;
}

/** Every TypeScript block of every README under `root`. */
export function readmeBlocks(root: string): ReadmeBlock[] {
  return findReadmes(root).flatMap((readme) => extractBlocks(readme, readFileSync(join(root, readme), 'utf8')));
}

/** The module file a block is written to: `packages-supabase-README-3.ts`. */
export function moduleNameOf(block: ReadmeBlock): string {
  return `${block.readme.replace(/\.md$/, '').replace(/[\\/]/g, '-')}-${block.index}.ts`;
}
