/** The built `phlow-tune` bin, run as a user runs it: a child process on real files. */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordScenario } from './record-scenario.test-util.js';
import { generateScenario } from './scenarios.js';

const BIN = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
let dir: string;

function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: dir, timeout: 120_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build the package first (turbo runs the build before the tests)`);
  dir = await mkdtemp(join(tmpdir(), 'phlow-tune-cli-'));
  // Two hours at 5 calls/s with a 20-minute outage, recorded behind the guide's defaults: it refuses calls.
  const scenario = generateScenario({
    name: 'payments',
    seed: 5,
    rateHz: 5,
    durationMs: 2 * 3_600_000,
    incidents: [{ type: 'outage', at: 3_000_000, durationMs: 1_203_000 }],
  });
  await recordScenario(scenario, join(dir, 'recording'), { failureThreshold: 5, recoveryTimeoutMs: 60_000 });
  await writeFile(join(dir, 'one.json'), JSON.stringify([{ failureThreshold: 3 }]));
}, 60_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('phlow-tune', () => {
  it('tunes a recording on worker threads and writes report.json and report.html', async () => {
    const { code, stdout, stderr } = await run('recording', '--out', 'report', '--workers', '2');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/payments: 36\d\d\d calls, 50 configurations\n {2}recommended: /);
    const json = JSON.parse(await readFile(join(dir, 'report', 'report.json'), 'utf8'));
    const report = json.breakers[0];
    expect(report.breaker).toBe('payments');
    expect(report.results).toHaveLength(50);
    expect(report.imputedCalls).toBeGreaterThan(5_500); // the recording breaker refused most of the 20-minute outage (6 000 calls)
    expect(report.health.kind).toBe('inferred');
    expect(report.health.outages).toHaveLength(1);
    // Every outage figure of a recording is an estimate, and says so; a config admitting refused calls is estimated throughout.
    for (const r of report.results) expect(r.metrics.estimated).toContain('deadCalls');
    expect(report.results.some((r: { metrics: { estimated: string[] } }) => r.metrics.estimated.includes('flapsPerHour'))).toBe(true);
    expect(report.results[report.recommended].pareto).toBe(true);
    const html = await readFile(join(dir, 'report', 'report.html'), 'utf8');
    expect(html.match(/<svg /g)).toHaveLength(50);
  });

  it('takes a grid file, and an OTLP/JSON span export', async () => {
    await writeFile(join(dir, 'grid.json'), JSON.stringify([{ label: 'tight', options: { failureThreshold: 3, recoveryTimeoutMs: 5_000 } }, { failureThreshold: 20 }]));
    const spans = {
      resourceSpans: [{ scopeSpans: [{ spans: Array.from({ length: 200 }, (_, i) => ({
        startTimeUnixNano: `${1_700_000_000_000 + i * 1_000}000000`,
        endTimeUnixNano: `${1_700_000_000_000 + i * 1_000 + 20}000000`,
        attributes: [{ key: 'phlow.circuit_breaker.name', value: { stringValue: 'did/web:example.com' } }],
        status: { code: i >= 100 && i < 150 ? 2 : 0 },
      })) }] }],
    };
    await writeFile(join(dir, 'spans.json'), JSON.stringify(spans));
    const { code, stdout } = await run('spans.json', '--grid', 'grid.json', '--out', 'otlp-report', '--workers', '1');
    expect(code).toBe(0);
    expect(stdout).toMatch(/did\/web:example\.com: 200 calls, 3 configurations/); // the two given plus the guide's defaults
  });

  it.each([
    [[], 2, /missing the recording to tune on/],
    [['a', 'b'], 2, /expected one input, got 2/],
    [['recording', '--workers', 'many'], 2, /--workers must be an integer from 1 to 256; got "many"/],
    [['recording', '--workers', '0'], 2, /--workers must be an integer/],
    [['recording', '--frobnicate'], 2, /Unknown option '--frobnicate'/],
    [['recording', '--grid', 'nope.json'], 2, /--grid: no such file/],
    [['nope.jsonl'], 1, /nope\.jsonl: no such file or directory/],
    [['recording', '--breaker', 'ghost'], 1, /no breaker named "ghost"; found: payments/],
  ])('refuses %j with exit code %i and a clear message', async (args, exitCode, message) => {
    const { code, stderr } = await run(...(args as string[]));
    expect(code).toBe(exitCode);
    expect(stderr).toMatch(message);
    if (exitCode === 2) expect(stderr).toMatch(/Usage: phlow-tune/);
  });

  it('refuses bad files: a broken line, a grid that is not JSON or holds an invalid option', async () => {
    await writeFile(join(dir, 'broken.jsonl'), '{"b":"x","t":1,"d":1,"o":"success"}\n{oops\n');
    let result = await run('broken.jsonl');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/broken\.jsonl:2: not JSON/);
    await writeFile(join(dir, 'bad-grid.json'), '[{');
    result = await run('recording', '--grid', 'bad-grid.json');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--grid: .*bad-grid\.json is not JSON/);
    await writeFile(join(dir, 'invalid-grid.json'), JSON.stringify([{ failureThreshold: 0 }]));
    result = await run('recording', '--grid', 'invalid-grid.json');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/grid\[0\]: failureThreshold must be an integer >= 1; got 0/);
    await writeFile(join(dir, 'unknown-grid.json'), JSON.stringify([{ timeoutMs: 5 }]));
    result = await run('recording', '--grid', 'unknown-grid.json');
    expect(result.stderr).toMatch(/grid\[0\]: unknown option "timeoutMs"/);
  });
});

describe('phlow-tune, attacked', () => {
  it('replaces report files planted as symlinks instead of writing through them', async () => {
    const { mkdir, symlink, lstat } = await import('node:fs/promises');
    const out = join(dir, 'planted');
    await mkdir(out);
    const victim = join(dir, 'victim.txt');
    await writeFile(victim, 'precious');
    await symlink(victim, join(out, 'report.html'));
    await symlink(victim, join(out, 'report.json'));
    const result = await run('recording', '--grid', 'one.json', '--workers', '1', '--out', 'planted');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(await readFile(victim, 'utf8')).toBe('precious');
    expect((await lstat(join(out, 'report.html'))).isSymbolicLink()).toBe(false);
    expect(await readFile(join(out, 'report.html'), 'utf8')).toMatch(/^<!doctype html>/);
  });

  it('says so, without a stack trace, when the report cannot be written; refuses a directory or FIFO named .jsonl', async () => {
    await writeFile(join(dir, 'a-file'), 'x');
    let result = await run('recording', '--grid', 'one.json', '--workers', '1', '--out', 'a-file');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^phlow-tune: cannot write .*a-file.*report\.json \((EEXIST|ENOTDIR)\)\n$/);
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(dir, 'odd', 'sub.jsonl'), { recursive: true });
    result = await run('odd');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/sub\.jsonl: not a regular file/);
    const fifo = join(dir, 'pipe.jsonl');
    await new Promise<void>((done, fail) => execFile('mkfifo', [fifo], (error) => (error ? fail(error) : done())));
    result = await run('pipe.jsonl');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/pipe\.jsonl: not a regular file/);
  });
});

describe('phlow-tune, many breakers', () => {
  it('writes the report breaker by breaker: the same JSON renderJson gives, every section in the HTML, no file left behind', async () => {
    const { readdir } = await import('node:fs/promises');
    const { renderJson } = await import('./report-json.js');
    const lines: string[] = [];
    for (let b = 0; b < 40; b++) for (let i = 0; i < 3; i++) lines.push(JSON.stringify({ b: `svc-${b}`, t: 1e12 + i * 1_000, d: 5, o: 'success' }));
    await writeFile(join(dir, 'many.jsonl'), lines.join('\n') + '\n');
    const result = await run('many.jsonl', '--grid', 'one.json', '--out', 'many-out');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const json = await readFile(join(dir, 'many-out', 'report.json'), 'utf8');
    const parsed = JSON.parse(json) as { format: string; breakers: { breaker: string }[] };
    expect(parsed.breakers.map((r) => r.breaker)).toEqual(Array.from({ length: 40 }, (_, b) => `svc-${b}`));
    expect(json).toBe(renderJson(parsed.breakers as never));
    const html = await readFile(join(dir, 'many-out', 'report.html'), 'utf8');
    expect(html.match(/<section class="breaker"/g)).toHaveLength(40);
    expect(html.trimEnd().endsWith('</body></html>')).toBe(true);
    expect((await readdir(join(dir, 'many-out'))).sort()).toEqual(['report.html', 'report.json']);
  });
});
