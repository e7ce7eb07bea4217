// The README's examples, kept here so they compile (typecheck) and run. Keep the two in step.
import { metrics, trace } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { CircuitBreakerRegistry, jsonLineLogger } from '@phlow/circuit-breaker';
import { freePort } from '@phlow/test-helpers';
import { describe, expect, it } from 'vitest';
import { instrumentCircuitBreakers, traceContextLogger, withBreakerSpan } from './index.js';
import { CircuitBreakerMetricProducer, startTelemetry } from './sdk/index.js';
import { VERSION } from './version.js';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';

describe('README examples', () => {
  it('Usage: start the SDK, instrument the registry, shut down', async () => {
    // --- README: usage ---
    const telemetry = await startTelemetry({ serviceName: 'demo-agent', prometheus: { port: 0 } });
    const registry = new CircuitBreakerRegistry({ logger: traceContextLogger(jsonLineLogger()) });
    const instrumentation = instrumentCircuitBreakers(registry);

    const breaker = registry.getBreaker('external_api', { failureThreshold: 5, timeoutMs: 5_000 });
    const data = await breaker.execute(async ({ signal }) => {
      signal.throwIfAborted();
      return { ok: true };
    });

    // on shutdown
    instrumentation.dispose();
    await telemetry.shutdown();
    // --- end ---
    expect(data).toEqual({ ok: true });
    expect(telemetry.prometheusUrl).toMatch(/^http:\/\/(127\.0\.0\.1|\[::1\]):\d+\/metrics$/);
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

