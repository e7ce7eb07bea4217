import { describe, expect, it } from 'vitest';
import { checkCandidate } from './candidate.js';
import { exactReplayTraffic } from './imputation.js';
import { scoreRun } from './metrics.js';
import { replay } from './replay.js';
import { generateScenario } from './scenarios.js';
import { trafficFromRows } from './traffic.js';

const T0 = 1_000_000;

/** One call every 100 ms from 0 to 20 s; the dependency is down from 5 s to 12.05 s (every call fails, instantly). */
function outageTraffic() {
  const rows = Array.from({ length: 200 }, (_, i) => ({
    start: T0 + i * 100,
    duration: 0,
    outcome: (i >= 50 && i <= 120 ? 'failure' : 'success') as 'failure' | 'success',
  }));
  return { input: exactReplayTraffic(trafficFromRows('m', rows)), health: { kind: 'exact' as const, outages: [{ start: T0 + 5_000, end: T0 + 12_050 }] } };
}

describe('scoreRun', () => {
  it('counts calls and time to open, calls to a dead dependency, healthy refusals and the recovery delay', async () => {
    const { input, health } = outageTraffic();
    const m = scoreRun(input, await replay(input, checkCandidate({ failureThreshold: 3, recoveryTimeoutMs: 2_000 })), health);
    // Opens on the third failure (calls at 5.0, 5.1, 5.2 s).
    expect(m.meanCallsToOpen).toBe(3);
    expect(m.meanTimeToOpenMs).toBe(200);
    // Open 2 s at a time: the probes at 7.2, 9.2 and 11.2 s fail, the probe at 13.2 s succeeds and closes it.
    expect(m.deadCalls).toBe(3 + 3);
    expect(m.maxRecoveryDelayMs).toBe(13_200 - 12_050);
    // Refused while healthy: 12.1 … 13.1 s.
    expect(m.healthyRefused).toBe(11);
    expect(m).toMatchObject({ outages: 1, outagesOpened: 1, trips: 1, falseTrips: 0, flaps: 0, estimated: [] });
  });

  it('a breaker that never opens sends the whole outage to the dead dependency and has nothing to recover from', async () => {
    const { input, health } = outageTraffic();
    const m = scoreRun(input, await replay(input, checkCandidate({ failureThreshold: 1_000 })), health);
    expect(m).toMatchObject({ outagesOpened: 0, meanCallsToOpen: null, deadCalls: 71, healthyRefused: 0, meanRecoveryDelayMs: 0 });
  });

  it('counts false trips and flaps on a flapping dependency', async () => {
    const day = generateScenario({ seed: 2, rateHz: 10, durationMs: 3_600_000, sporadicErrorRate: 0, incidents: [{ type: 'flapping', at: 0, durationMs: 3_600_000 }] });
    const input = exactReplayTraffic(day.traffic);
    const m = scoreRun(input, await replay(input, checkCandidate({ failureThreshold: 3, recoveryTimeoutMs: 5_000 })), day.truth);
    expect(m.falseTrips).toBe(0);
    expect(m.trips).toBe(day.truth.outages.length);
    expect(m.flaps).toBeGreaterThan(day.truth.outages.length / 2);
    expect(m.flapsPerHour).toBeCloseTo(m.flaps, 0);
    const sporadic = generateScenario({ seed: 2, rateHz: 10, durationMs: 3_600_000, sporadicErrorRate: 0.3 });
    const noisy = exactReplayTraffic(sporadic.traffic);
    const n = scoreRun(noisy, await replay(noisy, checkCandidate({ failureThreshold: 3, recoveryTimeoutMs: 5_000 })), sporadic.truth);
    expect(n.falseTrips).toBeGreaterThan(10);
    expect(n.falseTrips).toBe(n.trips);
    expect(n.falseTripsPerDay).toBeCloseTo(n.falseTrips * 24, -1);
  });
});

describe('scoreRun, attacked', () => {
  it('scores 300 000 outages (a week of a dependency flapping every second) without overflowing the stack', async () => {
    const n = 600_000;
    const start = new Float64Array(n);
    const outcome = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      start[i] = T0 + i * 1_000;
      outcome[i] = i % 2; // failure, success, failure, …
    }
    const input = exactReplayTraffic({ name: 'flappy', start, duration: new Float32Array(n), outcome });
    const outages = Array.from({ length: n / 2 }, (_, k) => ({ start: T0 + (2 * k + 1) * 1_000, end: T0 + (2 * k + 2) * 1_000 }));
    const m = scoreRun(input, await replay(input, checkCandidate({ failureThreshold: 1, recoveryTimeoutMs: 1_000 })), { kind: 'exact', outages });
    expect(m.outages).toBe(n / 2);
    expect(m.outagesOpened).toBe(n / 2);
    expect(m.maxTimeToOpenMs).toBe(0);
    expect(m.maxRecoveryDelayMs).toBeGreaterThanOrEqual(0);
  });
});
