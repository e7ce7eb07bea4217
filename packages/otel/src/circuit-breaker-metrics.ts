import type { BatchObservableCallback, Counter, Histogram, Meter, ObservableCounter, ObservableGauge } from '@opentelemetry/api';
import { CIRCUIT_STATES, type CircuitState } from '@phlow/circuit-breaker';
import type { BreakerSeries } from './breaker-series.js';
import {
  CALL_DURATION_BUCKETS,
  CALL_DURATION_HISTOGRAM,
  CALL_OUTCOMES,
  CALLS_COUNTER,
  FAILURES_COUNTER,
  STATE_GAUGE,
  TRANSITIONS_COUNTER,
  type CallOutcome,
  type InstrumentSpec,
} from './telemetry-names.js';

const FAILURE = CALL_OUTCOMES.indexOf('failure');
const TIMEOUT = CALL_OUTCOMES.indexOf('timeout');
import type { DisposableLike } from '@phlow/circuit-breaker';

function describe(spec: InstrumentSpec): { description: string; unit: string } {
  return { description: spec.description, unit: spec.unit };
}

/**
 * The breaker instruments, built once, with one intent method per thing that happens (STYLE rule 8).
 * State and counts are read from the breakers at collection (observable instruments), so a call pays
 * nothing for them; only the (rare) transitions are recorded here as they happen, and durations too
 * when the SDK-histogram path is chosen.
 */
export class CircuitBreakerMetrics {
  private readonly state: ObservableGauge;
  private readonly failures: ObservableCounter;
  private readonly calls: ObservableCounter;
  private readonly transitions: Counter;
  private readonly duration: Histogram | undefined;

  /**
   * @param withSdkHistogram create the duration histogram as an SDK instrument and record every call
   * into it (`callDurations: 'sdk-histogram'`: ~0.7 µs a call in the SDK). Otherwise durations are
   * aggregated per series by {@link BreakerSeries.durationAggregate} and reach the SDK at collection.
   */
  constructor(private readonly meter: Meter, withSdkHistogram: boolean) {
    this.state = meter.createObservableGauge(STATE_GAUGE.name, describe(STATE_GAUGE));
    this.failures = meter.createObservableCounter(FAILURES_COUNTER.name, describe(FAILURES_COUNTER));
    this.calls = meter.createObservableCounter(CALLS_COUNTER.name, describe(CALLS_COUNTER));
    this.transitions = meter.createCounter(TRANSITIONS_COUNTER.name, describe(TRANSITIONS_COUNTER));
    this.duration = withSdkHistogram
      ? meter.createHistogram(CALL_DURATION_HISTOGRAM.name, {
          ...describe(CALL_DURATION_HISTOGRAM),
          advice: { explicitBucketBoundaries: [...CALL_DURATION_BUCKETS] },
        })
      : undefined;
  }

  /** SDK-histogram path: a call the breaker admitted ended with `outcome` after `durationMs` (NaN when it was not timed). */
  recordDuration(series: BreakerSeries, outcome: Exclude<CallOutcome, 'rejected'>, durationMs: number): void {
    if (durationMs === durationMs) this.duration?.record(durationMs / 1000, series.outcomeAttributes[outcome]);
  }

  recordTransition(series: BreakerSeries, from: CircuitState, to: CircuitState): void {
    this.transitions.add(1, series.transition(from, to));
  }

  /** Reports the state and counts of `source()`'s series at every collection until disposed. */
  observe(source: () => Iterable<BreakerSeries>): DisposableLike {
    const states = new Array<number>(CIRCUIT_STATES.length).fill(0);
    const counts = new Array<number>(CALL_OUTCOMES.length).fill(0);
    const callback: BatchObservableCallback = (result) => {
      for (const series of source()) {
        series.readStates(states);
        for (let i = 0; i < states.length; i++) result.observe(this.state, states[i]!, series.stateAttributes[i]);
        series.readCounts(counts);
        result.observe(this.failures, counts[FAILURE]! + counts[TIMEOUT]!, series.attributes);
        for (let i = 0; i < counts.length; i++) result.observe(this.calls, counts[i]!, series.outcomeAttributes[CALL_OUTCOMES[i]!]);
      }
    };
    const observables = [this.state, this.failures, this.calls];
    this.meter.addBatchObservableCallback(callback, observables);
    return { dispose: () => this.meter.removeBatchObservableCallback(callback, observables) };
  }
}
