import { describe, expect, it } from 'vitest';
import { GUIDE_DEFAULTS } from './candidate.js';
import { defaultGrid } from './default-grid.js';
import { scenarios } from './scenarios.js';
import { tune } from './tune.js';

const HOUR = 3_600_000;

describe('tune', () => {
  it('scores the default grid of 50 with the guide defaults first; the recommendation is on the Pareto front and no costlier than the defaults', async () => {
    const day = scenarios.hardOutage(3, 5, 6 * HOUR);
    const report = await tune(day.traffic, { health: day.truth, workers: 1 });
    expect(report.results).toHaveLength(50);
    expect(report.results[report.defaults]!.candidate).toEqual(GUIDE_DEFAULTS);
    const best = report.results[report.recommended]!;
    expect(best.pareto).toBe(true);
    expect(best.cost).toBeLessThanOrEqual(report.results[report.defaults]!.cost);
    expect(report.reasons[0]).toMatch(/^Lowest cost on the Pareto front/);
    expect(new Set(defaultGrid().map((c) => c.label)).size).toBe(50);
  });

  it('gives the same results on worker threads (the built package) as on this thread', async () => {
    const built = (await import(new URL('../dist/index.js', import.meta.url).href)) as typeof import('./index.js');
    const day = scenarios.herd(4, 5, 3 * HOUR);
    const grid = defaultGrid().slice(0, 8);
    const here = await tune(day.traffic, { health: day.truth, workers: 1, grid });
    const there = await built.tune(day.traffic, { health: day.truth, workers: 3, grid });
    expect(there.results.map((r) => r.metrics)).toEqual(here.results.map((r) => r.metrics));
    expect(there.results.map((r) => r.timeline)).toEqual(here.results.map((r) => r.timeline));
    expect(there.recommended).toBe(here.recommended);
  });

  it('adds the guide defaults to a grid without them, and weights change the advice', async () => {
    const day = scenarios.hardOutage(5, 5, 6 * HOUR);
    const grid = [{ failureThreshold: 3, recoveryTimeoutMs: 5_000 }, { failureThreshold: 3, recoveryTimeoutMs: 60_000 }];
    const report = await tune(day.traffic, { health: day.truth, workers: 1, grid });
    expect(report.results.map((r) => r.candidate.label)).toEqual([GUIDE_DEFAULTS.label, '3 in a row, 5 s', '3 in a row, 60 s']);
    // Probing every 5 s sends calls to the dead dependency; waiting 60 s refuses healthy calls after it recovers.
    const hatesDeadCalls = await tune(day.traffic, { health: day.truth, workers: 1, grid, weights: { deadCall: 100 } });
    const hatesRefusals = await tune(day.traffic, { health: day.truth, workers: 1, grid, weights: { healthyRefused: 100 } });
    expect(hatesDeadCalls.results[hatesDeadCalls.recommended]!.candidate.options.recoveryTimeoutMs).toBe(60_000);
    expect(hatesRefusals.results[hatesRefusals.recommended]!.candidate.label).toBe('3 in a row, 5 s');
  });

  it('refuses invalid options and candidates, naming them', async () => {
    const { traffic } = scenarios.steady(1, 1, HOUR);
    await expect(tune(traffic, { workers: -1 })).rejects.toThrow(/workers must be an integer from 0 to 256; got -1/);
    await expect(tune(traffic, { grid: [{ failureThreshold: 'five' }] })).rejects.toThrow(/grid\[0\]: failureThreshold/);
    await expect(tune(traffic, { grid: [{ failurePolicy: { type: 'count-window', size: 10, minimumCalls: 20, failureRateThreshold: 0.5 } }] })).rejects.toThrow(/grid\[0\]: .*minimumCalls/);
    await expect(tune(traffic, { grid: [null] })).rejects.toThrow(/grid\[0\] must be an object/);
    await expect(tune(traffic, { grid: [{ label: 5, options: {} }] })).rejects.toThrow(/grid\[0\].label must be a non-empty string/);
    await expect(tune(traffic, { weights: { flap: NaN } })).rejects.toThrow(/weights.flap/);
    await expect(tune(traffic, { colour: 'red' } as never)).rejects.toThrow(/unknown option "colour"/);
    // A grid file is JSON a user was handed: a "__proto__" key is an own key there, and refused by name.
    await expect(tune(traffic, { grid: [JSON.parse('{"__proto__":{"failureThreshold":1}}')] })).rejects.toThrow(/unknown option "__proto__"/);
    await expect(tune(traffic, { grid: [JSON.parse('{"options":{"constructor":{"prototype":{"x":1}}}}')] })).rejects.toThrow(/unknown option "constructor"/);
    expect(({} as Record<string, unknown>).failureThreshold).toBeUndefined();
  });
});

describe('tune, attacked', () => {
  it('takes a recording whose few calls span the whole range of times a recording may hold', async () => {
    const rows = [0, 1_000, 8.64e15 - 1_000, 8.64e15].flatMap((t, k) =>
      Array.from({ length: 6 }, (_, i) => ({ start: t + i, duration: 5, outcome: (k === 1 ? 'failure' : 'success') as 'failure' | 'success' })),
    );
    const { trafficFromRows } = await import('./traffic.js');
    const report = await tune(trafficFromRows('sparse', rows), { workers: 1, grid: [{ failureThreshold: 3 }] });
    expect(report.calls).toBe(24);
    expect(report.health.outages).toHaveLength(1);
    expect(report.results[report.recommended]!.metrics.outagesOpened).toBe(1);
  });
});
