import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';

// The official OTLP messages, generated from opentelemetry-proto by OpenTelemetry JS with protobufjs: shipped in
// @opentelemetry/otlp-transformer until its exporters moved to a hand-written encoder (0.211 is the last with all
// three services), installed under an alias as a devDependency. The sinks decode with them, no hand parsing.
export const proto = createRequire(import.meta.url)('otlp-proto-definitions/build/src/generated/root.js').opentelemetry.proto;
export const MetricsRequest = proto.collector.metrics.v1.ExportMetricsServiceRequest;
export const TraceRequest = proto.collector.trace.v1.ExportTraceServiceRequest;
const asObject = { longs: String, enums: Number, bytes: String, defaults: false } as const;

export interface Received {
  readonly path: string;
  readonly contentType: string | undefined;
  readonly body: Buffer;
}

/** An OTLP/HTTP receiver on loopback: keeps each request's path, content type and raw body; `cleanups` closes it. */
export async function startHttpSink(cleanups: Array<() => unknown>): Promise<{ url: string; received: Received[] }> {
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

export function attributes(list: Array<{ key: string; value: Record<string, unknown> }>): Record<string, unknown> {
  return Object.fromEntries(list.map(({ key, value }) => [key, Object.values(value)[0]]));
}

/**
 * What a receiver decoded: the service name, our metric names, call counts by outcome and duration-histogram
 * counts by outcome (last export), and the span names.
 */
export function decode(received: Received[], metricsPath: string, tracesPath: string) {
  const metricRequests = received.filter((r) => r.path === metricsPath).map((r) => MetricsRequest.toObject(MetricsRequest.decode(r.body), asObject));
  const traceRequests = received.filter((r) => r.path === tracesPath).map((r) => TraceRequest.toObject(TraceRequest.decode(r.body), asObject));
  const last = metricRequests.at(-1)!.resourceMetrics[0];
  const ours = last.scopeMetrics.filter((s: any) => s.scope.name === '@phlow/otel').flatMap((s: any) => s.metrics);
  const calls = ours.find((m: any) => m.name === 'phlow.circuit_breaker.calls');
  const durations = ours.find((m: any) => m.name === 'phlow.circuit_breaker.call.duration');
  return {
    serviceName: attributes(last.resource.attributes)['service.name'],
    metricNames: ours.map((m: any) => m.name),
    calls: Object.fromEntries(calls.sum.dataPoints.map((p: any) => [attributes(p.attributes)['outcome'], Number(p.asInt ?? p.asDouble)])),
    durationCounts: Object.fromEntries(
      (durations?.histogram.dataPoints ?? []).map((p: any) => [attributes(p.attributes)['outcome'], Number(p.count)]),
    ),
    spanNames: traceRequests.flatMap((r: any) => r.resourceSpans.flatMap((rs: any) => rs.scopeSpans.flatMap((ss: any) => ss.spans.map((s: any) => s.name)))),
  };
}
