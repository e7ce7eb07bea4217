import type { CountWindowSpec, TimeWindowSpec } from './failure-policy.js';

/** The trip decision both window policies share, so the two cannot drift apart. */
export class RateThresholds {
  readonly failureRate: number;
  readonly minimumCalls: number;
  /** Infinity when slow calls are not tracked: no duration is ever slow. */
  readonly slowCallDurationMs: number;
  readonly slowCallRate: number;

  constructor(spec: CountWindowSpec | TimeWindowSpec) {
    this.failureRate = spec.failureRateThreshold;
    this.minimumCalls = spec.minimumCalls;
    this.slowCallDurationMs = spec.slowCallRateThreshold === undefined ? Infinity : spec.slowCallDurationMs ?? Infinity;
    this.slowCallRate = spec.slowCallRateThreshold ?? Infinity;
  }

  get tracksSlowCalls(): boolean {
    return this.slowCallDurationMs !== Infinity;
  }

  isSlow(durationMs: number): boolean {
    return durationMs >= this.slowCallDurationMs;
  }

  shouldOpen(calls: number, failures: number, slow: number): boolean {
    if (calls < this.minimumCalls || calls === 0) return false;
    return failures / calls >= this.failureRate || slow / calls >= this.slowCallRate;
  }
}
