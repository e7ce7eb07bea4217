import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LoopbackServer, startLoopbackServer } from './loopback-server.test-util.js';

const run = promisify(execFile);
const packageDir = fileURLToPath(new URL('..', import.meta.url));
// Inside the package, so `@phlow/resilience` resolves to this package (self-reference) and its peers to ours.
const scratch = fileURLToPath(new URL('../.readme-check/', import.meta.url));

/** The README's ```ts blocks, in order. */
async function readmeBlocks(): Promise<string[]> {
  const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
  return [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

describe('README examples, run as written against real HTTP servers on loopback', () => {
  let primary: LoopbackServer;
  let backup: LoopbackServer;
  let primaryCalls = 0;

  beforeAll(async () => {
    primary = await startLoopbackServer((_request, response) => {
      // Brown-out: the first answer is a 503, then the dependency answers.
      primaryCalls++;
      if (primaryCalls === 1) {
        response.statusCode = 503;
        response.end('busy');
        return;
      }
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ forecast: 'sunny' }));
    });
    backup = await startLoopbackServer((_request, response) => {
      response.end(JSON.stringify({ forecast: 'from the backup' }));
    });
    await mkdir(scratch, { recursive: true });
  });

  afterAll(async () => {
    await primary.close();
    await backup.close();
    await rm(scratch, { recursive: true, force: true });
  });

  it('has the examples this test runs', async () => {
    expect(await readmeBlocks()).toHaveLength(2);
  });

  it('the usage example retries the 503 and answers from the primary; the bulkhead example runs', async () => {
    const [usage, bulkheads] = await readmeBlocks();
    const files: string[] = [];
    for (const [index, block] of [usage!, bulkheads!].entries()) {
      const file = `${scratch}example-${index}.ts`;
      await writeFile(file, block.replace('http://127.0.0.1:8080', primary.url).replace('http://127.0.0.1:8081', backup.url));
      files.push(file);
    }
    // Type-checked with the package's own settings, then run by Node (type stripping).
    await writeFile(
      `${scratch}tsconfig.json`,
      JSON.stringify({ extends: '../../../tsconfig.base.json', compilerOptions: { noEmit: true, composite: false, rootDir: '.', module: 'NodeNext', target: 'ES2022', lib: ['ES2022', 'DOM'] }, include: ['*.ts'] }),
    );
    await run(process.execPath, [fileURLToPath(import.meta.resolve('typescript/bin/tsc')), '-p', `${scratch}tsconfig.json`], { cwd: packageDir });
    const usageRun = await run(process.execPath, [files[0]!], { cwd: packageDir });
    expect(usageRun.stdout.trim()).toBe('sunny (from primary; skipped: none)');
    expect(primaryCalls).toBe(2);
    const bulkheadRun = await run(process.execPath, [files[1]!], { cwd: packageDir });
    expect(bulkheadRun.stdout.trim()).toBe('20');
  });
});
