import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { diag, DiagLogLevel, type MeterProvider as ApiMeterProvider } from '@opentelemetry/api';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type MetricData,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { CircuitBreakerRegistry, ManualClock } from '@phlow/circuit-breaker';
import { describe, expect, it } from 'vitest';
import { CircuitBreakerInstrumentation } from './circuit-breaker-instrumentation.js';
import { instrumentCircuitBreakers } from './instrument-circuit-breakers.js';
import { PROBE_NAME, readerCoverage } from './reader-coverage.js';
import { CircuitBreakerMetricProducer } from './sdk/circuit-breaker-metric-producer.js';
import { createPrometheusMetricsReader, prometheusMetricsHandler } from './sdk/prometheus-metrics-handler.js';
import { byName, cleanupAfterEach, CollectingReader, key, settle, startNodeSdk } from './test-support.test-util.js';
import { CALL_DURATION_HISTOGRAM, CALLS_COUNTER, FAILURES_COUNTER, STATE_GAUGE, TRANSITIONS_COUNTER } from './telemetry-names.js';

const cleanups = cleanupAfterEach();

/** A second reader, the one a user adds and forgets to give the producer (its class name is in the warning). */
class ExtraReader extends CollectingReader {}

/** What `diag` warns while a test runs: @phlow/otel's warnings only (the SDK may warn about its own things). */
function captureWarnings(): () => string[] {
  const warnings: string[] = [];
  const ignore = () => {};
  diag.setLogger({ error: ignore, info: ignore, debug: ignore, verbose: ignore, warn: (message) => warnings.push(message) }, DiagLogLevel.WARN);
  cleanups.push(() => diag.disable());
  return () => warnings.filter((message) => message.startsWith('@phlow/otel'));
}

function producer(): CircuitBreakerMetricProducer {
  const made = new CircuitBreakerMetricProducer();
  cleanups.push(() => made.dispose());
  return made;
}

function provider(readers: CollectingReader[], scopedProducers: CircuitBreakerMetricProducer[] = []): MeterProvider {
  const made = new MeterProvider({ readers });
  for (const one of scopedProducers) one.scopeTo(made);
  cleanups.push(() => made.shutdown());
  return made;
}

/** A registry with one breaker, `payments`, opened by two failures and closed again by a probe (a transition and a recovery). */
async function trafficOn(meterProvider: ApiMeterProvider, options: { callDurations?: 'producer' } = {}) {
  const clock = new ManualClock();
  const registry = new CircuitBreakerRegistry({ clock, logger: false, failureThreshold: 2, recoveryTimeoutMs: 1_000 });
  const instrumentation = instrumentCircuitBreakers(registry, { meterProvider, ...options });
  cleanups.push(() => instrumentation.dispose());
  const breaker = registry.getBreaker('payments', { timeoutMs: 0 });
  await settle(breaker.execute(() => 'ok'));
  for (let i = 0; i < 2; i++) await settle(breaker.execute(() => Promise.reject(new Error('503'))));
  clock.advance(1_000);
  await settle(breaker.execute(() => 'ok'));
  return { registry, instrumentation };
}

/** Every breaker metric in `resourceMetrics` as `metric{attributes}` → value, failing on any point reported twice. */
function breakerPoints(resourceMetrics: ResourceMetrics): Map<string, unknown> {
  const points = new Map<string, unknown>();
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics as MetricData[]) {
      if (!metric.descriptor.name.startsWith('phlow.circuit_breaker.')) continue;
      for (const point of metric.dataPoints) {
        const id = `${metric.descriptor.name}{${key(point.attributes)}}`;
        if (points.has(id)) throw new Error(`${id} reported twice`);
        const value = point.value as number | { count: number; sum?: number };
        points.set(id, typeof value === 'number' ? value : { count: value.count, sum: value.sum });
      }
    }
  }
  return points;
}

describe('a meter provider with a reader that carries no CircuitBreakerMetricProducer', () => {
  it('gives every reader the breaker metrics through SDK instruments, once each, and says which reader lacks the producer', async () => {
    const warnings = captureWarnings();
    const withProducer = producer();
    const equipped = new CollectingReader({ metricProducers: [withProducer] });
    const bare = new ExtraReader();
    const meterProvider = provider([equipped, bare], [withProducer]);
    expect(readerCoverage(meterProvider)).toEqual({ covered: 1, lacking: ['ExtraReader'] });

    const { instrumentation } = await trafficOn(meterProvider);
    expect(instrumentation.callDurations).toBe('sdk-histogram');
    expect(warnings()).toEqual([
      expect.stringMatching(
        /^@phlow\/otel: 1 of the 2 metric readers of this meter provider \(ExtraReader\) carries no CircuitBreakerMetricProducer\. .*retired family member's series then stays in the export.*Add `metricProducers: \[new CircuitBreakerMetricProducer\(\)\]` \(from @phlow\/otel\/sdk\) to that reader/,
      ),
    ]);

    const fromEquipped = breakerPoints((await equipped.collect()).resourceMetrics); // throws on a doubled point
    const fromBare = breakerPoints((await bare.collect()).resourceMetrics);
    expect(fromBare).toEqual(fromEquipped);
    expect(Object.fromEntries(fromBare)).toMatchObject({
      [`${STATE_GAUGE.name}{name=payments,state=closed}`]: 1,
      [`${FAILURES_COUNTER.name}{name=payments}`]: 2,
      [`${CALLS_COUNTER.name}{name=payments,outcome=success}`]: 2,
      [`${TRANSITIONS_COUNTER.name}{from=closed,name=payments,to=open}`]: 1,
      [`${CALL_DURATION_HISTOGRAM.name}{name=payments,outcome=failure}`]: { count: 2 },
    });
    // Nothing is reported through the producer, so nothing twice on the equipped reader.
    expect((await withProducer.collect()).resourceMetrics.scopeMetrics).toEqual([]);
    expect(warnings()).toHaveLength(1); // once per meter provider
  });

  it("with callDurations: 'producer', keeps the histogram on the producers and says the bare reader misses it", async () => {
    const warnings = captureWarnings();
    const withProducer = producer();
    const equipped = new CollectingReader({ metricProducers: [withProducer] });
    const bare = new ExtraReader();
    const { instrumentation } = await trafficOn(provider([equipped, bare], [withProducer]), { callDurations: 'producer' });
    expect(instrumentation.callDurations).toBe('producer');
    expect(warnings()).toEqual([expect.stringContaining("With callDurations: 'producer' the call-duration histogram still goes through producers only, and misses that reader.")]);
    const onBare = breakerPoints((await bare.collect()).resourceMetrics);
    const onEquipped = breakerPoints((await equipped.collect()).resourceMetrics);
    expect([...onBare.keys()].some((id) => id.startsWith(CALL_DURATION_HISTOGRAM.name))).toBe(false);
    expect(onEquipped.get(`${CALL_DURATION_HISTOGRAM.name}{name=payments,outcome=failure}`)).toMatchObject({ count: 2 });
    expect(onBare.get(`${FAILURES_COUNTER.name}{name=payments}`)).toBe(2); // the series still reach it
    expect(warnings()).toHaveLength(1); // its collection does not warn a second time
  });

  it('says nothing when every reader carries the producer, and both get the series through it', async () => {
    const warnings = captureWarnings();
    const first = producer();
    const second = producer();
    const one = new CollectingReader({ metricProducers: [first] });
    const other = new ExtraReader({ metricProducers: [second] });
    const meterProvider = provider([one, other], [first, second]);
    expect(readerCoverage(meterProvider)).toEqual({ covered: 2, lacking: [] });
    const { instrumentation } = await trafficOn(meterProvider);
    expect(instrumentation.callDurations).toBe('producer');
    const [a, b] = await Promise.all([one.collect(), other.collect()]); // both in one synchronous stretch, too
    expect(breakerPoints(b.resourceMetrics)).toEqual(breakerPoints(a.resourceMetrics));
    expect(breakerPoints(a.resourceMetrics).get(`${FAILURES_COUNTER.name}{name=payments}`)).toBe(2);
    await one.collect();
    await other.collect();
    expect(warnings()).toEqual([]);
  });

  it('warns when a bare reader collects, if its meter provider hides its readers (the probe, public API only)', async () => {
    const warnings = captureWarnings();
    const withProducer = producer();
    const equipped = new CollectingReader({ metricProducers: [withProducer] });
    const bare = new ExtraReader();
    const sdkProvider = provider([equipped, bare]);
    // A wrapper (as some libraries hand out) whose readers cannot be read: only the collection tells.
    const wrapped: ApiMeterProvider = { getMeter: (...args) => sdkProvider.getMeter(...args) };
    withProducer.scopeTo(wrapped);
    expect(readerCoverage(wrapped)).toBeUndefined();

    const { instrumentation } = await trafficOn(wrapped);
    expect(instrumentation.callDurations).toBe('producer'); // nothing to tell when instrumenting
    expect(warnings()).toEqual([]);
    const equippedMetrics = byName((await equipped.collect()).resourceMetrics);
    expect(warnings()).toEqual([]); // the equipped reader's collection is fine
    expect(equippedMetrics.has(FAILURES_COUNTER.name)).toBe(true);
    expect(equippedMetrics.has(PROBE_NAME)).toBe(false); // the probe never shows

    const bareMetrics = byName((await bare.collect()).resourceMetrics);
    expect(bareMetrics.has(FAILURES_COUNTER.name)).toBe(false); // what the warning is about
    expect(bareMetrics.has(PROBE_NAME)).toBe(false);
    await Promise.resolve(); // the stretch is judged in a microtask; collect() has awaited past it already
    expect(warnings()).toEqual([
      expect.stringMatching(
        /^@phlow\/otel: a metric reader of this meter provider collected without a CircuitBreakerMetricProducer, while the breaker metrics .* reach readers only through producers: that reader gets none of them\. Add `metricProducers: \[new CircuitBreakerMetricProducer\(\)\]`/,
      ),
    ]);
    await bare.collect();
    await Promise.all([bare.collect(), equipped.collect()]);
    expect(warnings()).toHaveLength(1);
  });

  it('probes while an instrumentation relying on producers is live, and stops when the last one is disposed', async () => {
    const warnings = captureWarnings();
    // An unscoped producer on another provider's reader reports every provider's instrumentations (by design),
    // so instrumenting a provider whose only reader has none relies on producers that its reader never calls.
    provider([new CollectingReader({ metricProducers: [producer()] })]);
    const keptReader = new ExtraReader();
    const droppedReader = new ExtraReader();
    const kept = provider([keptReader]);
    const dropped = provider([droppedReader]);
    expect(readerCoverage(kept)).toEqual({ covered: 0, lacking: ['ExtraReader'] });
    const first = await trafficOn(kept);
    const second = await trafficOn(kept);
    const gone = await trafficOn(dropped);
    expect([first, second, gone].map(({ instrumentation }) => instrumentation.callDurations)).toEqual(['producer', 'producer', 'producer']);
    second.instrumentation.dispose(); // `first` still relies on producers for `kept`
    gone.instrumentation.dispose(); // nothing does for `dropped` any more
    await droppedReader.collect();
    expect(warnings()).toEqual([]);
    await keptReader.collect();
    expect(warnings()).toEqual([expect.stringContaining('a metric reader of this meter provider collected without a CircuitBreakerMetricProducer')]);
  });
});

describe('NodeSDK with the Prometheus reader and an extra OTLP-style reader without the producer', () => {
  it('the extra reader exports the breaker metrics too, Prometheus serves each series once, and the gap is named', async () => {
    const warnings = captureWarnings();
    const prometheus = createPrometheusMetricsReader();
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const periodic = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
    const registry = new CircuitBreakerRegistry({ clock: new ManualClock(), logger: false, failureThreshold: 3 });
    const instrumentation = new CircuitBreakerInstrumentation({ registry });
    startNodeSdk(cleanups, [prometheus, periodic], instrumentation);
    expect(instrumentation.callDurations).toBe('sdk-histogram');
    expect(warnings()).toEqual([expect.stringContaining('1 of the 2 metric readers of this meter provider (PeriodicExportingMetricReader) carries no CircuitBreakerMetricProducer')]);

    const breaker = registry.getBreaker('payments');
    for (let i = 0; i < 3; i++) await settle(breaker.execute(() => Promise.reject(new Error('503'))));

    await periodic.forceFlush();
    const exported = exporter.getMetrics().at(-1)!;
    expect(breakerPoints(exported).get(`${STATE_GAUGE.name}{name=payments,state=open}`)).toBe(1);
    expect(breakerPoints(exported).get(`${FAILURES_COUNTER.name}{name=payments}`)).toBe(3);

    const server = createServer(prometheusMetricsHandler(prometheus));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const text = await (await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`)).text();
    const samples = text.split('\n').filter((line) => line.startsWith('phlow_circuit_breaker_'));
    expect(samples).toContainEqual(expect.stringMatching(/^phlow_circuit_breaker_state\{name="payments",state="open",.*\} 1$/));
    expect(samples).toContainEqual(expect.stringMatching(/^phlow_circuit_breaker_failures_total\{name="payments",.*\} 3$/));
    expect(samples).toContainEqual(expect.stringMatching(/^phlow_circuit_breaker_call_duration_count\{name="payments",outcome="failure",.*\} 3$/));
    expect(new Set(samples.map((line) => line.slice(0, line.lastIndexOf(' ')))).size).toBe(samples.length); // no series twice
    expect(text.split('\n').filter((line) => line.startsWith('# TYPE phlow_circuit_breaker_failures_total'))).toHaveLength(1);
  });

  it('says nothing when the extra reader carries its own producer, and both readers get the metrics', async () => {
    const warnings = captureWarnings();
    const prometheus = createPrometheusMetricsReader();
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const periodic = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000, metricProducers: [producer()] });
    const registry = new CircuitBreakerRegistry({ clock: new ManualClock(), logger: false, failureThreshold: 3 });
    const instrumentation = new CircuitBreakerInstrumentation({ registry });
    startNodeSdk(cleanups, [prometheus, periodic], instrumentation);
    expect(instrumentation.callDurations).toBe('producer');
    await settle(registry.getBreaker('payments').execute(() => Promise.reject(new Error('503'))));
    await periodic.forceFlush();
    expect(breakerPoints(exporter.getMetrics().at(-1)!).get(`${FAILURES_COUNTER.name}{name=payments}`)).toBe(1);
    expect(breakerPoints((await prometheus.collect()).resourceMetrics).get(`${FAILURES_COUNTER.name}{name=payments}`)).toBe(1);
    await Promise.resolve();
    expect(warnings()).toEqual([]);
  });
});
