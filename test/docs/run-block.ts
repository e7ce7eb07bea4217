import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { moduleNameOf, type ReadmeBlock } from './readme-blocks.js';

/** How a block's run ended. */
export interface BlockRun {
  exitCode: number | null;
  output: string;
}

/**
 * Runs a block as a program of its own: compiled to an ES module in `generatedDir` (inside the
 * workspace, so its imports resolve as a user's would), imported by a fresh `node` in `cwd` with `env`.
 * The run succeeds when the module finished evaluating without throwing; the process then exits at
 * once, since an example may leave servers and clients open as a reader's program would.
 */
export async function runBlock(
  block: ReadmeBlock,
  options: { generatedDir: string; cwd: string; env: NodeJS.ProcessEnv; boundMs: number },
): Promise<BlockRun> {
  mkdirSync(options.generatedDir, { recursive: true });
  const file = join(options.generatedDir, moduleNameOf(block).replace(/\.ts$/, '.mjs'));
  const { outputText } = ts.transpileModule(block.code, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    fileName: moduleNameOf(block),
  });
  writeFileSync(file, outputText);

  const script = `await import(${JSON.stringify(pathToFileURL(file).href)}); process.exit(0);`;
  const child = spawn(process.execPath, ['--no-warnings', '--input-type=module', '-e', script], {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  // A bound on a hung example, not a timing assertion.
  const bound = setTimeout(() => {
    output += `\n(still running after ${options.boundMs} ms: killed)`;
    child.kill('SIGKILL');
  }, options.boundMs);
  const exitCode = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(bound);
  return { exitCode, output };
}
