import type { Attributes, MeterProvider } from '@opentelemetry/api';
import { hrTime, hrTimeToMilliseconds } from '@opentelemetry/core';
import { emptyResource } from '@opentelemetry/resources';
import { DataPointType, type CollectionResult, type DataPoint, type Histogram, type MetricData, type MetricProducer } from '@opentelemetry/sdk-metrics';
import type { Disposable } from '@phlow/circuit-breaker';
import {
  callDurationSourcesOf,
  registerCallDurationProducer,
  seriesMetricsOf,
  type CallDurationProducerScope,
} from '../call-duration-hub.js';
import type { CallDurationPoint } from '../call-duration-aggregate.js';
import { noteProducerCollection } from '../reader-coverage.js';
import { histogramDataPoint, histogramMetricData } from '../breaker-series.js';
import { CALL_DURATION_BUCKETS, CALL_DURATION_HISTOGRAM, INSTRUMENTATION_SCOPE } from '../telemetry-names.js';
import { VERSION } from '../version.js';
import { describeValue } from '../describe-value.js';

/**
 * Hands the call-duration histograms that `instrumentCircuitBreakers` aggregates itself to an SDK
 * metric reader at collection: `phlow.circuit_breaker.call.duration` as a cumulative HISTOGRAM with the
 * same scope, description, unit and buckets as the SDK instrument it replaces, so Prometheus still
 * serves `phlow_circuit_breaker_call_duration_bucket/_sum/_count`.
 *
 * `startTelemetry` wires one into its readers. With your own SDK set-up, add it to each reader
 * (`PrometheusExporter`, `PeriodicExportingMetricReader` and any `MetricReader` take `metricProducers`)
 * before calling `instrumentCircuitBreakers`, which checks for a live producer when it starts and
 * falls back to an SDK histogram when there is none. Give it to every reader of the meter provider: when
 * some reader lacks one, the instrumentation sends the breaker metrics through SDK instruments instead
 * (so that reader still gets them) and says so on `diag`; a reader it could not see when instrumenting
 * is warned about when it collects.
 *
 * Being outside the SDK's pipeline, the histogram is always cumulative (a reader's temporality
 * preference does not apply) and views (renames, other buckets, drops) do not apply to it.
 *
 * @example
 * const reader = new PrometheusExporter({ metricProducers: [new CircuitBreakerMetricProducer()] });
 */
export class CircuitBreakerMetricProducer implements MetricProducer, Disposable {
  // readsSeries: instrumentations report their state, counts, transitions, time per state and recoveries
  // here too, so that a retired family member's series leaves the next collection (an SDK instrument
  // would keep exporting it).
  private readonly scope: CallDurationProducerScope = { scope: undefined, readsSeries: true, instance: this };
  private readonly registration: Disposable;

  /** Reports every instrumentation in the process that aggregates durations, until {@link dispose}d. */
  constructor() {
    this.registration = registerCallDurationProducer(this.scope);
  }

  /**
   * Reports only instrumentations whose meter provider is `meterProvider` (for an app with more than
   * one). Call it once the provider exists, before instrumenting. Returns this producer.
   */
  scopeTo(meterProvider: MeterProvider): this {
    if (typeof meterProvider?.getMeter !== 'function') {
      throw new TypeError(`scopeTo needs an OpenTelemetry MeterProvider (with getMeter); got ${describeValue(meterProvider)}`);
    }
    this.scope.scope = meterProvider;
    return this;
  }

  /** Stops reporting; instrumentations started afterwards no longer count on this producer. */
  dispose(): void {
    this.registration.dispose();
  }

  /** The same as {@link dispose}, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  async collect(): Promise<CollectionResult> {
    // Before any await: the reader that calls us is still in the synchronous stretch its collection began in.
    noteProducerCollection(this.scope);
    const endTime = hrTime();
    // Every series has the same boundaries: one array per collection, as the SDK shares its aggregator's.
    const boundaries = [...CALL_DURATION_BUCKETS];
    const sources = callDurationSourcesOf(this.scope);
    const points = sources.flatMap((source) => source.readCallDurations());
    // One instrumentation's series are distinct by construction; only several can overlap.
    const dataPoints = (sources.length > 1 ? mergeSeries(points) : points).map((point) => histogramDataPoint(point, endTime, boundaries));
    const metrics: MetricData[] = mergeSeriesMetrics(seriesMetricsOf(this.scope, hrTimeToMilliseconds(endTime)));
    if (dataPoints.length > 0) metrics.push(histogramMetricData(CALL_DURATION_HISTOGRAM, dataPoints));
    return {
      resourceMetrics: {
        // The reader keeps the SDK's resource and takes only our scope metrics.
        resource: emptyResource(),
        scopeMetrics: metrics.length === 0 ? [] : [{ scope: { name: INSTRUMENTATION_SCOPE, version: VERSION }, metrics }],
      },
      errors: [],
    };
  }
}

/**
 * Two instrumentations can report the same series (two registries on one meter provider, each with a
 * breaker of the same name). The SDK histogram merged them by attribute set; so do we, because a series
 * twice in one exposition makes Prometheus refuse the whole scrape.
 */
function mergeSeries(points: CallDurationPoint[]): CallDurationPoint[] {
  const byKey = new Map<string, CallDurationPoint>();
  for (const point of points) {
    const key = attributesKey(point.attributes);
    const seen = byKey.get(key);
    byKey.set(
      key,
      seen === undefined
        ? point
        : {
            attributes: seen.attributes,
            startTimeMs: Math.min(seen.startTimeMs, point.startTimeMs),
            boundaries: seen.boundaries,
            counts: seen.counts.map((count, i) => count + point.counts[i]!),
            count: seen.count + point.count,
            sum: seen.sum + point.sum,
            min: Math.min(seen.min, point.min),
            max: Math.max(seen.max, point.max),
          },
    );
  }
  return [...byKey.values()];
}

/**
 * The series metrics of several instrumentations as one metric per name, and one point per label set
 * (two registries with a breaker of the same name): counts added, a state reported when either
 * breaker is in it, recovery histograms merged — for the same reason as {@link mergeSeries}.
 */
function mergeSeriesMetrics(lists: MetricData[][]): MetricData[] {
  if (lists.length === 1) return lists[0]!;
  const byName = new Map<string, { metric: MetricData; points: Map<string, DataPoint<unknown>> }>();
  for (const metric of lists.flat()) {
    let merged = byName.get(metric.descriptor.name);
    if (merged === undefined) byName.set(metric.descriptor.name, (merged = { metric, points: new Map() }));
    for (const point of metric.dataPoints as DataPoint<unknown>[]) {
      const key = attributesKey(point.attributes);
      const seen = merged.points.get(key);
      merged.points.set(key, seen === undefined ? point : mergePoints(metric.dataPointType, seen, point));
    }
  }
  return [...byName.values()].map(({ metric, points }) => ({ ...metric, dataPoints: [...points.values()] }) as MetricData);
}

function mergePoints(type: DataPointType, a: DataPoint<unknown>, b: DataPoint<unknown>): DataPoint<unknown> {
  const startTime = hrTimeToMilliseconds(a.startTime) <= hrTimeToMilliseconds(b.startTime) ? a.startTime : b.startTime;
  if (type === DataPointType.HISTOGRAM) {
    const x = a.value as Histogram;
    const y = b.value as Histogram;
    const value: Histogram = {
      count: x.count + y.count,
      sum: (x.sum ?? 0) + (y.sum ?? 0),
      buckets: { boundaries: x.buckets.boundaries, counts: x.buckets.counts.map((count, i) => count + (y.buckets.counts[i] ?? 0)) },
    };
    const min = [x.min, y.min].filter((v) => v !== undefined);
    const max = [x.max, y.max].filter((v) => v !== undefined);
    if (min.length > 0) value.min = Math.min(...min);
    if (max.length > 0) value.max = Math.max(...max);
    return { ...a, startTime, value };
  }
  const value = type === DataPointType.GAUGE ? Math.max(a.value as number, b.value as number) : (a.value as number) + (b.value as number);
  return { ...a, startTime, value };
}

function attributesKey(attributes: Attributes): string {
  return JSON.stringify(Object.keys(attributes).sort().map((key) => [key, attributes[key]]));
}

