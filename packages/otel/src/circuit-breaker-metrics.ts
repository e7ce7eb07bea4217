import type { BatchObservableCallback, Counter, Histogram, Meter, ObservableCounter, ObservableGauge } from '@opentelemetry/api';
import { CIRCUIT_STATES, type CircuitBreaker, type CircuitState, type DisposableLike } from '@phlow/circuit-breaker';
import type { BreakerSeries } from './breaker-series.js';
import {
  CALL_DURATION_BUCKETS,
  CALL_DURATION_HISTOGRAM,
  CALL_OUTCOMES,
  CALLS_COUNTER,
  FAILURES_COUNTER,
  RECOVERY_BUCKETS,
  RECOVERY_HISTOGRAM,
  STATE_GAUGE,
  STATE_TIME_COUNTER,
  TRANSITIONS_COUNTER,
  type CallOutcome,
  type InstrumentSpec,
} from './telemetry-names.js';

const FAILURE = CALL_OUTCOMES.indexOf('failure');
const TIMEOUT = CALL_OUTCOMES.indexOf('timeout');

function describe(spec: InstrumentSpec): { description: string; unit: string } {
  return { description: spec.description, unit: spec.unit };
}

/**
 * The breaker instruments, built once, with one intent method per thing that happens (STYLE rule 8).
 * State, counts and time per state are read from the breakers at collection (observable instruments),
 * so a call pays nothing for them; only the (rare) transitions and recoveries are recorded here as
 * they happen, and durations too when the SDK-histogram path is chosen.
 */
export class CircuitBreakerMetrics {
  private readonly state: ObservableGauge | undefined;
  private readonly failures: ObservableCounter | undefined;
  private readonly calls: ObservableCounter | undefined;
  private readonly transitions: Counter | undefined;
  private readonly stateTime: ObservableCounter | undefined;
  private readonly recovery: Histogram | undefined;
  private readonly duration: Histogram | undefined;

  /**
   * @param withSdkHistogram create the duration histogram as an SDK instrument and record every call
   * into it (`callDurations: 'sdk-histogram'`: ~0.7 µs a call in the SDK). Otherwise durations are
   * aggregated per series by {@link BreakerSeries.durationAggregate} and reach the SDK at collection.
   * @param withSdkSeries report state, counts, transitions, time per state and recoveries through SDK
   * instruments. Otherwise a producer reports them from the series (`seriesMetricData`), and only the
   * series alive at a collection appear in it.
   */
  constructor(private readonly meter: Meter, withSdkHistogram: boolean, withSdkSeries: boolean) {
    if (withSdkSeries) {
      this.state = meter.createObservableGauge(STATE_GAUGE.name, describe(STATE_GAUGE));
      this.failures = meter.createObservableCounter(FAILURES_COUNTER.name, describe(FAILURES_COUNTER));
      this.calls = meter.createObservableCounter(CALLS_COUNTER.name, describe(CALLS_COUNTER));
      this.transitions = meter.createCounter(TRANSITIONS_COUNTER.name, describe(TRANSITIONS_COUNTER));
      this.stateTime = meter.createObservableCounter(STATE_TIME_COUNTER.name, describe(STATE_TIME_COUNTER));
      this.recovery = meter.createHistogram(RECOVERY_HISTOGRAM.name, {
        ...describe(RECOVERY_HISTOGRAM),
        advice: { explicitBucketBoundaries: [...RECOVERY_BUCKETS] },
      });
    }
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

  /** `breaker` went from `from` to `to` at `at` (its clock's ms): counted, and timed when it ends an open episode. */
  recordTransition(series: BreakerSeries, breaker: CircuitBreaker, from: CircuitState, to: CircuitState, at: number): void {
    const attributes = series.transition(from, to);
    const recoverySeconds = series.changedState(breaker, to, at);
    if (this.transitions === undefined) {
      series.countTransition(attributes);
      if (recoverySeconds === recoverySeconds) series.recoveries.recordMs(recoverySeconds * 1000);
      return;
    }
    this.transitions.add(1, attributes);
    if (recoverySeconds === recoverySeconds) this.recovery!.record(recoverySeconds, series.attributes);
  }

  /** Reports the state and counts of `source()`'s series at every collection until disposed. */
  observe(source: () => Iterable<BreakerSeries>): DisposableLike {
    const [state, failures, calls, stateTime] = [this.state, this.failures, this.calls, this.stateTime];
    if (state === undefined || failures === undefined || calls === undefined || stateTime === undefined) return { dispose() {} };
    const states = new Array<number>(CIRCUIT_STATES.length).fill(0);
    const counts = new Array<number>(CALL_OUTCOMES.length).fill(0);
    const seconds = new Array<number>(CIRCUIT_STATES.length).fill(0);
    const callback: BatchObservableCallback = (result) => {
      for (const series of source()) {
        series.readStates(states);
        for (let i = 0; i < states.length; i++) result.observe(state, states[i]!, series.stateAttributes[i]);
        series.readCounts(counts);
        result.observe(failures, counts[FAILURE]! + counts[TIMEOUT]!, series.attributes);
        for (let i = 0; i < counts.length; i++) result.observe(calls, counts[i]!, series.outcomeAttributes[CALL_OUTCOMES[i]!]);
        series.readStateSeconds(seconds);
        for (let i = 0; i < seconds.length; i++) result.observe(stateTime, seconds[i]!, series.stateAttributes[i]);
      }
    };
    const observables = [state, failures, calls, stateTime];
    this.meter.addBatchObservableCallback(callback, observables);
    return { dispose: () => this.meter.removeBatchObservableCallback(callback, observables) };
  }
}
