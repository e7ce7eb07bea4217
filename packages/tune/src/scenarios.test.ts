import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateScenario, scenarios } from './scenarios.js';
import { OUTCOME_CODE } from './traffic.js';

const HOUR = 3_600_000;

describe('generateScenario', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const a = scenarios.steady(1, 5, HOUR);
    const b = scenarios.steady(1, 5, HOUR);
    const c = scenarios.steady(2, 5, HOUR);
    expect(Array.from(a.traffic.start)).toEqual(Array.from(b.traffic.start));
    expect(Array.from(a.traffic.start.slice(0, 10))).not.toEqual(Array.from(c.traffic.start.slice(0, 10)));
  });

  it('keeps calls sorted, inside the span, at about the asked rate, with the asked sporadic error rate', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e6 }), fc.double({ min: 1, max: 20, noNaN: true }), fc.double({ min: 0, max: 0.2, noNaN: true }), (seed, rateHz, errors) => {
        const { traffic, truth } = generateScenario({ seed, rateHz, durationMs: HOUR, sporadicErrorRate: errors });
        const n = traffic.start.length;
        const expected = rateHz * 3_600;
        expect(Math.abs(n - expected)).toBeLessThan(6 * Math.sqrt(expected) + 1);
        for (let i = 1; i < n; i++) expect(traffic.start[i]).toBeGreaterThanOrEqual(traffic.start[i - 1]!);
        expect(traffic.start[n - 1]! - traffic.start[0]!).toBeLessThanOrEqual(HOUR);
        const failures = traffic.outcome.filter((o) => o === OUTCOME_CODE.failure).length;
        expect(Math.abs(failures / n - errors)).toBeLessThan(6 * Math.sqrt((errors * (1 - errors)) / n) + 1e-9);
        expect(truth).toEqual({ kind: 'exact', outages: [] });
      }),
      { numRuns: 15 },
    );
  });

  it('fails every call of a hard outage, fast or hanging, and knows when it was', () => {
    const start = Date.UTC(2026, 0, 1);
    for (const mode of ['refused', 'hang'] as const) {
      const { traffic, truth } = generateScenario({ seed: 4, rateHz: 20, durationMs: HOUR, sporadicErrorRate: 0, incidents: [{ type: 'outage', at: 600_000, durationMs: 300_000, mode, hangMs: 10_000 }] });
      expect(truth.outages).toEqual([{ start: start + 600_000, end: start + 900_000 }]);
      for (let i = 0; i < traffic.start.length; i++) {
        const inside = traffic.start[i]! >= start + 600_000 && traffic.start[i]! < start + 900_000;
        expect(traffic.outcome[i]).toBe(inside ? OUTCOME_CODE.failure : OUTCOME_CODE.success);
        if (inside) expect(traffic.duration[i]).toBe(mode === 'hang' ? 10_000 : 2);
      }
    }
  });

  it('brownout: latency rises until calls time out; the outage (median latency over the SLO) holds nearly all timeouts', () => {
    const { traffic, truth } = scenarios.brownout(9, 20, 2 * HOUR);
    const [outage] = truth.outages;
    let inside = 0;
    let outside = 0;
    traffic.outcome.forEach((o, i) => {
      if (o !== OUTCOME_CODE.timeout) return;
      if (traffic.start[i]! >= outage!.start && traffic.start[i]! < outage!.end) inside++;
      else outside++;
      expect(traffic.duration[i]).toBe(2_000);
    });
    expect(inside).toBeGreaterThan(10_000);
    expect(outside).toBeLessThan(inside / 20); // the slowest calls time out a little before the median passes the SLO
    expect(outage!.end - outage!.start).toBeGreaterThan(600_000);
  });

  it('flapping: many short outages, each 1–3 s, 20–40 s apart', () => {
    const { truth } = scenarios.flapping(3, 10, HOUR);
    expect(truth.outages.length).toBeGreaterThan(80);
    for (const [i, o] of truth.outages.entries()) {
      expect(o.end - o.start).toBeGreaterThanOrEqual(1_000);
      expect(o.end - o.start).toBeLessThanOrEqual(3_000);
      if (i > 0) expect(o.start - truth.outages[i - 1]!.end).toBeGreaterThanOrEqual(20_000);
    }
  });

  it('thundering herd: traffic surges after the outage while the dependency fails some calls', () => {
    const { traffic, truth } = scenarios.herd(5, 10, 2 * HOUR);
    const end = truth.outages[0]!.end;
    const count = (from: number, to: number) => traffic.start.filter((t) => t >= from && t < to).length;
    expect(count(end, end + 10_000)).toBeGreaterThan(3 * count(end - 600_000, end - 590_000 + 0) || 200);
    expect(count(end, end + 10_000)).toBeGreaterThan(300);
  });

  it('refuses invalid specs, naming the field', () => {
    expect(() => generateScenario({ seed: 1, rateHz: 0, durationMs: HOUR })).toThrow(/scenario.rateHz must be a number >= 0.001/);
    expect(() => generateScenario({ seed: -1, rateHz: 1, durationMs: HOUR })).toThrow(/scenario.seed/);
    expect(() => generateScenario({ seed: 1, rateHz: 1, durationMs: NaN })).toThrow(/scenario.durationMs/);
    expect(() => generateScenario({ seed: 1, rateHz: 1, durationMs: HOUR, sporadicErrorRate: 2 })).toThrow(/sporadicErrorRate/);
    expect(() => generateScenario({ seed: 1, rateHz: 1, durationMs: HOUR, extra: 1 } as never)).toThrow(/unknown option "extra"/);
  });
});
