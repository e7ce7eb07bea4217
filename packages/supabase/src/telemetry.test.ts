import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { DataPointType, MeterProvider, MetricReader, type MetricData } from '@opentelemetry/sdk-metrics';
import { TracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { instrumentCircuitBreakers } from '@phlow/otel';
import {
  ATTR_DB_COLLECTION_NAME,
  ATTR_DB_NAMESPACE,
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_RESPONSE_STATUS_CODE,
  ATTR_DB_SYSTEM_NAME,
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_REQUEST_RESEND_COUNT,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
} from '@opentelemetry/semantic-conventions';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ATTR_OUTCOME, ATTR_SERVICE, INSTRUMENTATION_SCOPE, VERSION } from './index.js';
import { Project, projectForFile } from './test-setup.test-util.js';

class CollectingReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
  async metrics(): Promise<Map<string, MetricData>> {
    const { resourceMetrics } = await this.collect();
    const out = new Map<string, MetricData>();
    for (const scope of resourceMetrics.scopeMetrics) for (const metric of scope.metrics) out.set(metric.descriptor.name, metric);
    return out;
  }
}

/** Points of a sum or gauge as `"k=v,k=v" → value`. */
function points(metric: MetricData | undefined): Record<string, number> {
  if (metric === undefined || metric.dataPointType === DataPointType.HISTOGRAM) throw new Error('no such sum or gauge');
  const out: Record<string, number> = {};
  for (const point of metric.dataPoints) {
    const key = Object.keys(point.attributes).sort().map((k) => `${k}=${String(point.attributes[k])}`).join(',');
    out[key] = point.value as number;
  }
  return out;
}

const project = projectForFile(new Project());
const exporter = new InMemorySpanExporter();
const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});
afterAll(async () => {
  context.disable();
  await tracerProvider.shutdown();
});
afterEach(() => exporter.reset());

function spans(name: string): ReadableSpan[] {
  return exporter.getFinishedSpans().filter((span) => span.name === name);
}

describe('spans', () => {
  it('one CLIENT span per request, named {operation} {target}, with database and HTTP attributes', async () => {
    const { supabase, proxy } = await project.client({ tracerProvider });
    const parent = tracerProvider.getTracer('agent').startSpan('plan');
    await context.with(trace.setSpan(context.active(), parent), async () => {
      await supabase.from('agents').select('id');
      await supabase.from('agents').insert({ id: 'a3', name: 'Cy' });
      await supabase.from('agents').upsert({ id: 'a3', name: 'Cy' });
      await supabase.from('agents').update({ score: 1 }).eq('id', 'a3');
      await supabase.from('agents').delete().eq('id', 'a3');
    });
    parent.end();
    expect(exporter.getFinishedSpans().map((span) => span.name)).toEqual([
      'select agents',
      'insert agents',
      'upsert agents',
      'update agents',
      'delete agents',
      'plan',
    ]);
    const [select] = spans('select agents');
    expect(select!.kind).toBe(SpanKind.CLIENT);
    expect(select!.instrumentationScope).toMatchObject({ name: INSTRUMENTATION_SCOPE, version: VERSION });
    expect(select!.attributes).toEqual({
      [ATTR_SERVICE]: 'rest',
      [ATTR_HTTP_REQUEST_METHOD]: 'GET',
      [ATTR_SERVER_ADDRESS]: '127.0.0.1',
      [ATTR_SERVER_PORT]: proxy.port,
      [ATTR_DB_SYSTEM_NAME]: 'postgresql',
      [ATTR_DB_NAMESPACE]: 'public',
      [ATTR_DB_OPERATION_NAME]: 'select',
      [ATTR_DB_COLLECTION_NAME]: 'agents',
      [ATTR_HTTP_RESPONSE_STATUS_CODE]: 200,
      [ATTR_OUTCOME]: 'success',
      'phlow.circuit_breaker.name': 'supabase/rest',
      'phlow.circuit_breaker.state': 'closed',
    });
    expect(select!.status.code).toBe(SpanStatusCode.UNSET);
    expect(select!.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    expect(spans('delete agents')[0]!.attributes[ATTR_HTTP_RESPONSE_STATUS_CODE]).toBe(204);
  });

  it('a PostgREST error: status ERROR, error.type the HTTP status, db.response.status_code the SQLSTATE, outcome success', async () => {
    const { supabase } = await project.client({ tracerProvider });
    await supabase.from('agents').insert({ id: 'a1', name: 'dup' });
    const [span] = spans('insert agents');
    expect(span!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'duplicate key value violates unique constraint "agents_pkey"' });
    expect(span!.attributes).toMatchObject({
      [ATTR_HTTP_RESPONSE_STATUS_CODE]: 409,
      [ATTR_ERROR_TYPE]: '409',
      [ATTR_DB_RESPONSE_STATUS_CODE]: '23505',
      [ATTR_OUTCOME]: 'success',
    });
  });

  it('failures, retries, a refused connection, a rejection and a timeout', async () => {
    const { supabase, proxy } = await project.client({ tracerProvider, breaker: { timeoutMs: 150, clock: undefined } });
    await proxy.setFaults({ errorStatus: { status: 503, headers: { 'retry-after': '0' } } });
    await supabase.from('agents').select('id');
    const reads = spans('select agents');
    expect(reads.map((span) => [span.attributes[ATTR_HTTP_REQUEST_RESEND_COUNT], span.attributes[ATTR_OUTCOME]])).toEqual([
      [undefined, 'failure'],
      [1, 'ignored'],
      [2, 'ignored'],
      [3, 'ignored'],
    ]);
    expect(reads[0]!.attributes).toMatchObject({ [ATTR_ERROR_TYPE]: '503', [ATTR_DB_NAMESPACE]: 'public' });
    expect(reads[0]!.status.code).toBe(SpanStatusCode.ERROR);

    await proxy.setFaults({ refuse: true });
    await supabase.from('agents').insert({ id: 'r', name: 'R' });
    const [refused] = spans('insert agents');
    expect(refused!.attributes).toMatchObject({ [ATTR_OUTCOME]: 'failure', [ATTR_ERROR_TYPE]: 'ECONNREFUSED' });
    expect(refused!.events.map((event) => event.name)).toEqual(['exception']);

    await proxy.setFaults({ blackHole: true });
    await supabase.from('agents').update({ score: 0 }).eq('id', 'a1');
    const [timedOut] = spans('update agents');
    expect(timedOut!.attributes).toMatchObject({ [ATTR_ERROR_TYPE]: 'CircuitTimeoutError', 'phlow.circuit_breaker.state': 'closed' });
    expect(timedOut!.events.map((event) => event.name)).toContain('phlow.circuit_breaker.timeout');

    const rejected = await supabase.from('agents').delete().eq('id', 'a1');
    expect(rejected.status).toBe(529);
    const [rejection] = spans('delete agents');
    expect(rejection!.attributes).toMatchObject({
      [ATTR_ERROR_TYPE]: 'CircuitOpenError',
      'phlow.circuit_breaker.state': 'open',
      [ATTR_SERVICE]: 'rest',
      [ATTR_DB_OPERATION_NAME]: 'delete',
      [ATTR_DB_COLLECTION_NAME]: 'agents',
    });
    expect(rejection!.attributes[ATTR_HTTP_RESPONSE_STATUS_CODE]).toBeUndefined();
    expect(rejection!.events.map((event) => event.name)).toEqual(['phlow.circuit_breaker.rejected']);
    expect(rejection!.status.code).toBe(SpanStatusCode.ERROR);
  });

  it("with supabase-js's tracePropagation, the request's traceparent names this span, not the caller's", async () => {
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    try {
      // supabase-js's tracePropagation imports @opentelemetry/api from its own location, which pnpm's strict
      // layout does not allow here; the header it would write (the caller's span) is set by hand instead.
      const caller = tracerProvider.getTracer('agent').startSpan('caller');
      const stale = `00-${caller.spanContext().traceId}-${caller.spanContext().spanId}-01`;
      caller.end();
      const { supabase, proxy } = await project.client({ tracerProvider }, { global: { headers: { traceparent: stale } } });
      const sent: string[] = [];
      proxy.onRequest((event) => sent.push(String(event.headers['traceparent'])));
      const parent = tracerProvider.getTracer('agent').startSpan('plan');
      await context.with(trace.setSpan(context.active(), parent), async () => {
        await supabase.from('agents').select('id');
      });
      parent.end();
      const [select] = spans('select agents');
      expect(sent).toEqual([`00-${parent.spanContext().traceId}-${select!.spanContext().spanId}-01`]);
    } finally {
      propagation.disable();
    }
  });

  it("a caller's abort is not an error", async () => {
    const { supabase, proxy } = await project.client({ tracerProvider, breaker: { clock: undefined } });
    await proxy.setFaults({ blackHole: true });
    await supabase.from('agents').select('id').abortSignal(AbortSignal.abort()).retry(false);
    const [span] = spans('select agents');
    expect(span!.status.code).toBe(SpanStatusCode.UNSET);
    expect(span!.events).toEqual([]);
  });
});

describe('metrics (from @phlow/otel, labelled with the member name, family/key)', () => {
  it('state, failures and calls by outcome for the supabase breaker', async () => {
    const reader = new CollectingReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    const { supabase, proxy, registry } = await project.client();
    const instrumentation = instrumentCircuitBreakers(registry, { meterProvider });
    try {
      await supabase.from('agents').select('id');
      await supabase.from('agents').insert({ id: 'a1', name: 'dup' }); // 409: a success for the breaker
      await proxy.setFaults({ errorStatus: { status: 500 } });
      for (let i = 0; i < 3; i++) await supabase.from('agents').select('id');
      await supabase.from('agents').select('id'); // rejected
      const metrics = await reader.metrics();
      const seen = Object.fromEntries(
        ['state', 'failures', 'calls', 'transitions'].map((name) => [name, points(metrics.get(`phlow.circuit_breaker.${name}`))]),
      );
      // The REST API's breaker, a member of the project's family, reports under its full name.
      expect(seen).toMatchObject({
        state: { 'name=supabase/rest,state=open': 1, 'name=supabase/rest,state=closed': 0 },
        failures: { 'name=supabase/rest': 3 },
        calls: { 'name=supabase/rest,outcome=success': 2, 'name=supabase/rest,outcome=failure': 3, 'name=supabase/rest,outcome=rejected': 1 },
        transitions: { 'from=closed,name=supabase/rest,to=open': 1 },
      });
      expect(Object.keys(seen['failures']!)).toEqual(['name=supabase/rest']);
    } finally {
      instrumentation.dispose();
      await meterProvider.shutdown();
    }
  });
});
