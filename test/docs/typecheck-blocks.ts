import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { moduleNameOf, type ReadmeBlock } from './readme-blocks.js';

/** A compiler message about a README block, placed in the README. */
export interface BlockDiagnostic {
  block: ReadmeBlock;
  /** README line the message points at. */
  line: number;
  message: string;
}

/**
 * Writes each block to its own module in `generatedDir` (inside the workspace, so the blocks resolve
 * the workspace packages and their dependencies as a user's code would) and typechecks them together
 * with `tsconfig` (which includes that directory), as ESM under the repository's compiler settings.
 */
export function typecheckBlocks(blocks: ReadmeBlock[], generatedDir: string, tsconfig: string): BlockDiagnostic[] {
  rmSync(generatedDir, { recursive: true, force: true });
  mkdirSync(generatedDir, { recursive: true });
  const blockOf = new Map<string, ReadmeBlock>();
  for (const block of blocks) {
    const file = join(generatedDir, moduleNameOf(block));
    writeFileSync(file, block.code);
    blockOf.set(ts.sys.resolvePath(file), block);
  }

  const config = ts.getParsedCommandLineOfConfigFile(tsconfig, {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    },
  });
  if (config === undefined) throw new Error(`cannot read ${tsconfig}`);
  const program = ts.createProgram({ rootNames: [...blockOf.keys()], options: config.options });

  const diagnostics: BlockDiagnostic[] = [];
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    const block = diagnostic.file && blockOf.get(ts.sys.resolvePath(diagnostic.file.fileName));
    if (!block) throw new Error(`compiler message outside the README blocks: ${message}`);
    const { line } = diagnostic.file!.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
    diagnostics.push({ block, line: block.line + line, message });
  }
  return diagnostics;
}
