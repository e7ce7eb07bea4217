/**
 * The HTML report in a real Chromium (Debian's, driven by playwright-core): the recommendation, the
 * table and one SVG timeline per configuration render, the outage shows on the dependency row and the
 * open period on the breaker row, and a label from a hostile grid file stays text. A screenshot goes
 * to artifacts/ (not committed).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHtml } from './report-html.js';
import { generateScenario } from './scenarios.js';
import { tune } from './tune.js';

const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url));
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
let browser: Browser;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_FLAGS, timeout: 30_000 });
});
afterAll(async () => {
  await browser?.close();
});

describe('report.html in Chromium', () => {
  it('shows the recommendation, every configuration and its timeline of health against breaker state', async () => {
    const scenario = generateScenario({
      name: 'payments',
      seed: 3,
      rateHz: 5,
      durationMs: 3 * 3_600_000,
      incidents: [{ type: 'outage', at: 3_600_000, durationMs: 1_800_000 }],
    });
    const hostile = '<img src=x onerror="document.title=\'pwned\'">';
    const report = await tune(scenario.traffic, {
      health: scenario.truth,
      workers: 1,
      grid: [{ failureThreshold: 3, recoveryTimeoutMs: 5_000 }, { label: hostile, options: { failureThreshold: 50, recoveryTimeoutMs: 60_000 } }],
    });
    const file = `${ARTIFACTS}tune-report.html`;
    writeFileSync(file, renderHtml([report]));
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    await page.goto(pathToFileURL(file).href);
    expect(await page.title()).toBe('phlow-tune report');
    const best = report.results[report.recommended]!.candidate.label;
    expect(await page.locator('.recommendation').innerText()).toMatch(new RegExp(`^Recommended: ${best}`));
    expect(await page.locator('tbody tr').count()).toBe(3); // the two given and the guide's defaults
    expect(await page.locator('tr.recommended td').nth(1).innerText()).toContain(`${best} (recommended)`);
    expect(await page.locator('figure svg').count()).toBe(3);
    // The hostile label is shown as text, not run.
    expect(await page.locator('tbody').innerText()).toContain(hostile);
    expect(await page.locator('img').count()).toBe(0);
    // The outage (an hour in, half an hour long, of three) is drawn red on the dependency row, and the
    // recommended breaker's open stretch blue beneath it, at about the same place.
    const bars = await page.locator(`figure[data-config="${report.recommended}"] svg rect`).evaluateAll((rects) =>
      rects.map((r) => ({ x: Number(r.getAttribute('x')), width: Number(r.getAttribute('width')), y: Number(r.getAttribute('y')), fill: r.getAttribute('fill') })),
    );
    const red = bars.filter((b) => b.y === 14 && b.fill === '#cf222e');
    const blue = bars.filter((b) => b.y === 40 && b.fill === '#0969da');
    expect(red).toHaveLength(1);
    expect(red[0]!.x).toBeCloseTo(560 / 3, -1);
    expect(red[0]!.width).toBeCloseTo(560 / 6, -1);
    expect(blue.length).toBeGreaterThanOrEqual(1);
    expect(Math.abs(blue[0]!.x - red[0]!.x)).toBeLessThan(3);
    const box = await page.locator(`figure[data-config="${report.recommended}"] svg`).boundingBox();
    expect(box!.width).toBeGreaterThan(500);
    await page.screenshot({ path: `${ARTIFACTS}tune-report.png`, fullPage: true });
    expect(await page.title()).toBe('phlow-tune report');
    await page.close();
  });
});
