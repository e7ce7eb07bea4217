import type { MeterProvider } from '@opentelemetry/api';
import type { MetricData } from '@opentelemetry/sdk-metrics';
import type { Disposable } from '@phlow/circuit-breaker';
import { toDisposable } from '@phlow/circuit-breaker/internal';
import type { CallDurationPoint } from './call-duration-aggregate.js';

/**
 * Where instrumentations that aggregate call durations themselves meet the `CircuitBreakerMetricProducer`s
 * that hand those durations to an SDK reader. It lives in the API-only entry (no SDK types) so that
 * `instrumentCircuitBreakers` can ask, when it starts, whether its meter provider has a producer at all,
 * and fall back to the SDK histogram when not: no set-up silently loses the histogram.
 *
 * Module state, not a `Symbol.for` global: with two copies of this package, a producer of one does not
 * see the other's instrumentations, which then find no producer and fall back (slower, not lossy).
 * @internal
 */

/** What an instrumentation hands a producer. */
export interface CallDurationSource {
  readonly meterProvider: MeterProvider;
  /** What is instrumented (a registry or a breaker): one instrumented twice on one provider is reported once. */
  readonly origin?: object;
  readCallDurations(): CallDurationPoint[];
  /**
   * Every other breaker metric of the instrumentation (state, counts, transitions, time per state,
   * recoveries) as SDK metric data, when it reports through producers (see {@link CallDurationProducerScope.readsSeries}).
   */
  readSeriesMetrics?(endTimeMs: number): MetricData[];
}

/** A live producer: reports the sources of `scope`, or every source when `scope` is undefined. */
export interface CallDurationProducerScope {
  scope: MeterProvider | undefined;
  /**
   * The producer also reports {@link CallDurationSource.readSeriesMetrics} (through {@link seriesMetricsOf}).
   * Instrumentations whose every producer does so report their series only there, so that a retired
   * series disappears from the next collection; otherwise they use SDK instruments, which keep it.
   */
  readsSeries?: boolean;
  /**
   * The object a reader holds in its `metricProducers`, so that the readers carrying a producer can be told
   * from those that do not (see `reader-coverage.ts`).
   */
  instance?: object;
}

const sources = new Set<CallDurationSource>();
const producers = new Set<CallDurationProducerScope>();

/** @internal A producer starts (or stops, disposing the result) reporting. */
export function registerCallDurationProducer(producer: CallDurationProducerScope): Disposable {
  producers.add(producer);
  return toDisposable(() => void producers.delete(producer));
}

/** @internal True when some live producer reports instrumentations of `meterProvider`. */
export function hasCallDurationProducerFor(meterProvider: MeterProvider): boolean {
  for (const producer of producers) if (covers(producer, meterProvider)) return true;
  return false;
}

/**
 * @internal True when `candidate` (an entry of a reader's `metricProducers`) is a live producer that reports
 * instrumentations of `meterProvider`.
 */
export function isProducerFor(candidate: unknown, meterProvider: MeterProvider): boolean {
  for (const producer of producers) {
    if (producer.instance === candidate && covers(producer, meterProvider)) return true;
  }
  return false;
}

/** @internal `producer` reports the instrumentations of `meterProvider`. */
export function covers(producer: CallDurationProducerScope, meterProvider: MeterProvider): boolean {
  return producer.scope === undefined || producer.scope === meterProvider;
}

/** @internal An instrumentation's durations become visible to producers until disposed. */
export function registerCallDurationSource(source: CallDurationSource): Disposable {
  sources.add(source);
  return toDisposable(() => void sources.delete(source));
}

/**
 * @internal True when `meterProvider` has a live producer and each of its producers reports series
 * metrics (an instrumentation then leaves them out of the SDK's instruments).
 */
export function hasSeriesProducerFor(meterProvider: MeterProvider): boolean {
  let any = false;
  for (const producer of producers) {
    if (!covers(producer, meterProvider)) continue;
    if (producer.readsSeries !== true) return false;
    any = true;
  }
  return any;
}

/**
 * @internal What `producer` adds to a collection besides call durations: the series metrics of its
 * sources, one list per source (the producer merges them).
 */
export function seriesMetricsOf(producer: CallDurationProducerScope, endTimeMs: number): MetricData[][] {
  const lists: MetricData[][] = [];
  for (const source of callDurationSourcesOf(producer)) {
    const metrics = source.readSeriesMetrics?.(endTimeMs);
    if (metrics !== undefined && metrics.length > 0) lists.push(metrics);
  }
  return lists;
}

/**
 * @internal The sources `producer` reports: one per instrumented registry or breaker (one instrumented
 * twice on one provider would count everything twice).
 */
export function callDurationSourcesOf(producer: CallDurationProducerScope): CallDurationSource[] {
  const scope = producer.scope;
  const origins = new Set<object>();
  return [...sources].filter((source) => {
    if (scope !== undefined && source.meterProvider !== scope) return false;
    if (source.origin === undefined) return true;
    if (origins.has(source.origin)) return false;
    origins.add(source.origin);
    return true;
  });
}
