/**
 * With OTEL_EXPORTER_OTLP_ENDPOINT set, the demo exports its breaker metrics and the adapters' spans
 * over OTLP/HTTP (JSON), besides serving /metrics. The collector here is a plain HTTP sink on loopback.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor } from '@phlow/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type DemoProcess } from './demo-process.js';

const received: { path: string; body: string }[] = [];
let sink: Server;
let demo: DemoProcess;

beforeAll(async () => {
  sink = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const { port } = sink.address() as AddressInfo;
  demo = await startDemo({
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_METRIC_EXPORT_INTERVAL: '500',
    OTEL_BSP_SCHEDULE_DELAY: '200',
  });
});
afterAll(async () => {
  await demo?.stop();
  sink?.closeAllConnections();
  await new Promise<void>((resolve) => sink?.close(() => resolve()));
});

describe('OTLP export', () => {
  it('sends the breaker metrics and the relay path\'s spans to the collector', async () => {
    const response = await fetch(`${demo.url}/relay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ to: 'gamma', text: 'traced' }) });
    expect(response.status).toBe(200);
    const metrics = await waitFor('OTLP metrics', () => received.find((r) => r.path === '/v1/metrics' && r.body.includes('phlow.circuit_breaker.state')), { timeoutMs: 20_000 });
    expect(metrics.body).toContain('phlow.circuit_breaker.failures');
    expect(metrics.body).toContain('phlow-demo-agent');
    const traces = await waitFor(
      'OTLP spans of the relay (A2A call and DID resolution)',
      () => {
        const bodies = received.filter((r) => r.path === '/v1/traces').map((r) => r.body).join('\n');
        return bodies.includes('a2a SendMessage') && bodies.includes('resolve did:web') && bodies.includes('"relay"') && bodies;
      },
      { timeoutMs: 20_000 },
    );
    expect(traces).toContain('phlow.circuit_breaker.name');
    // The relay span holds the adapters' spans: one trace per relayed message.
    const spans = received
      .filter((r) => r.path === '/v1/traces')
      .flatMap((r) => (JSON.parse(r.body) as { resourceSpans: { scopeSpans: { spans: { name: string; traceId: string; spanId: string; parentSpanId?: string }[] }[] }[] }).resourceSpans)
      .flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
    const root = spans.find((s) => s.name === 'relay')!;
    const send = spans.find((s) => s.name === 'a2a SendMessage' && s.traceId === root.traceId);
    expect(send?.parentSpanId).toBe(root.spanId);
    // The /metrics endpoint keeps working beside OTLP.
    expect(await (await fetch(`${demo.url}/metrics`)).text()).toContain('phlow_circuit_breaker_state');
  });
});
