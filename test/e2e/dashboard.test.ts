/**
 * The dashboard in a real Chromium (Debian's, driven by playwright-core): a chaos click breaks a peer,
 * relayed traffic trips its breaker and the page shows it open; a heal click and the next probe close it
 * and the page shows it closed, its state timeline an open stretch on a time axis, and call latencies.
 * Screenshots go to test/artifacts/ (not committed).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { waitFor } from '@phlow/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type DemoProcess } from './demo-process.js';
import { getJson, type ChaosState } from './helpers.js';

const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url));
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

let demo: DemoProcess;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  [demo, browser] = await Promise.all([
    startDemo({ PHLOW_RECOVERY_MS: '4000' }),
    chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_FLAGS, timeout: 30_000 }),
  ]);
  page = await browser.newPage({ viewport: { width: 1140, height: 1000 } });
  page.setDefaultTimeout(15_000);
});
afterAll(async () => {
  await browser?.close();
  await demo?.stop();
});

/** Relays over the agent's HTTP route (as the dashboard's own form does). */
async function relayTo(peer: string): Promise<number> {
  const response = await fetch(`${demo.url}/relay`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ to: peer, text: 'from the dashboard test' }),
    signal: AbortSignal.timeout(10_000),
  });
  await response.arrayBuffer();
  return response.status;
}

/** The page from the breakers table to the timeline's legend: what the reference screenshot shows. */
async function timelineClip(page: Page): Promise<{ x: number; y: number; width: number; height: number }> {
  return page.evaluate(() => {
    const top = document.querySelector('#breakers')!.getBoundingClientRect().top + window.scrollY - 30;
    const bottom = document.querySelector('#timeline-note')!.getBoundingClientRect().bottom + window.scrollY + 6;
    return { x: 0, y: Math.max(0, top), width: document.documentElement.clientWidth, height: bottom - Math.max(0, top) };
  });
}

describe('the dashboard in Chromium', () => {
  it('lists every breaker live, shows one open after a chaos click and closed after healing', async () => {
    await page.goto(demo.url);
    // Every dependency's breaker is listed from the start (the agent warms them up), closed.
    for (const name of ['supabase/rest', 'a2a/alpha', 'a2a/beta', 'a2a/gamma']) {
      await page.locator(`tr[data-breaker="${name}"][data-state="closed"]`).waitFor();
    }
    await expect(page.locator('tr[data-breaker^="did/web:"]').count()).resolves.toBe(1);
    await page.locator('#status.healthy').waitFor();

    // Break peer beta from the page; traffic trips its breaker; the page (via server-sent events) shows it.
    await page.click('button[data-chaos="peer-beta"][data-action="down"]');
    await page.locator('tr[data-dependency="peer-beta"] >> text=refuse').waitFor();
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push(await relayTo('beta'));
    expect(statuses).toEqual([502, 502, 502, 503]);
    const openRow = page.locator('tr[data-breaker="a2a/beta"][data-state="open"]');
    await openRow.waitFor();
    await expect(openRow.locator('td').nth(2).textContent()).resolves.toBe('3 / 3');
    await expect(openRow.locator('td').nth(6).textContent()).resolves.toMatch(/^\d+\.\d s$/);
    await page.locator('#status.degraded').waitFor();
    await page.locator('#transitions li >> text=a2a/beta closed → open (failure_threshold)').waitFor();
    await page.screenshot({ path: `${ARTIFACTS}dashboard-breaker-open.png`, fullPage: true });

    // Heal from the page; after the recovery timeout the next relay is the probe that closes it.
    await page.click('button[data-chaos="peer-beta"][data-action="heal"]');
    await page.locator('tr[data-dependency="peer-beta"] >> text=healthy').waitFor();
    await waitFor('beta to answer again', async () => (await relayTo('beta')) === 200, { timeoutMs: 15_000, everyMs: 100 });
    await page.locator('tr[data-breaker="a2a/beta"][data-state="closed"]').waitFor();
    await page.locator('#status.healthy').waitFor();
    // The chart has drawn the traffic (three series).
    await expect(page.locator('#chart polyline').count()).resolves.toBe(3);
    await page.screenshot({ path: `${ARTIFACTS}dashboard-breaker-closed.png`, fullPage: true });

    // The state timeline: beta's row went closed → open → half_open → closed, drawn in that order
    // left to right, on an axis that ends at "now".
    const betaSegments = page.locator('#timeline rect[data-breaker="a2a/beta"]');
    await page.locator('#timeline rect[data-breaker="a2a/beta"][data-state="half_open"]').waitFor({ state: 'attached' });
    const drawn = await betaSegments.evaluateAll((rects) => rects.map((r) => ({ state: r.getAttribute('data-state'), x: Number(r.getAttribute('x')), width: Number(r.getAttribute('width')) })));
    expect(drawn.map((d) => d.state)).toEqual(['closed', 'open', 'half_open', 'closed']);
    for (let i = 1; i < drawn.length; i++) expect(drawn[i]!.x).toBeGreaterThanOrEqual(drawn[i - 1]!.x);
    expect(drawn[1]!.width).toBeGreaterThan(0);
    // One row per breaker the table lists, each ending in its current state.
    await expect(page.locator('#timeline rect[data-breaker="a2a/alpha"][data-state="closed"]').count()).resolves.toBe(1);
    const axis = await page.locator('#timeline .axis text').allTextContents();
    expect(axis).toHaveLength(6);
    // The agent is younger than the 5-minute window: the axis starts where its history does.
    expect(axis[0]).toMatch(/^−\d+ s \d/);
    expect(axis[5]).toMatch(/^now /);
    // Latency of beta's calls (the failed ones and the probe) and alpha's warm-up calls, in ms.
    for (const name of ['a2a/beta', 'supabase/rest']) {
      for (const cell of ['p50', 'p99']) await expect(page.locator(`tr[data-breaker="${name}"] td.${cell}`).textContent()).resolves.toMatch(/^\d+(\.\d)? ms$/);
    }
    const screenshot = `${ARTIFACTS}dashboard-timeline.png`;
    await page.locator('#timeline').scrollIntoViewIfNeeded();
    await page.screenshot({ path: screenshot, clip: await timelineClip(page) });
    const png = readFileSync(screenshot);
    expect(png.length).toBeGreaterThan(1_000);
    expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  });

  it('the admin reset from the page needs the token', async () => {
    await page.fill('#token', 'not-the-token');
    await page.click('#reset button');
    await page.locator('#reset-result >> text=refused (401)').waitFor();
    await page.fill('#token', demo.adminToken);
    await page.click('#reset button');
    await page.locator('#reset-result >> text=all breakers closed').waitFor();
  });

  it('relays from the page form and shows the answer', async () => {
    await page.fill('#to', 'gamma');
    await page.fill('#text', 'typed in Chromium');
    await page.click('#relay button');
    await page.locator('#log >> text=echo: typed in Chromium').waitFor();
  });

  it('a page on another origin cannot drive the chaos controls: its form posts and fetches change nothing', async () => {
    // The hostile page: a form post (each enctype a form can send), a no-cors fetch, and a JSON fetch
    // (which needs a CORS preflight the agent never grants). It reports what the browser let it see.
    const target = `${demo.url}/chaos/peer-alpha/down`;
    const html = `<!doctype html><body>
      <iframe name="sink"></iframe>
      ${['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain'].map((type, i) => `<form id="f${i}" method="POST" action="${target}" enctype="${type}" target="sink"><input name='{"a":"' value='"}'></form>`).join('')}
      <script>
        window.results = [];
        (async () => {
          for (let i = 0; i < 3; i++) { document.getElementById('f' + i).submit(); await new Promise((r) => setTimeout(r, 300)); }
          await fetch(${JSON.stringify(target)}, { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: '{}' }).then(() => results.push('no-cors sent'), (e) => results.push('no-cors ' + e.message));
          await fetch(${JSON.stringify(target)}, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).then((r) => results.push('json ' + r.status), (e) => results.push('json blocked'));
          results.push('done');
        })();
      </script></body>`;
    const hostile = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(html));
    await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve));
    const attacker = await browser.newPage();
    try {
      const seen: { status: number; url: string }[] = [];
      attacker.on('response', (response) => {
        if (response.url() === target) seen.push({ status: response.status(), url: response.url() });
      });
      await attacker.goto(`http://127.0.0.1:${(hostile.address() as AddressInfo).port}/`);
      await attacker.waitForFunction(() => (window as unknown as { results: string[] }).results.includes('done'), undefined, { timeout: 15_000 });
      const results = await attacker.evaluate(() => (window as unknown as { results: string[] }).results);
      // The JSON fetch never got past the preflight; every request that reached the agent was refused.
      expect(results).toContain('json blocked');
      expect(seen.length).toBeGreaterThanOrEqual(3);
      for (const response of seen) expect([403, 415]).toContain(response.status);
      const state = await getJson<ChaosState>(`${demo.url}/chaos`);
      expect(state.dependencies.find((d) => d.name === 'peer-alpha')!.faults).toEqual({});
    } finally {
      await attacker.close();
      await new Promise<void>((resolve) => hostile.close(() => resolve()));
    }
  });
  it('a page on another origin cannot frame the dashboard (clickjacking its chaos buttons)', async () => {
    // The decoy: the dashboard in a transparent frame over a "play" button. Were it shown, the operator's
    // click would land on a chaos button, a same-origin JSON request the chaos controls accept.
    const html = `<!doctype html><body><button style="position:absolute;top:0;left:0">play</button>
      <iframe id="victim" src="${demo.url}/" style="opacity:0.01;position:absolute;top:0;left:0;width:1140px;height:1000px"></iframe></body>`;
    const hostile = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(html));
    await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve));
    const attacker = await browser.newPage();
    try {
      const framed = attacker.waitForResponse((response) => response.url() === `${demo.url}/`);
      await attacker.goto(`http://127.0.0.1:${(hostile.address() as AddressInfo).port}/`);
      const response = await framed;
      expect(response.headers()['x-frame-options']).toBe('DENY');
      expect(response.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
      await attacker.waitForLoadState('load');
      // The browser refused to render it: no frame holds the dashboard's buttons.
      for (const frame of attacker.frames()) expect(await frame.locator('button[data-chaos]').count(), frame.url()).toBe(0);
      const state = await getJson<ChaosState>(`${demo.url}/chaos`);
      expect(state.dependencies.every((d) => Object.keys(d.faults).length === 0)).toBe(true);
    } finally {
      await attacker.close();
      await new Promise<void>((resolve) => hostile.close(() => resolve()));
    }
  });

  it('renders hostile names and messages as text, and its policy would stop an injected script anyway', async () => {
    // Every string field of a snapshot, as a hostile peer, DID host or error could make it.
    const evil = (what: string) => `<img src=x onerror="window.__pwned='${what}'"><script>window.__pwned='${what}'</script>`;
    const snapshot = {
      now: Date.now(),
      status: 'healthy',
      breakers: [{ name: evil('breaker'), state: evil('state'), failure_count: 0, failure_threshold: 3, total_calls: 0, total_failures: 0, total_rejections: 0, retry_in_ms: null, latency: { calls: evil('calls'), p50_ms: 1, p99_ms: 2 } }],
      dependencies: [{ name: evil('dependency'), mode: 'http', breaker: evil('dependency breaker'), faults: { [evil('fault')]: true }, forwarded: 0, received: 0 }],
      outbox: { pending: 0, replayed: 0, dropped: 0, stored: 0 },
      relays: { relayed: 0, failed: 0 },
      policies: { retries: 1, budgetExhausted: 0, fallbacks: { [evil('tier')]: 1 }, bulkheadRejections: 0 },
      transitions: [{ at: Date.now(), name: evil('transition'), from: 'closed', to: 'open', reason: evil('reason') }],
      samples: [{ t: Date.now(), calls: 1, failures: 0, rejections: 0 }],
      timeline: {
        now: Date.now(),
        window_ms: 300_000,
        max_rows: 24,
        max_segments: 32,
        hidden: evil('hidden'),
        rows: [{ name: evil('timeline'), known_from: Date.now() - 60_000, segments: [{ state: evil('segment'), from: Date.now() - 60_000, to: null }] }],
      },
    };
    const victim = await browser.newPage();
    const violations: string[] = [];
    victim.on('console', (message) => {
      if (/Content Security Policy/.test(message.text())) violations.push(message.text());
    });
    try {
      await victim.route(`${demo.url}/events`, (route) => route.fulfill({ status: 200, headers: { 'content-type': 'text/event-stream' }, body: `data: ${JSON.stringify(snapshot)}\n\n` }));
      await victim.goto(demo.url);
      await victim.locator('#breakers td', { hasText: "<img src=x onerror=\"window.__pwned='breaker'\">" }).first().waitFor();
      for (const where of ['#transitions li', '#chaos td', '#timeline text', '#policies']) await expect(victim.locator(where, { hasText: '<script>' }).count()).resolves.toBeGreaterThan(0);
      await expect(victim.locator('#timeline rect title', { hasText: "<img src=x onerror=\"window.__pwned='segment'\">" }).count()).resolves.toBe(1);
      expect(await victim.locator('#breakers img, #chaos img, #transitions img, #timeline img, #breakers script, #chaos script, #transitions script, #timeline script, #timeline-note img, #policies img, #policies script').count()).toBe(0);
      expect(await victim.evaluate(() => (window as unknown as { __pwned?: string }).__pwned)).toBeUndefined();
      // The page's own script runs under its policy (it rendered); one injected at runtime does not.
      await victim.evaluate(() => {
        const s = document.createElement('script');
        s.textContent = "window.__pwned = 'injected'";
        document.body.appendChild(s);
      });
      expect(await victim.evaluate(() => (window as unknown as { __pwned?: string }).__pwned)).toBeUndefined();
      await waitFor('a Content-Security-Policy violation report', () => violations.length > 0, { timeoutMs: 5_000 });
    } finally {
      await victim.close();
    }
  });
  it('still shows the breakers when every event stream place is taken (somebody holds them all): it polls instead', async () => {
    const page2 = await browser.newPage();
    try {
      let refused = 0;
      await page2.route(`${demo.url}/events`, (route) => {
        refused++;
        return route.fulfill({ status: 503, headers: { 'content-type': 'application/json' }, body: '{"detail":"too many dashboards open (100); close one and reload"}' });
      });
      const polled = page2.waitForResponse((response) => response.url() === `${demo.url}/api/state` && response.status() === 200);
      await page2.goto(demo.url);
      await polled;
      await page2.locator('tr[data-breaker="a2a/alpha"]').waitFor();
      await page2.locator('#status.healthy').waitFor();
      expect(refused).toBeGreaterThanOrEqual(1);
    } finally {
      await page2.close();
    }
  });
});
