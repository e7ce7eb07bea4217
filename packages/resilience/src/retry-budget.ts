import type { Clock } from '@phlow/circuit-breaker';
import { checkDurationMs, checkNumber } from '@phlow/circuit-breaker/internal';
import { checkOptionsObject, monotonic, resolveClock } from './policy-options.js';

/** Options of {@link retryBudget}. */
export interface RetryBudgetOptions {
  /** Retries allowed per first attempt over the window (0.1: at most one retry per ten calls). Default 0.1. */
  readonly ratio?: number | undefined;
  /** Retries allowed per second of the window whatever the traffic, so a quiet caller can still retry. Default 10. */
  readonly minRetriesPerSecond?: number | undefined;
  /** The sliding window, ms. Default 10 000. */
  readonly windowMs?: number | undefined;
  /** Default: the system clock. */
  readonly clock?: Clock | undefined;
}

const BUCKETS = 10;
/** First attempts counted between two clock reads (see {@link RetryBudget.recordRequest}). */
const READ_EVERY = 16;

/**
 * How many retries one dependency may get, shared by every `retry` policy in front of it: over a
 * sliding window, retries ≤ `ratio` × first attempts + `minRetriesPerSecond` × window seconds — the
 * retry throttling of Finagle's `RetryBudget` and gRPC's `retryThrottling`. When a dependency fails,
 * the load it sees stays within (1 + ratio) × the callers' own calls plus the floor, however many
 * callers retry; without a budget, every caller multiplies it by `maxAttempts`.
 *
 * The window is kept in ten buckets. A first attempt costs an addition; the clock is read once per
 * 16 of them and on every retry asked for. First attempts counted between two reads are put in the
 * bucket of the earlier read, so they leave the window early, never late: the budget can only be
 * stricter than the bound above, never looser.
 */
export class RetryBudget {
  readonly ratio: number;
  readonly minRetriesPerSecond: number;
  readonly windowMs: number;
  private readonly bucketMs: number;
  private readonly now: () => number;
  private readonly requests = new Float64Array(BUCKETS);
  private readonly retries = new Float64Array(BUCKETS);
  private totalRequests = 0;
  private totalRetries = 0;
  /** The bucket number (time / bucketMs) the newest bucket stands for. */
  private head: number;
  /** First attempts not yet put in a bucket. */
  private pending = 0;
  private readonly floor: number;

  constructor(options?: RetryBudgetOptions) {
    const o = checkOptionsObject<RetryBudgetOptions>('retryBudget', options, ['ratio', 'minRetriesPerSecond', 'windowMs', 'clock'], false);
    this.ratio = o.ratio === undefined ? 0.1 : checkNumber('retryBudget: ratio', o.ratio, 0, 1000);
    this.minRetriesPerSecond =
      o.minRetriesPerSecond === undefined ? 10 : checkNumber('retryBudget: minRetriesPerSecond', o.minRetriesPerSecond, 0, 1_000_000);
    this.windowMs = o.windowMs === undefined ? 10_000 : checkDurationMs('retryBudget: windowMs', o.windowMs, BUCKETS);
    this.bucketMs = this.windowMs / BUCKETS;
    this.now = monotonic(resolveClock('retryBudget', o.clock));
    this.floor = (this.minRetriesPerSecond * this.windowMs) / 1000;
    this.head = Math.floor(this.now() / this.bucketMs);
  }

  /** Counts a first attempt (a call, not a retry): each one deposits `ratio` of a retry. */
  recordRequest(): void {
    if (++this.pending >= READ_EVERY) this.advance();
  }

  /** Takes one retry from the budget; false (and nothing taken) when none is left. */
  tryAcquire(): boolean {
    const index = this.advance();
    if (this.totalRetries + 1 > this.ratio * this.totalRequests + this.floor) return false;
    this.retries[index]!++;
    this.totalRetries++;
    return true;
  }

  /** Retries left in the window now. */
  get available(): number {
    this.advance();
    return Math.max(0, Math.floor(this.ratio * this.totalRequests + this.floor - this.totalRetries));
  }

  /** First attempts and retries counted in the window now. */
  stats(): { readonly requests: number; readonly retries: number; readonly available: number } {
    const available = this.available;
    return { requests: this.totalRequests, retries: this.totalRetries, available };
  }

  /** Puts the pending first attempts in the bucket of the last read, drops buckets that left the window; returns the current bucket's slot. */
  private advance(): number {
    if (this.pending > 0) {
      this.requests[slotOf(this.head)]! += this.pending;
      this.totalRequests += this.pending;
      this.pending = 0;
    }
    const bucket = Math.floor(this.now() / this.bucketMs);
    // A clock that steps back (a wall clock without monotonicNow) keeps counting in the newest bucket:
    // forgetting the window there would hand out a fresh budget on every NTP step (and a NaN on every call).
    if (!(bucket > this.head)) return slotOf(this.head);
    const stale = bucket - this.head;
    // A whole window passed: nothing left to keep.
    if (stale >= BUCKETS) this.clear();
    else {
      for (let i = 1; i <= stale; i++) {
        const slot = slotOf(this.head + i);
        this.totalRequests -= this.requests[slot]!;
        this.totalRetries -= this.retries[slot]!;
        this.requests[slot] = 0;
        this.retries[slot] = 0;
      }
    }
    this.head = bucket;
    return slotOf(bucket);
  }

  private clear(): void {
    this.requests.fill(0);
    this.retries.fill(0);
    this.totalRequests = 0;
    this.totalRetries = 0;
  }
}

function slotOf(bucket: number): number {
  return ((bucket % BUCKETS) + BUCKETS) % BUCKETS;
}

/** A {@link RetryBudget} to pass to every `retry` policy of one dependency. */
export function retryBudget(options?: RetryBudgetOptions): RetryBudget {
  return new RetryBudget(options);
}
