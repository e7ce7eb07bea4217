import type { FailurePolicy, TimeWindowSpec } from './failure-policy.js';
import { RateThresholds } from './rate-thresholds.js';

/**
 * Failure (and slow-call) rate over the last `windowMs`, in `buckets` slices. Before every record the
 * slices that aged out are cleared — at most `buckets` of them, so a record stays O(1) after any idle
 * period, and an idle breaker never judges today's calls by yesterday's failures.
 */
export class TimeWindow implements FailurePolicy {
  readonly needsTime = true;
  readonly threshold: number;
  private readonly limits: RateThresholds;
  private readonly bucketMs: number;
  private readonly calls: Float64Array;
  private readonly failures: Float64Array;
  private readonly slow: Float64Array;
  /** Absolute index (now / bucketMs) of the newest bucket; -Infinity before the first record. */
  private head = -Infinity;
  private totalCalls = 0;
  private totalFailures = 0;
  private totalSlow = 0;

  constructor(spec: TimeWindowSpec) {
    const buckets = spec.buckets ?? 10;
    this.limits = new RateThresholds(spec);
    this.threshold = Math.max(spec.minimumCalls, 1);
    this.bucketMs = spec.windowMs / buckets;
    this.calls = new Float64Array(buckets);
    this.failures = new Float64Array(buckets);
    this.slow = new Float64Array(buckets);
  }

  recordSuccess(now: number, durationMs: number): boolean {
    return this.record(now, false, this.limits.isSlow(durationMs));
  }

  recordFailure(now: number, durationMs: number): boolean {
    return this.record(now, true, this.limits.isSlow(durationMs));
  }

  private record(now: number, failed: boolean, slow: boolean): boolean {
    const slot = this.advance(now);
    this.calls[slot]!++;
    this.totalCalls++;
    if (failed) {
      this.failures[slot]!++;
      this.totalFailures++;
    }
    if (slow) {
      this.slow[slot]!++;
      this.totalSlow++;
    }
    return this.limits.shouldOpen(this.totalCalls, this.totalFailures, this.totalSlow);
  }

  /** Moves the head to `now`'s bucket, clearing the buckets it passes; returns that bucket's slot. */
  private advance(now: number): number {
    const size = this.calls.length;
    const index = Math.floor(now / this.bucketMs);
    if (index > this.head) {
      const stale = Math.min(index - this.head, size);
      for (let i = 0; i < stale; i++) this.clearSlot(slotOf(index - i, size));
      this.head = index;
    }
    // A clock that stepped backwards lands in the newest bucket rather than corrupting an old one.
    return slotOf(this.head, size);
  }

  private clearSlot(slot: number): void {
    this.totalCalls -= this.calls[slot]!;
    this.totalFailures -= this.failures[slot]!;
    this.totalSlow -= this.slow[slot]!;
    this.calls[slot] = this.failures[slot] = this.slow[slot] = 0;
  }

  reset(): void {
    this.calls.fill(0);
    this.failures.fill(0);
    this.slow.fill(0);
    this.head = -Infinity;
    this.totalCalls = this.totalFailures = this.totalSlow = 0;
  }

  failureCount(now: number): number {
    this.advance(now);
    return this.totalFailures;
  }
}

/** A modulo that stays in range for negative indexes (a fake clock may start before the epoch). */
function slotOf(index: number, size: number): number {
  return ((index % size) + size) % size;
}
