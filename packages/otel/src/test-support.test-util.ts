import {
  DataPointType,
  MeterProvider,
  MetricReader,
  type DataPoint,
  type MetricData,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import type { Attributes } from '@opentelemetry/api';
import { CircuitBreakerMetricProducer } from './sdk/circuit-breaker-metric-producer.js';

/** A real SDK reader that collects only when asked: the SDK's own collection path, no timers. */
export class CollectingReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}

  async metrics(): Promise<Map<string, MetricData>> {
    const { resourceMetrics, errors } = await this.collect();
    if (errors.length > 0) throw new AggregateError(errors, 'collection errors');
    return byName(resourceMetrics);
  }
}

export function byName(resourceMetrics: ResourceMetrics): Map<string, MetricData> {
  const out = new Map<string, MetricData>();
  for (const scope of resourceMetrics.scopeMetrics) for (const metric of scope.metrics) out.set(metric.descriptor.name, metric);
  return out;
}

/**
 * A meter provider with one collecting reader. With `producer`, the reader also carries a
 * `CircuitBreakerMetricProducer` scoped to this provider (dispose it after the test, as the provider).
 */
export function newMeterProvider(options: { producer?: boolean } = {}): {
  provider: MeterProvider;
  reader: CollectingReader;
  producer: CircuitBreakerMetricProducer | undefined;
} {
  const producer = options.producer ? new CircuitBreakerMetricProducer() : undefined;
  const reader = new CollectingReader(producer === undefined ? {} : { metricProducers: [producer] });
  const provider = new MeterProvider({ readers: [reader] });
  producer?.scopeTo(provider);
  return { provider, reader, producer };
}

/** Points of a sum or gauge as `{attributes-as-"k=v,k=v"} → value`, sorted by key for stable equality. */
export function pointValues(metric: MetricData | undefined): Record<string, number> {
  if (metric === undefined) throw new Error('metric missing');
  if (metric.dataPointType === DataPointType.HISTOGRAM || metric.dataPointType === DataPointType.EXPONENTIAL_HISTOGRAM) {
    throw new Error(`${metric.descriptor.name} is a histogram`);
  }
  const out: Record<string, number> = {};
  for (const point of metric.dataPoints as DataPoint<number>[]) out[key(point.attributes)] = point.value;
  return sortKeys(out);
}

export interface HistogramValue {
  count: number;
  sum: number;
  min: number | undefined;
  max: number | undefined;
  boundaries: number[];
  counts: number[];
}

/** Histogram points as `key → { count, sum, min, max, boundaries, counts }`. */
export function histogramValues(metric: MetricData | undefined): Record<string, HistogramValue> {
  if (metric === undefined || metric.dataPointType !== DataPointType.HISTOGRAM) throw new Error('not a histogram');
  const out: Record<string, HistogramValue> = {};
  for (const point of metric.dataPoints) {
    const { count, sum, min, max, buckets } = point.value;
    out[key(point.attributes)] = { count, sum: sum ?? NaN, min, max, boundaries: buckets.boundaries, counts: buckets.counts };
  }
  return sortKeys(out);
}

export function key(attributes: Attributes): string {
  return Object.keys(attributes)
    .sort()
    .map((k) => `${k}=${String(attributes[k])}`)
    .join(',');
}

function sortKeys<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Settles a promise into its outcome so a test can script failing calls. */
export async function settle<T>(promise: Promise<T>): Promise<{ value?: T; error?: unknown }> {
  try {
    return { value: await promise };
  } catch (error) {
    return { error };
  }
}
