import type { CountWindowSpec, FailurePolicy } from './failure-policy.js';
import { RateThresholds } from './rate-thresholds.js';

const FAILED = 1;
const SLOW = 2;

/** Failure (and slow-call) rate over the last `size` calls, in a ring of outcome flags: O(1) per call. */
export class CountWindow implements FailurePolicy {
  readonly needsTime: boolean;
  readonly threshold: number;
  private readonly limits: RateThresholds;
  private readonly ring: Uint8Array;
  private next = 0;
  private calls = 0;
  private failures = 0;
  private slow = 0;

  constructor(spec: CountWindowSpec) {
    this.limits = new RateThresholds(spec);
    this.needsTime = this.limits.tracksSlowCalls;
    this.threshold = Math.max(spec.minimumCalls, 1);
    this.ring = new Uint8Array(spec.size);
  }

  recordSuccess(_now: number, durationMs: number): boolean {
    return this.record(this.limits.isSlow(durationMs) ? SLOW : 0);
  }

  recordFailure(_now: number, durationMs: number): boolean {
    return this.record(FAILED | (this.limits.isSlow(durationMs) ? SLOW : 0));
  }

  private record(flags: number): boolean {
    if (this.calls === this.ring.length) {
      const evicted = this.ring[this.next]!;
      if (evicted & FAILED) this.failures--;
      if (evicted & SLOW) this.slow--;
    } else {
      this.calls++;
    }
    this.ring[this.next] = flags;
    this.next = (this.next + 1) % this.ring.length;
    if (flags & FAILED) this.failures++;
    if (flags & SLOW) this.slow++;
    return this.limits.shouldOpen(this.calls, this.failures, this.slow);
  }

  reset(): void {
    this.ring.fill(0);
    this.next = this.calls = this.failures = this.slow = 0;
  }

  failureCount(): number {
    return this.failures;
  }
}
