/**
 * A failure policy only counts outcomes and answers "should the breaker open?". It holds no timers,
 * emits nothing and never changes state: the breaker owns transitions. A policy sees the outcomes of
 * CLOSED calls only; the breaker resets it when it closes.
 */
export interface FailurePolicy {
  /** The policy needs `now` (time windows) or call durations (slow-call rate) on every record. */
  readonly needsTime: boolean;
  /** Records a success; true when the breaker should open (a slow-call rate can trip on successes). */
  recordSuccess(now: number, durationMs: number): boolean;
  /** Records a failure; true when the breaker should open. Must be O(1). */
  recordFailure(now: number, durationMs: number): boolean;
  /** Forgets every outcome. */
  reset(): void;
  /** Failures currently counted toward opening (the guide's `failure_count`). */
  failureCount(now: number): number;
  /** The number `failure_count` is compared with in stats and logs (the guide's `failure_threshold`). */
  readonly threshold: number;
}

/** The guide's policy: open after `threshold` failures in a row. */
export interface ConsecutiveFailuresSpec {
  readonly type: 'consecutive';
  readonly threshold: number;
}

/** Shared by the window policies: rates are fractions in (0, 1]. */
interface RateSpec {
  /** Open when failures / calls reaches this fraction (and at least `minimumCalls` were seen). */
  readonly failureRateThreshold: number;
  /** No decision before this many calls are in the window. */
  readonly minimumCalls: number;
  /** A call slower than this (ms) is slow; with `slowCallRateThreshold`, too many slow calls open the breaker. */
  readonly slowCallDurationMs?: number;
  /** Open when slow calls / calls reaches this fraction. Requires `slowCallDurationMs`. */
  readonly slowCallRateThreshold?: number;
}

/** Failure rate over the last `size` calls (resilience4j's COUNT_BASED window). */
export interface CountWindowSpec extends RateSpec {
  readonly type: 'count-window';
  readonly size: number;
}

/**
 * Failure rate over the last `windowMs`, kept in `buckets` slices (resilience4j's TIME_BASED window).
 * Buckets that aged out while the breaker was idle are cleared before counting, so an old burst never
 * trips a breaker after a quiet hour.
 */
export interface TimeWindowSpec extends RateSpec {
  readonly type: 'time-window';
  readonly windowMs: number;
  /** Slices of the window (default 10); more is finer and costs memory, never time per call. */
  readonly buckets?: number;
}

/** Data, not objects: specs compare by value (the registry's config check) and serialise. */
export type FailurePolicySpec = ConsecutiveFailuresSpec | CountWindowSpec | TimeWindowSpec;
