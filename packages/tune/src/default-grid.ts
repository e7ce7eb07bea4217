import { describeCandidate, GUIDE_DEFAULTS, type Candidate, type CandidateOptions } from './candidate.js';

/**
 * The grid scored when none is given: 50 configurations across the core's failure policies —
 * consecutive thresholds, count and time windows with minimum calls, slow-call rates — recovery
 * timeouts, open backoff and probes to close. The guide's defaults come first.
 */
export function defaultGrid(): Candidate[] {
  const options: CandidateOptions[] = [];
  for (const threshold of [3, 5, 10, 20, 50]) {
    for (const recoveryTimeoutMs of [5_000, 15_000, 60_000]) options.push({ failureThreshold: threshold, recoveryTimeoutMs });
  }
  for (const size of [20, 50, 100]) {
    for (const failureRateThreshold of [0.5, 0.8]) {
      for (const recoveryTimeoutMs of [15_000, 60_000]) {
        options.push({ failurePolicy: { type: 'count-window', size, minimumCalls: Math.round(size / 2), failureRateThreshold }, recoveryTimeoutMs });
      }
    }
  }
  for (const windowMs of [10_000, 30_000, 60_000]) {
    for (const failureRateThreshold of [0.5, 0.8]) {
      for (const recoveryTimeoutMs of [15_000, 60_000]) {
        options.push({ failurePolicy: { type: 'time-window', windowMs, minimumCalls: 20, failureRateThreshold }, recoveryTimeoutMs });
      }
    }
  }
  for (const slowCallDurationMs of [1_000, 2_000]) {
    for (const recoveryTimeoutMs of [15_000, 60_000]) {
      options.push({
        failurePolicy: { type: 'time-window', windowMs: 10_000, minimumCalls: 20, failureRateThreshold: 0.5, slowCallDurationMs, slowCallRateThreshold: 0.5 },
        recoveryTimeoutMs,
      });
    }
  }
  for (const threshold of [5, 10, 20]) {
    options.push({ failureThreshold: threshold, recoveryTimeoutMs: 5_000, openBackoff: { maxMs: 120_000 } });
    options.push({ failureThreshold: threshold, recoveryTimeoutMs: 15_000, successThreshold: 3, halfOpenMaxCalls: 3 });
  }
  options.push({ failurePolicy: { type: 'count-window', size: 100, minimumCalls: 50, failureRateThreshold: 0.5 }, recoveryTimeoutMs: 5_000, openBackoff: { maxMs: 120_000 } });
  const grid = options
    .filter((o) => !(o.failureThreshold === 5 && o.recoveryTimeoutMs === 60_000 && Object.keys(o).length === 2))
    .map((o) => ({ label: describeCandidate(o), options: o }));
  return [GUIDE_DEFAULTS, ...grid];
}
