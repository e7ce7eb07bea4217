import {
  DataPointType,
  MeterProvider,
  MetricReader,
  type DataPoint,
  type MetricData,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { context, metrics, propagation, trace, type Attributes } from '@opentelemetry/api';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { afterEach } from 'vitest';
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

/**
 * Undo-steps of the running test (servers to close, globals to clear), run after it, last first. Call once
 * per test file, at its top level.
 */
export function cleanupAfterEach(): Array<() => unknown> {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return cleanups;
}

/** Sets environment variables for one test; `cleanups` restores them. */
export function withEnv(cleanups: Array<() => unknown>, values: Record<string, string>): void {
  const saved = Object.fromEntries(Object.keys(values).map((k) => [k, process.env[k]]));
  Object.assign(process.env, values);
  cleanups.push(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
}

/**
 * The real NodeSDK with `readers` and `instrumentation` only (nothing exported, no resource detection),
 * started; `cleanups` shuts it down and clears the globals NodeSDK.shutdown leaves registered.
 */
export function startNodeSdk(cleanups: Array<() => unknown>, readers: MetricReader | MetricReader[], instrumentation: Instrumentation): NodeSDK {
  const sdk = new NodeSDK({ metricReaders: Array.isArray(readers) ? readers : [readers], spanProcessors: [], logRecordProcessors: [], autoDetectResources: false, instrumentations: [instrumentation] });
  sdk.start();
  cleanups.push(async () => {
    instrumentation.disable();
    await sdk.shutdown();
    metrics.disable();
    trace.disable();
    context.disable();
    propagation.disable();
  });
  return sdk;
}
