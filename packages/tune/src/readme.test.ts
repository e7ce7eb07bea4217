/** The README's TypeScript examples, run as written (Node strips the types) against the built package. */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordScenario } from './record-scenario.test-util.js';
import { generateScenario } from './scenarios.js';

// Inside the package, so `@phlow/tune` resolves to this package (a self-reference through its exports).
const SCRIPTS = fileURLToPath(new URL('../artifacts/readme/', import.meta.url));
const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const examples = [...README.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
let cwd: string;

function runExample(index: number): Promise<{ code: number; stdout: string; stderr: string }> {
  const file = join(SCRIPTS, `example-${index}.mts`);
  writeFileSync(file, examples[index]!);
  return new Promise((resolve) => {
    execFile(process.execPath, [file], { cwd, timeout: 120_000 }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : Number(error.code ?? -1), stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  mkdirSync(SCRIPTS, { recursive: true });
  cwd = await mkdtemp(join(tmpdir(), 'phlow-tune-readme-'));
});
afterAll(async () => {
  await rm(cwd, { recursive: true, force: true });
});

describe('README examples', () => {
  it('has the three examples', () => {
    expect(examples).toHaveLength(3);
  });

  it('records a registry, switches recording off and on, and closes', async () => {
    const { code, stderr } = await runExample(0);
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('tunes a recording from code and writes the HTML report', async () => {
    const scenario = generateScenario({ name: 'payments', seed: 8, rateHz: 5, durationMs: 3_600_000, incidents: [{ type: 'outage', at: 1_200_000, durationMs: 600_000 }] });
    await recordScenario(scenario, join(cwd, 'recordings'));
    const { code, stdout, stderr } = await runExample(1);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/Lowest cost on the Pareto front/);
    expect(await readFile(join(cwd, 'report.html'), 'utf8')).toMatch(/<h2>Breaker payments<\/h2>/);
  });

  it('tunes a generated flapping day', async () => {
    const { code, stdout, stderr } = await runExample(2);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout.trim().length).toBeGreaterThan(0);
  });
});
