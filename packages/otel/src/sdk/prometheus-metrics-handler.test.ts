import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CircuitBreakerRegistry, ManualClock } from '@phlow/circuit-breaker';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { CircuitBreakerInstrumentation } from '../circuit-breaker-instrumentation.js';
import { cleanupAfterEach, settle, startNodeSdk } from '../test-support.test-util.js';
import { createPrometheusMetricsReader, prometheusMetricsHandler } from './prometheus-metrics-handler.js';
import { startTelemetry } from './start-telemetry.js';

const cleanups = cleanupAfterEach();

/** The README's set-up: NodeSDK with our reader and instrumentation; a breaker opened by three 30 ms failures. */
async function appWithOpenBreaker(): Promise<ReturnType<typeof createPrometheusMetricsReader>> {
  const reader = createPrometheusMetricsReader();
  const registry = new CircuitBreakerRegistry({ clock: new ManualClock(), logger: false, failureThreshold: 3 });
  const instrumentation = new CircuitBreakerInstrumentation({ registry });
  startNodeSdk(cleanups, reader, instrumentation);
  expect(instrumentation.callDurations).toBe('producer'); // the reader's producer carries the histogram
  const breaker = registry.getBreaker('payments');
  const clock = breaker.options.clock as ManualClock;
  for (let i = 0; i < 3; i++) {
    await settle(
      breaker.execute(async () => {
        clock.advance(30);
        throw new Error('503');
      }),
    );
  }
  return reader;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function expectBreakerMetrics(text: string): void {
  const lines = text.split('\n');
  expect(lines).toContainEqual(expect.stringMatching(/^phlow_circuit_breaker_state\{name="payments",state="open",.*\} 1$/));
  expect(lines).toContainEqual(expect.stringMatching(/^phlow_circuit_breaker_failures_total\{name="payments",.*\} 3$/));
  expect(lines).toContainEqual(expect.stringMatching(/^phlow_circuit_breaker_call_duration_count\{name="payments",outcome="failure",.*\} 3$/));
}

describe('prometheusMetricsHandler on the app’s own server', () => {
  it('serves the meter provider’s metrics on a node:http server, next to the app’s routes', async () => {
    const handler = prometheusMetricsHandler(await appWithOpenBreaker());
    const base = await listen(
      createServer((request, response) => {
        if (request.url === '/metrics') return handler(request, response);
        response.writeHead(200, { 'content-type': 'text/plain' }).end('app');
      }),
    );
    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    expectBreakerMetrics(await response.text());
    expect(await (await fetch(`${base}/`)).text()).toBe('app');
    const post = await fetch(`${base}/metrics`, { method: 'POST' });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
  });

  it('serves them as an Express route', async () => {
    const app = express();
    app.get('/metrics', prometheusMetricsHandler(await appWithOpenBreaker()));
    app.get('/health', (_request, response) => void response.json({ ok: true }));
    const base = await listen(createServer(app));
    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(200);
    expectBreakerMetrics(await response.text());
    expect(await (await fetch(`${base}/health`)).json()).toEqual({ ok: true });
  });

  it('is what startTelemetry hands out, with no scrape server of its own when port is false', async () => {
    await using telemetry = await startTelemetry({ prometheus: { port: false } });
    expect(telemetry.prometheusUrl).toBeUndefined();
    const base = await listen(createServer(telemetry.metricsHandler!));
    const registry = new CircuitBreakerRegistry({ logger: false });
    using _instrumentation = new CircuitBreakerInstrumentation({ registry }); // on startTelemetry's global meter provider
    await registry.getBreaker('inventory').execute(async () => 1);
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/^phlow_circuit_breaker_calls_total\{name="inventory",outcome="success",.*\} 1$/m);
  });

  it('refuses something that is not a PrometheusExporter', () => {
    expect(() => prometheusMetricsHandler({} as never)).toThrow(
      'prometheusMetricsHandler needs a PrometheusExporter (@opentelemetry/exporter-prometheus); got an object',
    );
  });
});
