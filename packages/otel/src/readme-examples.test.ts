// The README's examples, kept here so they compile (typecheck) and run. Keep the two in step.
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { CircuitBreakerRegistry, getCircuitBreakerRegistry, jsonLineLogger } from '@phlow/circuit-breaker';
import { freePort } from '@phlow/test-helpers';
import { describe, expect, it } from 'vitest';
import { CircuitBreakerInstrumentation, CALLS_COUNTER, instrumentCircuitBreakers, traceContextLogger, withBreakerSpan } from './index.js';
import { CircuitBreakerMetricProducer, createPrometheusMetricsReader, prometheusMetricsHandler, startTelemetry } from './sdk/index.js';
import { decode, startHttpSink } from './sdk/otlp-sink.test-util.js';
import { CollectingReader, cleanupAfterEach, pointValues, withEnv } from './test-support.test-util.js';
import { VERSION } from './version.js';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const cleanups = cleanupAfterEach();

describe('README examples', () => {
  it('Usage: NodeSDK with CircuitBreakerInstrumentation on the process-wide registry, exported over OTLP to a receiver', async () => {
    // The README's code as written, its OTLP exporter pointed at a receiver on loopback that decodes the official protos.
    const sink = await startHttpSink(cleanups);
    withEnv(cleanups, { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_METRIC_EXPORT_INTERVAL: '3600000' });
    // --- README: NodeSDK ---
    const sdk = new NodeSDK({
      serviceName: 'checkout',
      metricReaders: [
        new PeriodicExportingMetricReader({
          exporter: new OTLPMetricExporter(),
          metricProducers: [new CircuitBreakerMetricProducer()],
        }),
      ],
      instrumentations: [new CircuitBreakerInstrumentation()],
    });
    sdk.start();

    const breaker = getCircuitBreakerRegistry().getBreaker('payments', { failureThreshold: 5, timeoutMs: 5_000 });
    const receipt = await breaker.execute(async ({ signal }) => {
      signal.throwIfAborted();
      return { ok: true };
    });

    // on shutdown
    await sdk.shutdown();
    // --- end ---
    try {
      expect(receipt).toEqual({ ok: true });
      const decoded = decode(sink.received, '/v1/metrics', '/v1/traces');
      expect(decoded.serviceName).toBe('checkout');
      expect(decoded.calls).toMatchObject({ success: 1 });
      // Through the producer (not the SDK-histogram fallback): the duration histogram is there, its one call counted.
      expect((sdkInstrumentations(sdk)[0] as CircuitBreakerInstrumentation).callDurations).toBe('producer');
      expect(decoded.durationCounts).toEqual({ success: 1 });
      expect(decoded.metricNames).toEqual(expect.arrayContaining(['phlow.circuit_breaker.state', 'phlow.circuit_breaker.calls', 'phlow.circuit_breaker.call.duration']));
    } finally {
      for (const instrumentation of sdkInstrumentations(sdk)) instrumentation.disable();
      metrics.disable();
      trace.disable();
      context.disable();
      propagation.disable();
    }
  });

  it('Usage: the starter', async () => {
    // --- README: starter ---
    const registry = new CircuitBreakerRegistry({ logger: traceContextLogger(jsonLineLogger()) });
    const telemetry = await startTelemetry({
      serviceName: 'demo-agent',
      prometheus: { port: 0 },
      instrumentations: [new CircuitBreakerInstrumentation({ registry })],
    });

    const breaker = registry.getBreaker('external_api', { failureThreshold: 5, timeoutMs: 5_000 });
    const data = await breaker.execute(async ({ signal }) => {
      signal.throwIfAborted();
      return { ok: true };
    });
    // --- end ---
    try {
      expect(data).toEqual({ ok: true });
      expect(telemetry.prometheusUrl).toMatch(/^http:\/\/(127\.0\.0\.1|\[::1\]):\d+\/metrics$/);
      const text = await (await fetch(telemetry.prometheusUrl!)).text();
      expect(text).toMatch(/^phlow_circuit_breaker_call_duration_count\{name="external_api",outcome="success",.*\} 1$/m);
    } finally {
      await telemetry.shutdown();
    }
  });

  it('Usage: /metrics on the app\'s own server', async () => {
    // --- README: metrics handler ---
    const reader = createPrometheusMetricsReader();
    const sdk = new NodeSDK({
      serviceName: 'checkout',
      metricReaders: [reader],
      instrumentations: [new CircuitBreakerInstrumentation()],
      // (not in the README: no spans or logs to a collector that is not here)
      spanProcessors: [],
      logRecordProcessors: [],
    });
    sdk.start();

    const metricsHandler = prometheusMetricsHandler(reader);
    const server = createServer((request, response) => {
      if (request.url === '/metrics') return metricsHandler(request, response);
      response.writeHead(404).end();
    });
    // --- end ---
    try {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      const response = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(response.status).toBe(200);
      expect(await response.text()).toMatch(/^target_info\{service_name="checkout",/m);
      expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
    } finally {
      server.close();
      for (const instrumentation of sdkInstrumentations(sdk)) instrumentation.disable();
      await sdk.shutdown();
      metrics.disable();
      trace.disable();
      context.disable();
      propagation.disable();
    }
  });

  it('Adapters: withBreakerSpan', async () => {
    const registry = new CircuitBreakerRegistry({ logger: false });
    const fetchProfile = async (_id: string, _signal: AbortSignal) => ({ id: 'u1' });
    // --- README: adapters ---
    const tracer = trace.getTracer('@phlow/supabase');
    const breaker = registry.getBreaker('supabase');
    const profile = await withBreakerSpan(
      tracer,
      breaker,
      'select profiles',
      ({ signal }) => fetchProfile('u1', signal),
      { attributes: { 'db.system.name': 'postgresql' } },
    );
    // --- end ---
    expect(profile).toEqual({ id: 'u1' });
  });

  it('VERSION matches package.json', async () => {
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
  });

  // Last in this file: the example's producer is unscoped and stays live for the rest of the file.
  it('Call durations: your own SDK set-up registers the producer', async () => {
    const registry = new CircuitBreakerRegistry({ logger: false });
    // The exporter (0.301) listens on its default port, 9464, whatever the environment says; this test reads the
    // same text through the exporter's request handler on a free port instead, so a busy 9464 cannot fail it.
    const server = createServer((request, response) => exporter.getMetricsRequestHandler(request, response));
    // --- README: own SDK ---
    const exporter = new PrometheusExporter({ metricProducers: [new CircuitBreakerMetricProducer()] });
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [exporter] }));
    const instrumentation = instrumentCircuitBreakers(registry);
    // --- end ---
    try {
      expect(instrumentation.callDurations).toBe('producer');
      await registry.getBreaker('external_api').execute(() => 'ok');
      const port = await freePort();
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(text).toMatch(/^phlow_circuit_breaker_call_duration_count\{name="external_api",outcome="success",otel_scope_name="@phlow\/otel",otel_scope_version="[^"]+"\} 1$/m);
    } finally {
      instrumentation.dispose();
      server.close();
      await exporter.shutdown();
      metrics.disable();
    }
  });
});

/** NodeSDK.shutdown leaves its instrumentations enabled: the tests disable them (NodeSDK keeps the list private). */
function sdkInstrumentations(sdk: NodeSDK): Array<{ disable(): void }> {
  return (sdk as unknown as { _instrumentations: Array<{ disable(): void }> })._instrumentations;
}
