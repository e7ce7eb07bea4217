/**
 * Advice judged on held-out traffic: tune on one generated day, replay the recommendation and the
 * guide's defaults on another day of the same kind (another seed), where the truth is known, and hold
 * the recommendation to the bounds the README states.
 */
import { describe, expect, it } from 'vitest';
import { GUIDE_DEFAULTS, type Candidate } from './candidate.js';
import { exactReplayTraffic } from './imputation.js';
import { scoreRun, type ConfigMetrics } from './metrics.js';
import { replay } from './replay.js';
import { scenarios, type Scenario } from './scenarios.js';
import { tune } from './tune.js';

const RATE_HZ = 10;

async function judge(candidate: Candidate, day: Scenario): Promise<ConfigMetrics> {
  const input = exactReplayTraffic(day.traffic);
  return scoreRun(input, await replay(input, candidate), day.truth);
}

async function adviseAndJudge(kind: keyof typeof scenarios) {
  const training = scenarios[kind](11, RATE_HZ);
  const report = await tune(training.traffic, { health: training.truth, workers: 1 });
  const recommended = report.results[report.recommended]!.candidate;
  const heldOut = scenarios[kind](23, RATE_HZ);
  return { recommended, advice: await judge(recommended, heldOut), defaults: await judge(GUIDE_DEFAULTS, heldOut), report };
}

describe('advice on held-out days (10 calls/s, 24 h)', () => {
  it('1 % sporadic errors (some in bursts of 3–8): at most 1 false trip a day, where the guide defaults trip on the bursts', async () => {
    const { advice, defaults, report } = await adviseAndJudge('steady');
    expect(report.health.outages).toHaveLength(0);
    expect(advice.falseTripsPerDay).toBeLessThanOrEqual(1);
    expect(advice.healthyRefused).toBeLessThan(defaults.healthyRefused);
    // Scored beside it, on the same held-out day: the defaults open on every burst of 5 or more.
    expect(defaults.falseTripsPerDay).toBeGreaterThanOrEqual(5);
  });

  it('hard outages: opens on every outage within 10 calls and 2 s, and closes within 20 s of recovery', async () => {
    const { advice, defaults } = await adviseAndJudge('hardOutage');
    expect(advice.outages).toBe(2);
    expect(advice.outagesOpened).toBe(2);
    expect(advice.maxCallsToOpen).toBeLessThanOrEqual(10);
    expect(advice.maxTimeToOpenMs).toBeLessThanOrEqual(2_000);
    expect(advice.maxRecoveryDelayMs).toBeLessThanOrEqual(20_000);
    expect(advice.falseTripsPerDay).toBeLessThanOrEqual(2);
    // The defaults open as fast (5 in a row) but wait up to a minute to close.
    expect(defaults.maxCallsToOpen).toBe(5);
    expect(defaults.maxRecoveryDelayMs).toBeGreaterThan(advice.maxRecoveryDelayMs!);
  });

  it('a flapping dependency (1–3 s outages every 20–40 s): the advice does not flap (at most 0.5 flaps an hour)', async () => {
    const { advice, defaults } = await adviseAndJudge('flapping');
    expect(advice.flapsPerHour).toBeLessThanOrEqual(0.5);
    expect(defaults.flapsPerHour).toBeGreaterThan(10);
    expect(advice.healthyRefused).toBeLessThan(defaults.healthyRefused);
  });
});
