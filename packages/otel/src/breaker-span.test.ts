import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { TracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { CircuitBreakerRegistry, ManualClock, type CircuitLogEntry } from '@phlow/circuit-breaker';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { recordBreakerError, withBreakerSpan } from './breaker-span.js';
import { instrumentCircuitBreakers } from './instrument-circuit-breakers.js';
import { settle } from './test-support.test-util.js';
import { traceContextLogger } from './trace-context-logger.js';

const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
const tracer = provider.getTracer('test');

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});
afterAll(async () => {
  context.disable();
  await provider.shutdown();
});

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  exporter.reset();
});

function setUp(logs: CircuitLogEntry[] = []) {
  const clock = new ManualClock();
  const registry = new CircuitBreakerRegistry({
    clock,
    logger: traceContextLogger((entry) => logs.push(entry)),
    failureThreshold: 1,
    recoveryTimeoutMs: 5_000,
    timeoutMs: 1_000,
  });
  const instrumentation = instrumentCircuitBreakers(registry, { metrics: false });
  cleanups.push(() => instrumentation.dispose());
  return { clock, registry };
}

function finished(name: string): ReadableSpan {
  const spans = exporter.getFinishedSpans().filter((span) => span.name === name);
  expect(spans).toHaveLength(1);
  return spans[0]!;
}

describe('withBreakerSpan', () => {
  it('wraps a successful call in a CLIENT span with the breaker name and state', async () => {
    const { registry } = setUp();
    const breaker = registry.getBreaker('supabase');
    const value = await withBreakerSpan(tracer, breaker, 'select profiles', (_ctx, span) => {
      expect(trace.getActiveSpan()).toBe(span); // fn runs inside the span
      return 42;
    }, { attributes: { 'db.system.name': 'postgresql' } });
    expect(value).toBe(42);
    const span = finished('select profiles');
    expect(span.kind).toBe(SpanKind.CLIENT);
    expect(span.attributes).toEqual({
      'db.system.name': 'postgresql',
      'phlow.circuit_breaker.name': 'supabase',
      'phlow.circuit_breaker.state': 'closed',
    });
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    expect(span.events).toEqual([]);
  });

  it('marks a failure with the exception, ERROR status and error.type', async () => {
    const { registry } = setUp();
    const breaker = registry.getBreaker('supabase');
    const { error } = await settle(withBreakerSpan(tracer, breaker, 'select profiles', () => Promise.reject(new TypeError('fetch failed'))));
    expect(error).toBeInstanceOf(TypeError);
    const span = finished('select profiles');
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'fetch failed' });
    expect(span.attributes['error.type']).toBe('TypeError');
    // the state change the failure caused (registry-level listener, as the breaker settles), then the exception
    expect(span.events.map((event) => event.name)).toEqual(['phlow.circuit_breaker.state_change', 'exception']);
    expect(span.events[0]!.attributes).toEqual({
      'phlow.circuit_breaker.name': 'supabase',
      'phlow.circuit_breaker.from': 'closed',
      'phlow.circuit_breaker.to': 'open',
      'phlow.circuit_breaker.reason': 'failure_threshold',
    });
  });

  it('marks a rejection with one rejected event, ERROR status and error.type CircuitOpenError', async () => {
    const { registry, clock } = setUp();
    const breaker = registry.getBreaker('supabase');
    breaker.forceOpen();
    await settle(withBreakerSpan(tracer, breaker, 'forced', () => 'never'));
    const forced = finished('forced');
    expect(forced.events.map((event) => [event.name, event.attributes])).toEqual([
      ['phlow.circuit_breaker.rejected', { 'phlow.circuit_breaker.state': 'forced_open' }],
    ]);
    breaker.reset();
    await settle(breaker.execute(() => Promise.reject(new Error('down'))));
    clock.advance(2_000);
    let ran = false;
    const { error } = await settle(withBreakerSpan(tracer, breaker, 'rejected', () => (ran = true)));
    expect(ran).toBe(false);
    expect(error).toMatchObject({ name: 'CircuitOpenError' });
    const span = finished('rejected');
    expect(span.attributes).toMatchObject({
      'phlow.circuit_breaker.state': 'open',
      'error.type': 'CircuitOpenError',
    });
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'Circuit breaker supabase is open' });
    // one event, not two: the registry-level listener defers to the breaker span
    expect(span.events.map((event) => [event.name, event.attributes])).toEqual([
      ['phlow.circuit_breaker.rejected', { 'phlow.circuit_breaker.state': 'open', 'phlow.circuit_breaker.retry_after_ms': 3_000 }],
    ]);
  });

  it('marks a timeout with a timeout event, the exception, ERROR and error.type CircuitTimeoutError', async () => {
    const { registry, clock } = setUp();
    const breaker = registry.getBreaker('a2a', { timeoutMs: 250, failureThreshold: 5 });
    const pending = settle(withBreakerSpan(tracer, breaker, 'send message', () => new Promise<never>(() => {})));
    clock.advance(250);
    expect((await pending).error).toMatchObject({ name: 'CircuitTimeoutError' });
    const span = finished('send message');
    expect(span.events.map((event) => event.name)).toEqual(['phlow.circuit_breaker.timeout', 'exception']);
    expect(span.events[0]!.attributes).toEqual({ 'phlow.circuit_breaker.timeout_ms': 250 });
    expect(span.attributes['error.type']).toBe('CircuitTimeoutError');
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
  });

  it('does not call the caller’s own abort an error', async () => {
    const { registry } = setUp();
    const breaker = registry.getBreaker('a2a');
    const controller = new AbortController();
    const pending = settle(withBreakerSpan(tracer, breaker, 'send message', () => new Promise<never>(() => {}), { signal: controller.signal }));
    controller.abort(new Error('user navigated away'));
    expect((await pending).error).toMatchObject({ message: 'user navigated away' });
    const span = finished('send message');
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    expect(span.events).toEqual([]);
    expect(breaker.state).toBe('closed');
  });

  it('recordBreakerError records a non-Error throw as _OTHER', () => {
    const span = tracer.startSpan('manual');
    recordBreakerError(span, 'a string');
    span.end();
    const done = finished('manual');
    expect(done.attributes['error.type']).toBe('_OTHER');
    expect(done.status).toEqual({ code: SpanStatusCode.ERROR, message: 'a string' });
  });
});

describe('instrumentCircuitBreakers span events on the caller’s own span', () => {
  it('adds rejection and state-change events to whatever span is active, and logs carry its trace id', async () => {
    const logs: CircuitLogEntry[] = [];
    const { registry, clock } = setUp(logs);
    const breaker = registry.getBreaker('did_resolver');
    await tracer.startActiveSpan('handle request', async (span) => {
      await settle(breaker.execute(() => Promise.reject(new Error('notFound'))));
      await settle(breaker.execute(() => 'rejected'));
      span.end();
    });
    const span = finished('handle request');
    expect(span.events.map((event) => [event.name, event.attributes])).toEqual([
      [
        'phlow.circuit_breaker.state_change',
        {
          'phlow.circuit_breaker.name': 'did_resolver',
          'phlow.circuit_breaker.from': 'closed',
          'phlow.circuit_breaker.to': 'open',
          'phlow.circuit_breaker.reason': 'failure_threshold',
        },
      ],
      [
        'phlow.circuit_breaker.rejected',
        { 'phlow.circuit_breaker.name': 'did_resolver', 'phlow.circuit_breaker.state': 'open', 'phlow.circuit_breaker.retry_after_ms': 5_000 },
      ],
    ]);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({
      message: 'Circuit breaker did_resolver opened',
      trace_id: span.spanContext().traceId,
      span_id: span.spanContext().spanId,
      trace_flags: '01',
    });

    // outside any span: no event anywhere, and the log line has no ids
    clock.advance(5_000);
    expect(breaker.state).toBe('half_open');
    expect(logs[1]).toMatchObject({ to: 'half_open' });
    expect(logs[1]).not.toHaveProperty('trace_id');
  });

  it('adds a timeout event to the caller’s span', async () => {
    const { registry, clock } = setUp();
    const breaker = registry.getBreaker('slow', { timeoutMs: 100, failureThreshold: 3 });
    await tracer.startActiveSpan('job', async (span) => {
      const pending = settle(breaker.execute(() => new Promise<never>(() => {})));
      clock.advance(100);
      await pending;
      span.end();
    });
    expect(finished('job').events.map((event) => [event.name, event.attributes])).toEqual([
      ['phlow.circuit_breaker.timeout', { 'phlow.circuit_breaker.name': 'slow', 'phlow.circuit_breaker.timeout_ms': 100 }],
    ]);
  });

  it('adds nothing when spanEvents is off', async () => {
    const registry = new CircuitBreakerRegistry({ logger: false, failureThreshold: 1 });
    const instrumentation = instrumentCircuitBreakers(registry, { metrics: false, spanEvents: false });
    cleanups.push(() => instrumentation.dispose());
    await tracer.startActiveSpan('quiet', async (span) => {
      await settle(registry.getBreaker('x').execute(() => Promise.reject(new Error('down'))));
      span.end();
    });
    expect(finished('quiet').events).toEqual([]);
  });

  it('traceContextLogger refuses a non-function', () => {
    expect(() => traceContextLogger('stderr' as never)).toThrow(new TypeError('traceContextLogger needs a logger function; got string'));
  });
});
