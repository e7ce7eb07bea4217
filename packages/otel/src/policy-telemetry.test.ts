import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { CircuitBreakerRegistry, type PolicyEvent } from '@phlow/circuit-breaker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instrumentCircuitBreakers } from './instrument-circuit-breakers.js';
import { newMeterProvider, pointValues } from './test-support.test-util.js';

const exporter = new InMemorySpanExporter();
const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
const tracer = tracerProvider.getTracer('test');

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});
afterAll(async () => {
  context.disable();
  await tracerProvider.shutdown();
});

/** What a policy library reports, in the order a relay would: first attempt, a retry, a fallback. */
const relayEvents: PolicyEvent[] = [
  { type: 'retry_attempt', policyKind: 'retry', policy: 'lookup', time: 0, attempt: 1, delayMs: 0 },
  { type: 'retry_attempt', policyKind: 'retry', policy: 'lookup', time: 5, attempt: 2, delayMs: 40, previous: Object.assign(new Error('503'), { name: 'HttpError' }) },
  { type: 'retry_budget_exhausted', policyKind: 'retry', policy: 'lookup', time: 6, attempt: 3 },
  { type: 'retry_gave_up', policyKind: 'retry', policy: 'lookup', time: 6, attempts: 2, reason: 'budget' },
  { type: 'fallback', policyKind: 'fallback', policy: 'resolve', time: 7, tier: 'last-known', tierIndex: 2, skipped: [{ tier: 'registry', reason: 'CircuitOpenError' }, { tier: 'did', reason: 'timeout' }] },
  { type: 'bulkhead', policyKind: 'bulkhead', policy: 'peer/alpha', time: 8, action: 'admitted', inFlight: 3, queued: 0, limit: 4 },
  { type: 'bulkhead', policyKind: 'bulkhead', policy: 'peer/alpha', time: 9, action: 'rejected', inFlight: 4, queued: 2, limit: 4 },
  { type: 'timeout', policyKind: 'timeout', policy: 'call', time: 10, timeoutMs: 250 },
  { type: 'rate_limited', policyKind: 'rate_limiter', policy: 'api', time: 11, retryAfterMs: 100 },
  { type: 'hedge', policyKind: 'hedge', policy: 'read', time: 12, action: 'hedged', attempt: 2 },
];

describe('policy events', () => {
  it('become phlow.retry/fallback/bulkhead/… metrics labelled by policy, and events on the active span', async () => {
    const registry = new CircuitBreakerRegistry({ logger: false });
    const { provider, reader } = newMeterProvider();
    using _telemetry = instrumentCircuitBreakers(registry, { meterProvider: provider, callDurations: false });
    expect(registry.policyEventsObserved).toBe(true);
    tracer.startActiveSpan('relay', (span) => {
      for (const event of relayEvents) registry.reportPolicyEvent(event);
      span.end();
    });

    const metrics = await reader.metrics();
    expect(pointValues(metrics.get('phlow.retry.attempts'))).toEqual({ 'policy=lookup,retry=false': 1, 'policy=lookup,retry=true': 1 });
    expect(pointValues(metrics.get('phlow.retry.budget_exhausted'))).toEqual({ 'policy=lookup': 1 });
    expect(pointValues(metrics.get('phlow.retry.gave_up'))).toEqual({ 'policy=lookup,reason=budget': 1 });
    expect(pointValues(metrics.get('phlow.fallback.answers'))).toEqual({ 'policy=resolve,tier=last-known': 1 });
    expect(pointValues(metrics.get('phlow.bulkhead.in_flight'))).toEqual({ 'policy=peer/alpha': 4 });
    expect(pointValues(metrics.get('phlow.bulkhead.queued'))).toEqual({ 'policy=peer/alpha': 2 });
    expect(pointValues(metrics.get('phlow.bulkhead.limit'))).toEqual({ 'policy=peer/alpha': 4 });
    expect(pointValues(metrics.get('phlow.bulkhead.rejections'))).toEqual({ 'policy=peer/alpha,reason=full': 1 });
    expect(pointValues(metrics.get('phlow.timeout.timeouts'))).toEqual({ 'policy=call': 1 });
    expect(pointValues(metrics.get('phlow.rate_limiter.rejections'))).toEqual({ 'policy=api': 1 });
    expect(pointValues(metrics.get('phlow.hedge.attempts'))).toEqual({ 'action=hedged,policy=read': 1 });

    const [span] = exporter.getFinishedSpans();
    expect(span?.events.map((e) => e.name)).toEqual([
      'phlow.retry.attempt',
      'phlow.retry.attempt',
      'phlow.retry.budget_exhausted',
      'phlow.fallback',
      'phlow.bulkhead.rejected',
      'phlow.timeout',
      'phlow.rate_limiter.rejected',
      'phlow.hedge',
    ]);
    expect(span?.events[1]?.attributes).toEqual({ 'phlow.policy.name': 'lookup', 'phlow.retry.attempt': 2, 'phlow.retry.delay_ms': 40, 'error.type': 'HttpError' });
    expect(span?.events[3]?.attributes).toMatchObject({ 'phlow.fallback.tier': 'last-known', 'phlow.fallback.skipped': ['registry: CircuitOpenError', 'did: timeout'] });
    await provider.shutdown();
    exporter.reset();
  });

  it('caps the policy label: names from the network (a bulkhead per peer) cannot grow series without bound', async () => {
    const registry = new CircuitBreakerRegistry({ logger: false });
    const { provider, reader } = newMeterProvider();
    using _telemetry = instrumentCircuitBreakers(registry, { meterProvider: provider, callDurations: false, spanEvents: false, maxPolicyNames: 3 });
    for (let i = 0; i < 50; i++) {
      registry.reportPolicyEvent({ type: 'bulkhead', policyKind: 'bulkhead', policy: `peer/host-${i}.evil`, time: i, action: 'rejected', inFlight: 1, queued: 0, limit: 1 });
    }
    const rejections = pointValues((await reader.metrics()).get('phlow.bulkhead.rejections'));
    expect(Object.keys(rejections)).toHaveLength(4);
    expect(rejections['policy=_overflow,reason=full']).toBe(47);
    await provider.shutdown();
  });

  it('stops reporting when disposed, and can be turned off', async () => {
    const registry = new CircuitBreakerRegistry({ logger: false });
    const { provider } = newMeterProvider();
    const telemetry = instrumentCircuitBreakers(registry, { meterProvider: provider, callDurations: false });
    telemetry.dispose();
    expect(registry.policyEventsObserved).toBe(false);
    using _off = instrumentCircuitBreakers(registry, { meterProvider: provider, callDurations: false, policyEvents: false });
    expect(registry.policyEventsObserved).toBe(false);
    expect(() => instrumentCircuitBreakers(registry, { policyEvents: 'yes' as never })).toThrow(/policyEvents must be/);
    expect(() => instrumentCircuitBreakers(registry, { maxPolicyNames: 0 })).toThrow(/maxPolicyNames/);
    await provider.shutdown();
  });
});
