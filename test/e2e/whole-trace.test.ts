/**
 * One relay is one trace. The demo runs as `pnpm demo` runs it (NodeSDK started by `--import`, with the
 * http, express and undici instrumentations), exporting spans over OTLP http/protobuf (the default) to a
 * receiver on loopback that decodes them with the official OTLP messages. One relay over A2A JSON-RPC must
 * give one tree: the inbound server span → `relay` → Supabase (the adapter's span and undici's client
 * span) → DID resolution → `a2a SendMessage` → undici's client span (traceparent) → the peer's server span
 * (the embedded peers run in the demo's process, under the same SDK).
 */
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { ClientFactory, JsonRpcTransportFactory } from '@a2a-js/sdk/client';
import { waitFor } from '@phlow/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type DemoProcess } from './demo-process.js';
import { relay } from './helpers.js';

// The official OTLP messages, generated from opentelemetry-proto by OpenTelemetry JS with protobufjs (the last
// @opentelemetry/otlp-transformer that shipped them, 0.211, installed as @phlow/otel's devDependency alias
// `otlp-proto-definitions`; resolved from there, as packages/otel/src/sdk/otlp-protocols.test.ts uses it).
const otelPackage = new URL('../../packages/otel/package.json', import.meta.url);
const proto = createRequire(otelPackage)('otlp-proto-definitions/build/src/generated/root.js').opentelemetry.proto;
const TraceRequest = proto.collector.trace.v1.ExportTraceServiceRequest;
const SPAN_KIND = { server: 2, client: 3 } as const;

interface Span {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly kind: number;
  readonly scope: string;
  readonly attributes: Record<string, unknown>;
}

const bodies: { contentType: string | undefined; body: Buffer }[] = [];
let receiver: Server;
let demo: DemoProcess;

beforeAll(async () => {
  receiver = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.url === '/v1/traces') bodies.push({ contentType: request.headers['content-type'], body: Buffer.concat(chunks) });
      response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  demo = await startDemo({
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`,
    OTEL_EXPORTER_OTLP_PROTOCOL: '', // unset: http/protobuf, the default
    OTEL_METRICS_EXPORTER: 'prometheus',
    OTEL_BSP_SCHEDULE_DELAY: '100',
  });
});
afterAll(async () => {
  await demo?.stop();
  receiver?.closeAllConnections();
  await new Promise<void>((resolve) => receiver?.close(() => resolve()));
});

function receivedSpans(): Span[] {
  const asObject = { longs: String, enums: Number, bytes: String, defaults: false } as const;
  return bodies.flatMap(({ body }) =>
    TraceRequest.toObject(TraceRequest.decode(body), asObject).resourceSpans.flatMap((rs: any) =>
      rs.scopeSpans.flatMap((ss: any) =>
        ss.spans.map((s: any) => ({
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId || undefined,
          name: s.name,
          kind: s.kind,
          scope: ss.scope.name,
          attributes: Object.fromEntries((s.attributes ?? []).map((a: any) => [a.key, Object.values(a.value)[0]])),
        })),
      ),
    ),
  );
}

const describeSpans = (spans: readonly Span[]) => spans.map((s) => `${s.scope} ${s.name} kind=${s.kind} ${s.spanId}<-${s.parentSpanId ?? 'root'}`).join('\n');

/** Relays `text` to gamma (known only by its DID: registry miss, DID resolution, A2A call, recorded) and returns its trace. */
async function relayOnce(text: string): Promise<Span[]> {
  const client = await new ClientFactory({ transports: [new JsonRpcTransportFactory()] }).createFromUrl(demo.url);
  const answer = await relay(client, 'gamma', text);
  expect(answer.relay).toMatchObject({ ok: true, via: 'did' });
  // Spans are exported in the order they end, and `upsert messages` (the outbox's insert-ignore-duplicates) ends after every other span of the relay but the
  // inbound ones: once it is in, the rest of the tree below `relay` is too.
  return waitFor(
    `the spans of the relay "${text}" (its inbound server span and \`upsert messages\` among them)`,
    () => {
      const spans = receivedSpans();
      const relays = spans.filter((s) => s.name === 'relay');
      for (const relaySpan of relays) {
        const trace = spans.filter((s) => s.traceId === relaySpan.traceId);
        const inbound = trace.some((s) => s.kind === SPAN_KIND.server && s.parentSpanId === undefined);
        if (inbound && trace.some((s) => s.name === 'upsert messages') && !seen.has(relaySpan.traceId)) {
          seen.add(relaySpan.traceId);
          return trace;
        }
      }
      return undefined;
    },
    { timeoutMs: 20_000 },
  );
}
const seen = new Set<string>();

describe('one relay is one trace (OTLP http/protobuf, decoded with the official protos)', () => {
  it.each(['first', 'second'])('the %s relay: inbound A2A → Supabase → DID → outbound A2A → peer, one tree', async (text) => {
    const trace = await relayOnce(text);
    const byId = new Map(trace.map((s) => [s.spanId, s]));
    const context = `\n${describeSpans(trace)}`;
    expect(new Set(bodies.map((b) => b.contentType)), context).toEqual(new Set(['application/x-protobuf']));

    // One tree: a single root, every other span's parent in the trace.
    const roots = trace.filter((s) => s.parentSpanId === undefined);
    expect(roots, context).toHaveLength(1);
    for (const span of trace) if (span.parentSpanId !== undefined) expect(byId.has(span.parentSpanId), `${span.name}'s parent${context}`).toBe(true);
    const ancestors = (span: Span): Span[] => {
      const chain: Span[] = [];
      for (let p = span.parentSpanId && byId.get(span.parentSpanId); p; p = p.parentSpanId && byId.get(p.parentSpanId)) chain.push(p);
      return chain;
    };
    const under = (span: Span, ancestor: Span) => ancestors(span).includes(ancestor);
    const one = (predicate: (s: Span) => boolean, what: string) => {
      const found = trace.filter(predicate);
      expect(found.length, `${what}${context}`).toBeGreaterThanOrEqual(1);
      return found[0]!;
    };

    // The root is the inbound A2A request, a server span of the http instrumentation.
    const inbound = roots[0]!;
    expect(inbound, context).toMatchObject({ kind: SPAN_KIND.server, scope: '@opentelemetry/instrumentation-http' });
    expect(String(inbound.attributes['url.path'] ?? inbound.attributes['http.target']), context).toContain('/a2a/jsonrpc');
    const relaySpan = one((s) => s.name === 'relay', 'the relay span');
    expect(under(relaySpan, inbound), context).toBe(true);

    // Supabase: the adapter's span, and undici's client span under it (supabase-js on Node's global fetch).
    const lookup = one((s) => s.name === 'select agent_cards' && s.scope === '@phlow/supabase', 'the Supabase lookup span');
    expect(under(lookup, relaySpan), context).toBe(true);
    one((s) => s.scope === '@opentelemetry/instrumentation-undici' && s.kind === SPAN_KIND.client && under(s, lookup), "undici's client span under the Supabase span");

    // DID resolution.
    // DID resolution and the A2A call go through npm undici 8's fetch (not Node's bundled undici): the undici
    // instrumentation sees it too, as both publish on the same diagnostics channels.
    const did = one((s) => s.name === 'resolve did:web', 'the DID resolution span');
    expect(under(did, relaySpan), context).toBe(true);
    one((s) => s.scope === '@opentelemetry/instrumentation-undici' && s.kind === SPAN_KIND.client && under(s, did), "undici's client span under the DID span");

    // The outbound A2A call, its undici client span, and the peer's server span below it (through the fault proxy).
    const send = one((s) => s.name === 'a2a SendMessage', 'the outbound A2A span');
    expect(under(send, relaySpan), context).toBe(true);
    const outbound = one((s) => s.scope === '@opentelemetry/instrumentation-undici' && s.kind === SPAN_KIND.client && under(s, send), "undici's client span of the A2A call");
    one((s) => s.kind === SPAN_KIND.server && s !== inbound && under(s, outbound), "the peer's server span under the outbound call");
  });
});
