/**
 * `pnpm demo:record` as a user runs it: the demo agent records its breakers' traffic through a chaos
 * session (a peer's hard outage, a flapping peer, a Supabase outage), then `phlow-tune` replays the
 * recording and writes its report; the report is opened in a real Chromium (Debian's, through
 * playwright-core). The screenshot goes to test/artifacts/ (not committed).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url));
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

interface BreakerReport {
  readonly breaker: string;
  readonly calls: number;
  readonly recommended: number;
  readonly results: readonly { readonly candidate: { readonly label: string; readonly options: Record<string, unknown> } }[];
  readonly reasons: readonly string[];
}

let work: string;
let browser: Browser;
let run: { code: number | null; output: string };

/** Runs the script behind `pnpm demo:record` (built by the suite's build step) with a short session. */
function recordSession(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['apps/demo-agent/dist/record-session.js'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', fail);
    child.on('exit', (code) => done({ code, output }));
  });
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  work = mkdtempSync(join(tmpdir(), 'phlow-demo-record-'));
  [run, browser] = await Promise.all([
    recordSession({
      DURATION: '16',
      RATE: '25',
      PHLOW_RECOVERY_MS: '2000',
      PHLOW_PEER_TIMEOUT_MS: '1000',
      PHLOW_SUPABASE_TIMEOUT_MS: '1000',
      PHLOW_RECORD_DIR: join(work, 'recordings'),
      PHLOW_TUNE_OUT: join(work, 'report'),
    }),
    chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_FLAGS, timeout: 30_000 }),
  ]);
}, 180_000);
afterAll(async () => {
  await browser?.close();
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe('pnpm demo:record', () => {
  it('records a chaos session and phlow-tune writes a recommendation per breaker', () => {
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/peer-alpha down/);
    expect(run.output).toMatch(/peer-beta down/);
    const [session] = readdirSync(join(work, 'recordings'));
    expect(readdirSync(join(work, 'recordings', session!)).some((file) => file.endsWith('.jsonl'))).toBe(true);
    const report = JSON.parse(readFileSync(join(work, 'report', 'report.json'), 'utf8')) as { format: string; breakers: BreakerReport[] };
    expect(report.format).toBe('phlow-tune/1');
    const byName = new Map(report.breakers.map((b) => [b.breaker, b]));
    // The broken peers and the Supabase registry were recorded, each with advice and its reasons.
    for (const name of ['a2a/alpha', 'a2a/beta', 'supabase/rest']) {
      const breaker = byName.get(name);
      expect(breaker, name).toBeDefined();
      expect(breaker!.calls).toBeGreaterThan(20);
      expect(breaker!.results[breaker!.recommended]?.candidate.options).toBeTypeOf('object');
      expect(breaker!.reasons.length).toBeGreaterThan(0);
    }
    // The recording breaker refused calls during alpha's outage: their outcomes are imputed, and said to be.
    expect(byName.get('a2a/alpha')!.reasons.join(' ')).toMatch(/estimate/);
  });

  it('the HTML report shows each breaker with a timeline per configuration, in Chromium', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    await page.goto(pathToFileURL(join(work, 'report', 'report.html')).href);
    expect(await page.title()).toBe('phlow-tune report');
    const alpha = page.locator('section.breaker[data-breaker="a2a/alpha"]');
    expect(await alpha.count()).toBe(1);
    expect(await alpha.locator('.recommendation').innerText()).toMatch(/^Recommended: /);
    const configurations = await alpha.locator('tbody tr').count();
    expect(configurations).toBeGreaterThan(10);
    expect(await alpha.locator('figure svg').count()).toBe(configurations);
    // Alpha's outage is drawn on the dependency row of the recommended configuration's timeline.
    const outage = await alpha.locator('figure svg rect[fill="#cf222e"]').count();
    expect(outage).toBeGreaterThan(0);
    await alpha.scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${ARTIFACTS}demo-record-tune-report.png`, fullPage: false });
    await page.close();
  });
});
