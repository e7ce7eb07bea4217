import { createServer, type Server } from 'node:http';
import { createServer as createHttp2Server, type Http2Server } from 'node:http2';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { trace } from '@opentelemetry/api';
import { CircuitBreakerRegistry, ManualClock } from '@phlow/circuit-breaker';
import { describe, expect, it } from 'vitest';
import { withBreakerSpan } from '../breaker-span.js';
import { CircuitBreakerInstrumentation } from '../circuit-breaker-instrumentation.js';
import { cleanupAfterEach, settle, withEnv } from '../test-support.test-util.js';
import { startTelemetry } from './start-telemetry.js';

// The official OTLP messages, generated from opentelemetry-proto by OpenTelemetry JS with protobufjs: shipped in
// @opentelemetry/otlp-transformer until its exporters moved to a hand-written encoder (0.211 is the last with all
// three services), installed under an alias as a devDependency. The sinks decode with them, no hand parsing.
const proto = createRequire(import.meta.url)('otlp-proto-definitions/build/src/generated/root.js').opentelemetry.proto;
const MetricsRequest = proto.collector.metrics.v1.ExportMetricsServiceRequest;
const TraceRequest = proto.collector.trace.v1.ExportTraceServiceRequest;
const asObject = { longs: String, enums: Number, bytes: String, defaults: false } as const;

interface Received {
  readonly path: string;
  readonly contentType: string | undefined;
  readonly body: Buffer;
}

const cleanups = cleanupAfterEach();


/** An OTLP/HTTP receiver on loopback: keeps each request's path, content type and raw body. */
async function startHttpSink(): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ path: request.url ?? '', contentType: request.headers['content-type'], body: Buffer.concat(chunks) });
      response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

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

function attributes(list: Array<{ key: string; value: Record<string, unknown> }>): Record<string, unknown> {
  return Object.fromEntries(list.map(({ key, value }) => [key, Object.values(value)[0]]));
}

/** What a receiver decoded: the service name, our metric names and call counts, and the span names. */
function decode(received: Received[], metricsPath: string, tracesPath: string) {
  const metricRequests = received.filter((r) => r.path === metricsPath).map((r) => MetricsRequest.toObject(MetricsRequest.decode(r.body), asObject));
  const traceRequests = received.filter((r) => r.path === tracesPath).map((r) => TraceRequest.toObject(TraceRequest.decode(r.body), asObject));
  const last = metricRequests.at(-1)!.resourceMetrics[0];
  const ours = last.scopeMetrics.filter((s: any) => s.scope.name === '@phlow/otel').flatMap((s: any) => s.metrics);
  const calls = ours.find((m: any) => m.name === 'phlow.circuit_breaker.calls');
  return {
    serviceName: attributes(last.resource.attributes)['service.name'],
    metricNames: ours.map((m: any) => m.name),
    calls: Object.fromEntries(calls.sum.dataPoints.map((p: any) => [attributes(p.attributes)['outcome'], Number(p.asInt ?? p.asDouble)])),
    spanNames: traceRequests.flatMap((r: any) => r.resourceSpans.flatMap((rs: any) => rs.scopeSpans.flatMap((ss: any) => ss.spans.map((s: any) => s.name)))),
  };
}

describe('OTLP protocols per OTEL_EXPORTER_OTLP_PROTOCOL (real exporters, receivers decoding the official protos)', () => {
  it('uses http/protobuf when no protocol is set, as the spec says', async () => {
    const sink = await startHttpSink();
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
    const sink = await startHttpSink();
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
