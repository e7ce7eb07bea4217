import type { Attributes } from '@opentelemetry/api';
import { CALL_DURATION_BUCKETS } from './telemetry-names.js';

/**
 * One series of the `phlow.circuit_breaker.call.duration` histogram as it stands: cumulative since
 * `startTimeMs`, in seconds, with the same explicit buckets the SDK histogram uses
 * ({@link CALL_DURATION_BUCKETS}: each boundary is an inclusive upper bound, plus one bucket above the last).
 */
export interface CallDurationPoint {
  /** `{ name, outcome }`, the same frozen object on every read. */
  readonly attributes: Attributes;
  /** Epoch milliseconds when this series began counting. */
  readonly startTimeMs: number;
  readonly boundaries: readonly number[];
  /** `boundaries.length + 1` counts, a copy. */
  readonly counts: number[];
  readonly count: number;
  /** Seconds. */
  readonly sum: number;
  readonly min: number;
  readonly max: number;
}


/**
 * Durations of one `(name, outcome)` series, aggregated on the call path. The OTel SDK's histogram
 * spends ~0.7 µs a recording hashing the attribute set into a map key; here the series is chosen once,
 * when a breaker is attached, so a recording is a bucket scan and five field writes, no allocation.
 * The SDK gets the totals only at collection, through `CircuitBreakerMetricProducer` (`@phlow/otel/sdk`).
 */
export class CallDurationAggregate {
  private readonly counts: Float64Array;
  private readonly last: number;
  private count = 0;
  private sum = 0;
  private min = Infinity;
  private max = -Infinity;

  /** @param boundaries explicit bucket boundaries in seconds, ascending (the duration histogram's by default). */
  constructor(
    readonly attributes: Attributes,
    readonly startTimeMs: number,
    private readonly boundaries: readonly number[] = CALL_DURATION_BUCKETS,
  ) {
    this.last = boundaries.length;
    this.counts = new Float64Array(this.last + 1);
  }

  /**
   * Records one call of `durationMs` milliseconds, standing for `weight` calls (a sampled call stands
   * for itself and the calls skipped before it). NaN (an untimed call) and negative values are dropped,
   * as the SDK drops them.
   */
  recordMs(durationMs: number, weight = 1): void {
    if (!(durationMs >= 0)) return;
    const seconds = durationMs / 1000;
    // Linear from the bottom: most calls land in the first buckets, so this beats a binary search on 14.
    const boundaries = this.boundaries;
    const last = this.last;
    let bucket = 0;
    while (bucket < last && seconds > boundaries[bucket]!) bucket++;
    this.counts[bucket]! += weight;
    this.count += weight;
    this.sum += seconds * weight;
    if (seconds < this.min) this.min = seconds;
    if (seconds > this.max) this.max = seconds;
  }

  /** Calls recorded so far. */
  get recorded(): number {
    return this.count;
  }

  /** The series now (a copy; recording goes on). */
  read(): CallDurationPoint {
    return {
      attributes: this.attributes,
      startTimeMs: this.startTimeMs,
      boundaries: this.boundaries,
      counts: Array.from(this.counts),
      count: this.count,
      sum: this.sum,
      min: this.min,
      max: this.max,
    };
  }
}
