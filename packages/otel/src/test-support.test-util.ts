import {
  DataPointType,
  MeterProvider,
  MetricReader,
  type DataPoint,
  type MetricData,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import type { Attributes } from '@opentelemetry/api';

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

export function newMeterProvider(): { provider: MeterProvider; reader: CollectingReader } {
  const reader = new CollectingReader();
  return { provider: new MeterProvider({ readers: [reader] }), reader };
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

/** Histogram points as `key → { count, sum, buckets }`. */
export function histogramValues(metric: MetricData | undefined): Record<string, { count: number; sum: number; counts: number[] }> {
  if (metric === undefined || metric.dataPointType !== DataPointType.HISTOGRAM) throw new Error('not a histogram');
  const out: Record<string, { count: number; sum: number; counts: number[] }> = {};
  for (const point of metric.dataPoints) {
    out[key(point.attributes)] = { count: point.value.count, sum: point.value.sum ?? NaN, counts: point.value.buckets.counts };
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
