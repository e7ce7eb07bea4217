import { createServer as createHttp2Server, type Http2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { trace } from '@opentelemetry/api';
import { CircuitBreakerRegistry, ManualClock } from '@phlow/circuit-breaker';
import { describe, expect, it } from 'vitest';
import { withBreakerSpan } from '../breaker-span.js';
import { CircuitBreakerInstrumentation } from '../circuit-breaker-instrumentation.js';
import { cleanupAfterEach, settle, withEnv } from '../test-support.test-util.js';
import { attributes, decode, startHttpSink, type Received } from './otlp-sink.test-util.js';
import { startTelemetry } from './start-telemetry.js';

const cleanups = cleanupAfterEach();

/**
 * An OTLP/gRPC receiver on loopback (HTTP/2 without TLS, as gRPC's insecure channel speaks): keeps each
 * call's method path and its message (the gRPC frame's 5-byte prefix removed), answers an empty response.
 */
async function startGrpcSink(): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const server: Http2Server = createHttp2Server();
  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      const frame = Buffer.concat(chunks);
      expect(frame[0]).toBe(0); // not compressed
      received.push({ path: String(headers[':path']), contentType: headers['content-type'], body: frame.subarray(5, 5 + frame.readUInt32BE(1)) });
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(Buffer.from([0, 0, 0, 0, 0])); // an empty Export*ServiceResponse
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(() => resolve(undefined))));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

/** Starts telemetry with OTLP for both signals, makes one successful and one failing breaker call in spans, flushes. */
async function exportOnce(): Promise<void> {
  const registry = new CircuitBreakerRegistry({ clock: new ManualClock(), logger: false });
  const telemetry = await startTelemetry({
    serviceName: 'protocol-check',
    instrumentations: [new CircuitBreakerInstrumentation({ registry })],
  });
  try {
    const tracer = trace.getTracer('test');
    const breaker = registry.getBreaker('ledger');
    await withBreakerSpan(tracer, breaker, 'post ledger', () => 'ok');
    await settle(withBreakerSpan(tracer, breaker, 'post ledger', () => Promise.reject(new Error('503'))));
    await telemetry.meterProvider!.forceFlush();
    await telemetry.tracerProvider.forceFlush();
  } finally {
    await telemetry.shutdown();
  }
}

describe('OTLP protocols per OTEL_EXPORTER_OTLP_PROTOCOL (real exporters, receivers decoding the official protos)', () => {
  it('uses http/protobuf when no protocol is set, as the spec says', async () => {
    const sink = await startHttpSink(cleanups);
    withEnv(cleanups, { OTEL_METRICS_EXPORTER: 'otlp', OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_METRIC_EXPORT_INTERVAL: '3600000' });
    delete process.env.OTEL_EXPORTER_OTLP_PROTOCOL;
    await exportOnce();
    expect(new Set(sink.received.map((r) => r.contentType))).toEqual(new Set(['application/x-protobuf']));
    const decoded = decode(sink.received, '/v1/metrics', '/v1/traces');
    expect(decoded.serviceName).toBe('protocol-check');
    expect(decoded.metricNames).toEqual(expect.arrayContaining(['phlow.circuit_breaker.calls', 'phlow.circuit_breaker.call.duration']));
    expect(decoded.calls).toMatchObject({ success: 1, failure: 1 });
    expect(decoded.spanNames).toEqual(['post ledger', 'post ledger']);
  });

  it('uses gRPC with OTEL_EXPORTER_OTLP_PROTOCOL=grpc', async () => {
    const sink = await startGrpcSink();
    withEnv(cleanups, {
      OTEL_METRICS_EXPORTER: 'otlp',
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_METRIC_EXPORT_INTERVAL: '3600000',
    });
    await exportOnce();
    expect(new Set(sink.received.map((r) => r.contentType))).toEqual(new Set(['application/grpc']));
    const decoded = decode(
      sink.received,
      '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
      '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
    );
    expect(decoded.serviceName).toBe('protocol-check');
    expect(decoded.calls).toMatchObject({ success: 1, failure: 1 });
    expect(decoded.spanNames).toEqual(['post ledger', 'post ledger']);
  });

  it('lets the signal-specific variable win: metrics over http/json while traces stay on http/protobuf', async () => {
    const sink = await startHttpSink(cleanups);
    withEnv(cleanups, {
      OTEL_METRICS_EXPORTER: 'otlp',
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
      OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/json',
      OTEL_METRIC_EXPORT_INTERVAL: '3600000',
    });
    await exportOnce();
    const byPath = (path: string) => new Set(sink.received.filter((r) => r.path === path).map((r) => r.contentType));
    expect(byPath('/v1/metrics')).toEqual(new Set(['application/json']));
    expect(byPath('/v1/traces')).toEqual(new Set(['application/x-protobuf']));
    const json = JSON.parse(sink.received.find((r) => r.path === '/v1/metrics')!.body.toString('utf8'));
    expect(attributes(json.resourceMetrics[0].resource.attributes)['service.name']).toBe('protocol-check');
  });
});
