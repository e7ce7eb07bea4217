import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, metrics, trace, type ProxyTracerProvider } from '@opentelemetry/api';
import { CircuitBreakerRegistry, ManualClock } from '@phlow/circuit-breaker';
import { describe, expect, it } from 'vitest';
import { withBreakerSpan } from '../breaker-span.js';
import { instrumentCircuitBreakers } from '../instrument-circuit-breakers.js';
import { cleanupAfterEach, CollectingReader, histogramValues, settle, withEnv } from '../test-support.test-util.js';
import { CALL_DURATION_BUCKETS } from '../telemetry-names.js';
import { VERSION } from '../version.js';
import { startTelemetry } from './start-telemetry.js';

interface Received {
  readonly path: string;
  readonly contentType: string | undefined;
  readonly body: any;
}

/** A local OTLP/HTTP sink on loopback: records every JSON request it gets. */
async function startSink(): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({
        path: request.url ?? '',
        contentType: request.headers['content-type'],
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
      });
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const cleanups = cleanupAfterEach();


function otlpAttributes(list: Array<{ key: string; value: Record<string, unknown> }>): Record<string, unknown> {
  return Object.fromEntries(list.map(({ key, value }) => [key, Object.values(value)[0]]));
}

describe('OTLP export configured by OTEL_* variables (real exporters, local sink)', () => {
  it('delivers breaker metrics and spans as OTLP JSON (http/json) with the right names and values', async () => {
    const sink = await startSink();
    cleanups.push(() => sink.close());
    withEnv(cleanups, {
      OTEL_METRICS_EXPORTER: 'otlp',
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'agent-under-test',
      OTEL_METRIC_EXPORT_INTERVAL: '3600000',
    });
    const telemetry = await startTelemetry();
    cleanups.push(() => telemetry.shutdown());
    expect(telemetry.prometheusUrl).toBeUndefined();
    // registered globally: the default meter provider is the one started
    expect(metrics.getMeterProvider()).toBe(telemetry.meterProvider);

    const registry = new CircuitBreakerRegistry({ clock: new ManualClock(), logger: false, failureThreshold: 2 });
    const instrumentation = instrumentCircuitBreakers(registry); // global meter provider
    cleanups.push(() => instrumentation.dispose());
    const breaker = registry.getBreaker('did_resolver');
    const tracer = trace.getTracer('test');
    await withBreakerSpan(tracer, breaker, 'resolve did:web', () => 'doc');
    for (let i = 0; i < 2; i++) await settle(withBreakerSpan(tracer, breaker, 'resolve did:web', () => Promise.reject(new Error('404'))));
    await settle(withBreakerSpan(tracer, breaker, 'resolve did:web', () => 'never runs'));

    await telemetry.meterProvider!.forceFlush();
    await telemetry.tracerProvider.forceFlush();

    const metricPosts = sink.received.filter((r) => r.path === '/v1/metrics');
    expect(metricPosts.length).toBeGreaterThanOrEqual(1);
    expect(metricPosts[0]!.contentType).toBe('application/json');
    const resourceMetrics = metricPosts.at(-1)!.body.resourceMetrics[0];
    expect(otlpAttributes(resourceMetrics.resource.attributes)).toMatchObject({ 'service.name': 'agent-under-test' });
    // One scope entry: the producer reports every breaker metric (the series and the duration histogram).
    const scopes = resourceMetrics.scopeMetrics.filter((s: any) => s.scope.name === '@phlow/otel');
    expect(scopes.map((s: any) => s.scope.version)).toEqual([VERSION]);
    const byName = Object.fromEntries(scopes.flatMap((s: any) => s.metrics).map((m: any) => [m.name, m]));
    expect(Object.keys(byName)).toEqual(
      expect.arrayContaining([
        'phlow.circuit_breaker.call.duration',
        'phlow.circuit_breaker.calls',
        'phlow.circuit_breaker.failures',
        'phlow.circuit_breaker.state',
        'phlow.circuit_breaker.transitions',
      ]),
    );
    const pointsOf = (metric: any) =>
      Object.fromEntries(
        (metric.gauge ?? metric.sum).dataPoints.map((p: any) => [
          JSON.stringify(otlpAttributes(p.attributes)),
          p.asDouble ?? Number(p.asInt),
        ]),
      );
    expect(byName['phlow.circuit_breaker.state'].unit).toBe('1');
    expect(pointsOf(byName['phlow.circuit_breaker.state'])).toMatchObject({
      '{"name":"did_resolver","state":"open"}': 1,
      '{"name":"did_resolver","state":"closed"}': 0,
    });
    expect(byName['phlow.circuit_breaker.failures'].sum.isMonotonic).toBe(true);
    expect(pointsOf(byName['phlow.circuit_breaker.failures'])).toEqual({ '{"name":"did_resolver"}': 2 });
    expect(pointsOf(byName['phlow.circuit_breaker.calls'])).toEqual({
      '{"name":"did_resolver","outcome":"success"}': 1,
      '{"name":"did_resolver","outcome":"failure"}': 2,
      '{"name":"did_resolver","outcome":"timeout"}': 0,
      '{"name":"did_resolver","outcome":"rejected"}': 1,
      '{"name":"did_resolver","outcome":"ignored"}': 0,
    });
    const histogram = byName['phlow.circuit_breaker.call.duration'];
    expect(histogram.unit).toBe('s');
    expect(histogram.description).toBe('Duration of calls the circuit breaker admitted, from admission to outcome.');
    expect(histogram.histogram.aggregationTemporality).toBe(2); // CUMULATIVE
    expect(histogram.histogram.dataPoints.map((p: any) => [otlpAttributes(p.attributes), Number(p.count)])).toEqual([
      [{ name: 'did_resolver', outcome: 'success' }, 1],
      [{ name: 'did_resolver', outcome: 'failure' }, 2],
    ]);
    // the manual clock never moved: every call took 0 s, in the first bucket
    const failures = histogram.histogram.dataPoints[1];
    expect(failures.explicitBounds).toEqual([...CALL_DURATION_BUCKETS]);
    expect(failures.bucketCounts.map(Number)).toEqual([2, ...Array(CALL_DURATION_BUCKETS.length).fill(0)]);
    expect([failures.sum, failures.min, failures.max]).toEqual([0, 0, 0]);
    expect(BigInt(failures.startTimeUnixNano)).toBeLessThanOrEqual(BigInt(failures.timeUnixNano));

    const spans = sink.received
      .filter((r) => r.path === '/v1/traces')
      .flatMap((r) => r.body.resourceSpans.flatMap((rs: any) => rs.scopeSpans.flatMap((ss: any) => ss.spans)));
    expect(spans.map((s: any) => s.name)).toEqual(Array(4).fill('resolve did:web'));
    expect(spans.map((s: any) => otlpAttributes(s.attributes)['phlow.circuit_breaker.state'])).toEqual([
      'closed',
      'closed',
      'closed',
      'open',
    ]);
    const rejected = spans[3];
    expect(rejected.events.map((e: any) => e.name)).toEqual(['phlow.circuit_breaker.rejected']);
    expect(rejected.status.code).toBe(2); // ERROR
    expect(otlpAttributes(rejected.attributes)['error.type']).toBe('CircuitOpenError');
  });

  it('leaves durations to the SDK histogram when it starts no reader of its own (extra readers only)', async () => {
    const reader = new CollectingReader();
    const telemetry = await startTelemetry({ metricsExporters: ['none'], metricReaders: [reader] });
    cleanups.push(() => telemetry.shutdown());
    const registry = new CircuitBreakerRegistry({ clock: new ManualClock(), logger: false });
    const instrumentation = instrumentCircuitBreakers(registry, { meterProvider: telemetry.meterProvider! });
    cleanups.push(() => instrumentation.dispose());
    expect(instrumentation.callDurations).toBe('sdk-histogram');
    await registry.getBreaker('payments').execute(() => 1);
    expect(histogramValues((await reader.metrics()).get('phlow.circuit_breaker.call.duration'))).toMatchObject({
      'name=payments,outcome=success': { count: 1 },
    });
  });

  it('unregisters the globals on shutdown so the app can start again', async () => {
    const first = await startTelemetry({ prometheus: { port: false } });
    await expect(startTelemetry({ metricsExporters: ['none'] })).rejects.toThrow(
      'startTelemetry: an OpenTelemetry global (context manager, tracer or meter provider, propagator) is already registered',
    );
    expect(metrics.getMeterProvider()).toBe(first.meterProvider);
    await first.shutdown();
    expect(metrics.getMeterProvider()).not.toBe(first.meterProvider);
    const second = await startTelemetry({ metricsExporters: ['none'] });
    expect(second.meterProvider).toBeUndefined(); // no reader: NodeSDK starts no meter provider
    expect((trace.getTracerProvider() as ProxyTracerProvider).getDelegate()).toBe(second.tracerProvider);
    expect(second.tracerProvider).not.toBe(first.tracerProvider);
    // context propagates across await once the AsyncLocalStorage manager is registered
    const span = second.tracerProvider.getTracer('t').startSpan('outer');
    expect(span.spanContext().traceId).not.toMatch(/^0+$/); // spans are made, though not sent
    await context.with(trace.setSpan(context.active(), span), async () => {
      await new Promise((resolve) => setImmediate(resolve));
      expect(trace.getActiveSpan()).toBe(span);
    });
    span.end();
    await second.shutdown();
  });
});

describe('startTelemetry: bad options', () => {
  it.each([
    [{ metricsExporters: ['prom'] }, RangeError, 'metricsExporters[0] must be one of "prometheus", "otlp", "none"; got "prom"'],
    [{ metricsExporters: 'otlp' }, TypeError, 'metricsExporters must be an array of prometheus, otlp, none; got "otlp"'],
    [{ tracesExporters: ['zipkin'] }, RangeError, 'tracesExporters[0] must be one of "otlp", "none"; got "zipkin"'],
    [{ metricExportIntervalMs: 0 }, RangeError, 'metricExportIntervalMs must be an integer >= 1; got 0'],
    [{ cardinalityLimit: -1 }, RangeError, 'cardinalityLimit must be an integer >= 1; got -1'],
    [{ prometheus: { port: 70000 } }, RangeError, 'prometheus.port must be an integer from 0 to 65535; got 70000'],
    [{ prometheus: { path: 'metrics' } }, TypeError, 'prometheus.path must be a string starting with "/"; got "metrics"'],
    [{ prometheus: { tls: true } }, TypeError, 'startTelemetry prometheus options: unknown option "tls"'],
    [{ serviceName: '' }, TypeError, 'serviceName must be a non-empty string; got ""'],
    [{ registerGlobal: false }, TypeError, 'startTelemetry options: unknown option "registerGlobal"'],
    [{ instrumentations: {} }, TypeError, 'instrumentations must be an array of OpenTelemetry Instrumentations; got an object'],
    [{ exporters: [] }, TypeError, 'startTelemetry options: unknown option "exporters"'],
  ])('%o is refused', async (options, type, message) => {
    const attempt = startTelemetry(options as never);
    await expect(attempt).rejects.toThrow(type);
    await expect(attempt).rejects.toThrow(message);
  });

  it('refuses a bad OTEL_METRICS_EXPORTER value, naming the variable', async () => {
    withEnv(cleanups, { OTEL_METRICS_EXPORTER: 'otlp,statsd' });
    await expect(startTelemetry()).rejects.toThrow(
      new RangeError('OTEL_METRICS_EXPORTER must be one of "prometheus", "otlp", "none"; got "statsd"'),
    );
  });

  it('refuses an unknown OTEL_EXPORTER_OTLP_PROTOCOL, naming the variable', async () => {
    withEnv(cleanups, { OTEL_METRICS_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/xml' });
    await expect(startTelemetry()).rejects.toThrow(
      new RangeError('OTEL_EXPORTER_OTLP_PROTOCOL must be one of "http/protobuf", "http/json", "grpc"; got "http/xml"'),
    );
  });

  it('reports a port already in use instead of starting half-way', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => taken.close(resolve)));
    const { port } = taken.address() as AddressInfo;
    await expect(startTelemetry({ prometheus: { host: '127.0.0.1', port } })).rejects.toThrow(/EADDRINUSE/);
    // nothing was left registered by the failed start
    const again = await startTelemetry({ metricsExporters: ['none'] });
    await again.shutdown();
  });
});
