import { diag, DiagLogLevel } from '@opentelemetry/api';
import { CircuitBreakerRegistry, ManualClock } from '@phlow/circuit-breaker';
import { afterEach, describe, expect, it } from 'vitest';
import { instrumentCircuitBreakers, type RegistryInstrumentationOptions } from '../instrument-circuit-breakers.js';
import { CALL_DURATION_BUCKETS } from '../telemetry-names.js';
import { histogramValues, newMeterProvider, pointValues, settle } from '../test-support.test-util.js';
import { VERSION } from '../version.js';
import { CircuitBreakerMetricProducer } from './circuit-breaker-metric-producer.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const DURATION = 'phlow.circuit_breaker.call.duration';
const RECOVERY = 'phlow.circuit_breaker.recovery.duration';

/** A registry on a manual clock, instrumented against its own meter provider. */
function instrumented(meter: ReturnType<typeof newMeterProvider>, options: RegistryInstrumentationOptions = {}) {
  const clock = new ManualClock();
  const registry = new CircuitBreakerRegistry({ clock, logger: false, expectedError: RangeError });
  const instrumentation = instrumentCircuitBreakers(registry, { meterProvider: meter.provider, ...options });
  cleanups.push(() => instrumentation.dispose());
  return { clock, registry, instrumentation };
}

function meterProvider(options: { producer?: boolean } = {}) {
  const meter = newMeterProvider(options);
  cleanups.push(() => meter.producer?.dispose(), () => meter.provider.shutdown());
  return meter;
}

/** Captures what `diag` warns while a test runs. */
function captureDiagWarnings(): string[] {
  const warnings: string[] = [];
  const ignore = () => {};
  diag.setLogger({ error: ignore, info: ignore, debug: ignore, verbose: ignore, warn: (message) => warnings.push(message) }, DiagLogLevel.WARN);
  cleanups.push(() => diag.disable());
  return warnings;
}

/** Calls of the given durations (ms on the manual clock) with outcomes: 'ok', 'fail' (counted) or 'bug' (ignored). */
async function script(clock: ManualClock, registry: CircuitBreakerRegistry, calls: Array<[string, number, 'ok' | 'fail' | 'bug']>) {
  for (const [name, ms, outcome] of calls) {
    await settle(
      registry.getBreaker(name, { failureThreshold: 1_000, timeoutMs: 0 }).execute(async () => {
        clock.advance(ms);
        if (outcome === 'fail') throw new RangeError('down');
        if (outcome === 'bug') throw new TypeError('bug');
        return ms;
      }),
    );
  }
}

describe('CircuitBreakerMetricProducer', () => {
  it('reports each breaker\'s recovery series from the start, at count 0, so a window query sees its first recovery', async () => {
    const meter = meterProvider({ producer: true });
    const { clock, registry } = instrumented(meter);
    const breaker = registry.getBreaker('payments', { failureThreshold: 1, recoveryTimeoutMs: 10_000, timeoutMs: 0 });
    await settle(breaker.execute(() => 'ok'));
    const before = histogramValues((await meter.reader.metrics()).get(RECOVERY));
    expect(before).toEqual({ 'name=payments': expect.objectContaining({ count: 0, sum: 0 }) });
    expect(before['name=payments']!.min).toBeUndefined(); // no recovery yet: no min or max to report

    await settle(breaker.execute(() => Promise.reject(new RangeError('down'))));
    expect(breaker.state).toBe('open');
    clock.advance(10_000);
    await settle(breaker.execute(() => 'ok')); // the probe closes it: one episode of 10 s
    expect(breaker.state).toBe('closed');
    const after = histogramValues((await meter.reader.metrics()).get(RECOVERY));
    expect(after).toEqual({ 'name=payments': expect.objectContaining({ count: 1, sum: 10, min: 10, max: 10 }) });
  });

  it('exports exactly what the SDK histogram would, bucket edges included', async () => {
    // every boundary exactly (inclusive upper bounds), just above it, zero, and past the last one
    const durationsMs = [0, 3, ...CALL_DURATION_BUCKETS.flatMap((b) => [b * 1000, b * 1000 + 1]), 60_000];
    const calls: Array<[string, number, 'ok' | 'fail' | 'bug']> = durationsMs.flatMap((ms, i) => [
      ['a', ms, (['ok', 'fail', 'bug'] as const)[i % 3]!],
      ['b', ms, 'ok'],
    ]);
    const viaProducer = meterProvider({ producer: true });
    const viaSdk = meterProvider();
    const one = instrumented(viaProducer);
    const other = instrumented(viaSdk);
    expect([one.instrumentation.callDurations, other.instrumentation.callDurations]).toEqual(['producer', 'sdk-histogram']);
    await script(one.clock, one.registry, calls);
    await script(other.clock, other.registry, calls);

    const produced = histogramValues((await viaProducer.reader.metrics()).get(DURATION));
    const recorded = histogramValues((await viaSdk.reader.metrics()).get(DURATION));
    expect(Object.keys(produced)).toEqual([
      'name=a,outcome=failure',
      'name=a,outcome=ignored',
      'name=a,outcome=success',
      'name=b,outcome=success',
    ]);
    expect(produced).toEqual(recorded);
    expect(produced['name=b,outcome=success']).toMatchObject({
      count: durationsMs.length,
      min: 0,
      max: 60,
      // 0 and 3 ms and 5 ms in the first bucket; then each boundary's value in its own bucket and
      // the value just above it in the next; 10.001 s and 60 s above the last boundary
      counts: [3, ...Array(CALL_DURATION_BUCKETS.length - 1).fill(2), 2],
    });
  });

  it('describes the histogram as the SDK did: scope, name, unit, description, cumulative, start and end time', async () => {
    const meter = meterProvider({ producer: true });
    const { clock, registry } = instrumented(meter);
    const before = Date.now();
    await script(clock, registry, [['payments', 20, 'ok']]);
    const { resourceMetrics } = await meter.reader.collect();
    const scopes = resourceMetrics.scopeMetrics.filter((scope) => scope.metrics.some((metric) => metric.descriptor.name === DURATION));
    expect(scopes.map((scope) => scope.scope)).toEqual([{ name: '@phlow/otel', version: VERSION }]);
    const metric = scopes[0]!.metrics.find((m) => m.descriptor.name === DURATION)!;
    expect(metric).toMatchObject({
      descriptor: {
        name: DURATION,
        unit: 's',
        description: 'Duration of calls the circuit breaker admitted, from admission to outcome.',
      },
      aggregationTemporality: 1, // AggregationTemporality.CUMULATIVE
      dataPointType: 0, // DataPointType.HISTOGRAM
    });
    const [point] = metric.dataPoints;
    const ms = ([seconds, nanos]: [number, number]) => seconds * 1000 + nanos / 1e6;
    expect(ms(point!.startTime)).toBeGreaterThanOrEqual(before - 1);
    expect(ms(point!.endTime)).toBeGreaterThanOrEqual(ms(point!.startTime));
    // the resource is the SDK's, not the producer's empty one
    expect(resourceMetrics.resource.attributes['telemetry.sdk.language']).toBe('nodejs');
  });

  it('reports family members and standalone breakers under their own names, past each cap under that cap’s overflow, like the other instruments', async () => {
    const meter = meterProvider({ producer: true });
    const { clock, registry } = instrumented(meter, { maxSeriesNames: 2, maxSeriesPerFamily: 1 });
    const peers = registry.getFamily('peers');
    for (const key of ['x', 'y']) {
      await peers.execute(key, async () => {
        clock.advance(10);
      });
    }
    await script(clock, registry, [['solo', 1, 'ok'], ['extra', 1, 'ok'], ['more', 1, 'ok']]);
    expect(Object.keys(histogramValues((await meter.reader.metrics()).get(DURATION)))).toEqual([
      'name=_overflow,outcome=success',
      'name=extra,outcome=success',
      'name=peers/_overflow,outcome=success',
      'name=peers/x,outcome=success',
      'name=solo,outcome=success',
    ]);
  });

  it('merges a series two instrumentations report (two registries, one breaker name), as the SDK histogram did', async () => {
    const viaProducer = meterProvider({ producer: true });
    const viaSdk = meterProvider();
    for (const meter of [viaProducer, viaSdk]) {
      const first = instrumented(meter);
      const second = instrumented(meter);
      await script(first.clock, first.registry, [['payments', 20, 'ok'], ['payments', 400, 'fail']]);
      await script(second.clock, second.registry, [['payments', 3_000, 'ok']]);
    }
    const produced = histogramValues((await viaProducer.reader.metrics()).get(DURATION));
    expect(produced).toEqual(histogramValues((await viaSdk.reader.metrics()).get(DURATION)));
    expect(produced['name=payments,outcome=success']).toMatchObject({ count: 2, sum: 3.02, min: 0.02, max: 3 });
  });

  it('keeps the SDK histogram when there is no producer, and says so once on diag', async () => {
    const warnings = captureDiagWarnings();
    const meter = meterProvider();
    const { clock, registry, instrumentation } = instrumented(meter);
    expect(instrumentation.callDurations).toBe('sdk-histogram');
    expect(warnings).toEqual([expect.stringContaining('no CircuitBreakerMetricProducer is live for this meter provider')]);
    await script(clock, registry, [['payments', 20, 'ok']]);
    expect(histogramValues((await meter.reader.metrics()).get(DURATION))).toMatchObject({ 'name=payments,outcome=success': { count: 1 } });
    expect(instrumentation.readCallDurations()).toEqual([]);
  });

  it("takes callDurations: 'sdk-histogram' quietly even with a producer, and the producer then adds nothing", async () => {
    const warnings = captureDiagWarnings();
    const meter = meterProvider({ producer: true });
    const { clock, registry, instrumentation } = instrumented(meter, { callDurations: 'sdk-histogram' });
    expect(instrumentation.callDurations).toBe('sdk-histogram');
    await script(clock, registry, [['payments', 20, 'ok']]);
    const { resourceMetrics } = await meter.reader.collect();
    const histograms = resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics).filter((m) => m.descriptor.name === DURATION);
    expect(histograms).toHaveLength(1);
    expect(histograms[0]!.dataPoints).toHaveLength(1);
    expect(warnings).toEqual([]);
  });

  it("aggregates with callDurations: 'producer' and no producer: readable from the handle, not exported", async () => {
    const meter = meterProvider();
    const { clock, registry, instrumentation } = instrumented(meter, { callDurations: 'producer' });
    expect(instrumentation.callDurations).toBe('producer');
    await script(clock, registry, [['payments', 20, 'ok'], ['payments', 300, 'fail']]);
    expect((await meter.reader.metrics()).has(DURATION)).toBe(false);
    expect(instrumentation.readCallDurations()).toEqual([
      {
        attributes: { name: 'payments', outcome: 'success' },
        startTimeMs: expect.any(Number),
        boundaries: CALL_DURATION_BUCKETS,
        counts: [0, 0, 1, ...Array(CALL_DURATION_BUCKETS.length - 2).fill(0)],
        count: 1,
        sum: 0.02,
        min: 0.02,
        max: 0.02,
      },
      expect.objectContaining({ attributes: { name: 'payments', outcome: 'failure' }, count: 1, sum: 0.3 }),
    ]);
  });

  it('a scoped producer claims only its meter provider; a disposed one claims nothing', async () => {
    const withProducer = meterProvider({ producer: true });
    const elsewhere = meterProvider();
    expect(instrumented(withProducer).instrumentation.callDurations).toBe('producer');
    expect(instrumented(elsewhere).instrumentation.callDurations).toBe('sdk-histogram');

    withProducer.producer!.dispose();
    expect(instrumented(withProducer).instrumentation.callDurations).toBe('sdk-histogram');
  });

  it('an unscoped producer reports instrumentations of any meter provider', async () => {
    const producer = new CircuitBreakerMetricProducer();
    cleanups.push(() => producer.dispose());
    const meter = meterProvider();
    const { clock, registry, instrumentation } = instrumented(meter);
    expect(instrumentation.callDurations).toBe('producer');
    await script(clock, registry, [['payments', 20, 'ok']]);
    const { resourceMetrics } = await producer.collect();
    expect(resourceMetrics.scopeMetrics[0]!.metrics.find((m) => m.descriptor.name === DURATION)!.dataPoints).toMatchObject([
      { attributes: { name: 'payments', outcome: 'success' }, value: { count: 1, sum: 0.02 } },
    ]);
  });

  it('produces nothing without instrumentations, and no duration series before a call', async () => {
    const producer = new CircuitBreakerMetricProducer();
    cleanups.push(() => producer.dispose());
    expect(await producer.collect()).toMatchObject({ resourceMetrics: { scopeMetrics: [] }, errors: [] });
    instrumented(meterProvider()).registry.getBreaker('idle');
    const { resourceMetrics } = await producer.collect();
    const names = resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics.map((m) => m.descriptor.name));
    expect(names).toContain('phlow.circuit_breaker.state');
    expect(names).not.toContain(DURATION);
  });

  it('drops a retired family member from the next collection (SDK instruments would keep it)', async () => {
    const meter = meterProvider({ producer: true });
    const { clock, registry } = instrumented(meter);
    const peers = registry.getFamily('peers', {}, { idleTtlMs: 1_000, maxKeys: 10 });
    await peers.execute('x', () => 'ok');
    const names = async () =>
      Object.keys(pointValues((await meter.reader.metrics()).get('phlow.circuit_breaker.failures'))).sort();
    expect(await names()).toEqual(['name=peers/x']);
    clock.advance(2_000);
    await peers.execute('y', () => 'ok'); // x retires (idle)
    expect(await names()).toEqual(['name=peers/y']);
  });

  it('refuses to be scoped to something that is not a meter provider', () => {
    const producer = new CircuitBreakerMetricProducer();
    cleanups.push(() => producer.dispose());
    expect(() => producer.scopeTo({} as never)).toThrow(
      new TypeError('scopeTo needs an OpenTelemetry MeterProvider (with getMeter); got an object'),
    );
  });
});
