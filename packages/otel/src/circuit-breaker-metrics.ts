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
  type InstrumentSpec,
} from './telemetry-names.js';
import type { Disposable } from '@phlow/circuit-breaker';

function describe(spec: InstrumentSpec): { description: string; unit: string } {
  return { description: spec.description, unit: spec.unit };
}

/**
 * The breaker instruments, built once, with one intent method per thing that happens (STYLE rule 8).
 * Counts go into the series' own fields and reach the SDK through observable instruments at
 * collection; only the duration histogram and the (rare) transitions are recorded on the spot.
 */
export class CircuitBreakerMetrics {
  private readonly state: ObservableGauge;
  private readonly failures: ObservableCounter;
  private readonly calls: ObservableCounter;
  private readonly transitions: Counter;
  private readonly duration: Histogram;

  constructor(private readonly meter: Meter) {
    this.state = meter.createObservableGauge(STATE_GAUGE.name, describe(STATE_GAUGE));
    this.failures = meter.createObservableCounter(FAILURES_COUNTER.name, describe(FAILURES_COUNTER));
    this.calls = meter.createObservableCounter(CALLS_COUNTER.name, describe(CALLS_COUNTER));
    this.transitions = meter.createCounter(TRANSITIONS_COUNTER.name, describe(TRANSITIONS_COUNTER));
    this.duration = meter.createHistogram(CALL_DURATION_HISTOGRAM.name, {
      ...describe(CALL_DURATION_HISTOGRAM),
      advice: { explicitBucketBoundaries: [...CALL_DURATION_BUCKETS] },
    });
  }

  recordSuccess(series: BreakerSeries, durationMs: number): void {
    series.successes++;
    if (durationMs === durationMs) this.duration.record(durationMs / 1000, series.outcomeAttributes.success);
  }

  /** A failure: an error, a failing result, or (`timedOut`) a timeout. Timeouts are failures too. */
  recordFailure(series: BreakerSeries, durationMs: number, timedOut: boolean): void {
    if (timedOut) series.timeouts++;
    else series.failures++;
    if (durationMs === durationMs) {
      this.duration.record(durationMs / 1000, timedOut ? series.outcomeAttributes.timeout : series.outcomeAttributes.failure);
    }
  }

  recordIgnored(series: BreakerSeries, durationMs: number): void {
    series.ignored++;
    if (durationMs === durationMs) this.duration.record(durationMs / 1000, series.outcomeAttributes.ignored);
  }

  recordRejection(series: BreakerSeries): void {
    series.rejections++;
  }

  recordTransition(series: BreakerSeries, from: CircuitState, to: CircuitState): void {
    this.transitions.add(1, series.transition(from, to));
  }

  /** Reports the state and counts of `source()`'s series at every collection until disposed. */
  observe(source: () => Iterable<BreakerSeries>): Disposable {
    const states = new Array<number>(CIRCUIT_STATES.length).fill(0);
    const callback: BatchObservableCallback = (result) => {
      for (const series of source()) {
        series.readStates(states);
        for (let i = 0; i < states.length; i++) result.observe(this.state, states[i]!, series.stateAttributes[i]);
        result.observe(this.failures, series.failures + series.timeouts, series.attributes);
        for (const outcome of CALL_OUTCOMES) result.observe(this.calls, series.count(outcome), series.outcomeAttributes[outcome]);
      }
    };
    const observables = [this.state, this.failures, this.calls];
    this.meter.addBatchObservableCallback(callback, observables);
    return { dispose: () => this.meter.removeBatchObservableCallback(callback, observables) };
  }
}
