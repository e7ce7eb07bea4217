import { describe, expect, it } from 'vitest';
import { checkCandidate } from './candidate.js';
import { inferOutages } from './health.js';
import { exactReplayTraffic, imputeRefusedCalls } from './imputation.js';
import { scoreRun } from './metrics.js';
import { replay } from './replay.js';
import { OUTCOME_CODE, trafficFromRows, type CallOutcome } from './traffic.js';

const rows = (spec: [number, CallOutcome, number?][]) => spec.map(([start, outcome, duration = 10]) => ({ start, outcome, duration }));
const { success: S, failure: F, rejected: R } = OUTCOME_CODE;

describe('imputeRefusedCalls', () => {
  it('gives a refused call the outcome and duration of the nearest call that reached the dependency', () => {
    const traffic = trafficFromRows('x', rows([[0, 'failure', 3], [10, 'rejected'], [20, 'rejected'], [90, 'rejected'], [100, 'success', 40], [110, 'timeout', 500], [120, 'rejected']]));
    const input = imputeRefusedCalls(traffic);
    expect(Array.from(input.outcome)).toEqual([F, F, F, S, S, F, F]);
    expect(Array.from(input.duration)).toEqual([3, 3, 3, 40, 40, 500, 500]);
    expect(Array.from(input.imputed)).toEqual([0, 1, 1, 1, 0, 0, 1]);
    expect(input.imputedCount).toBe(4);
    expect(traffic.outcome[1]).toBe(R); // the recording itself is untouched
  });

  it('calls a recording of refusals only healthy, flagged as imputed', () => {
    const input = imputeRefusedCalls(trafficFromRows('x', rows([[0, 'rejected'], [5, 'rejected']])));
    expect(Array.from(input.outcome)).toEqual([S, S]);
    expect(input.imputedCount).toBe(2);
  });

  it('refuses refused calls where the truth must be exact', () => {
    expect(() => exactReplayTraffic(trafficFromRows('x', rows([[0, 'rejected']])))).toThrow(/refused calls/);
  });

  it('labels as estimates every figure of a configuration that let imputed calls through, and only outage figures otherwise', async () => {
    // Recorded behind a breaker that opened at 50 and refused until a successful probe at 3 050.
    const spec: [number, CallOutcome][] = [];
    for (let t = 0; t < 50; t += 10) spec.push([t, 'success']);
    for (let t = 50; t < 100; t += 10) spec.push([t, 'failure']);
    for (let t = 100; t < 3_050; t += 10) spec.push([t, 'rejected']);
    for (let t = 3_050; t < 4_000; t += 10) spec.push([t, 'success']);
    const input = imputeRefusedCalls(trafficFromRows('x', rows(spec)));
    const health = inferOutages(input);
    expect(health.kind).toBe('inferred');
    expect(health.outages).toHaveLength(1);
    const eager = scoreRun(input, await replay(input, checkCandidate({ failureThreshold: 3, recoveryTimeoutMs: 500 })), health);
    expect(eager.imputedCallsAdmitted).toBeGreaterThan(0);
    expect(eager.estimated).toEqual(expect.arrayContaining(['flapsPerHour', 'deadCalls', 'meanTimeToOpenMs']));
    const closedForever = scoreRun(input, await replay(input, checkCandidate({ failureThreshold: 100_000 })), health);
    // It admits every call, imputed ones included.
    expect(closedForever.imputedCallsAdmitted).toBe(295);
    const never = scoreRun(exactReplayTraffic(trafficFromRows('y', rows(spec.filter(([, o]) => o !== 'rejected')))), await replay(exactReplayTraffic(trafficFromRows('y', rows(spec.filter(([, o]) => o !== 'rejected')))), checkCandidate({ failureThreshold: 3 })), health);
    expect(never.estimated).not.toContain('flapsPerHour');
    expect(never.estimated).toContain('deadCalls');
  });
});
