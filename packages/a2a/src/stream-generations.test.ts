import { SpanStatusCode } from '@opentelemetry/api';
import type { StreamResponse, Task } from '@a2a-js/sdk';
import type { Client } from '@a2a-js/sdk/client';
import { CircuitBreakerRegistry, CircuitOpenError, ManualClock, type CircuitBreaker, type CircuitBreakerOptions } from '@phlow/circuit-breaker';
import { rejection } from '@phlow/test-helpers';
import { beforeEach, describe, expect, it } from 'vitest';
import { A2aStreamIdleTimeoutError } from './errors.js';
import { a2aProtectionOf, protectA2aClient } from './protect-a2a-client.js';
import { freshEachTest, PeerBehindProxy, serveDuringFile, setUpTracing, textRequest } from './test-support.test-util.js';

/*
 * The generation rule for streams: a stream's outcome belongs to the breaker generation that admitted
 * it. A stream that fails (or goes quiet) after its first event, once the breaker has moved on (opened,
 * gone half-open, closed again), must neither take a half-open probe slot, nor reopen the breaker, nor
 * count toward the threshold of the new generation. A stream of the current generation still counts.
 * Real @a2a-js/sdk client, real A2A peer behind a fault proxy; breaker time on a ManualClock.
 */

const tracing = setUpTracing();
const side = new PeerBehindProxy('gen');
let registry: CircuitBreakerRegistry;
let clock: ManualClock;

const RECOVERY_MS = 1_000;
const IDLE_MS = 60_000;

serveDuringFile(side);
freshEachTest(tracing, (fresh) => (registry = fresh), side);
beforeEach(() => {
  clock = new ManualClock();
});

async function protect(breaker: CircuitBreakerOptions = {}): Promise<{ client: Client; breaker: CircuitBreaker }> {
  const client = protectA2aClient(await side.client(), {
    peer: 'gen',
    registry,
    tracerProvider: tracing.tracerProvider,
    streamIdleTimeoutMs: IDLE_MS,
    breaker: { clock, failureThreshold: 2, recoveryTimeoutMs: RECOVERY_MS, halfOpenMaxCalls: 1, ...breaker },
  });
  return { client, breaker: a2aProtectionOf(client)!.breaker };
}

/**
 * A stream that has delivered its first two events (task submitted, working) and waits for a step
 * the peer only sends after a minute of real time: `tail` is its pending next event.
 */
async function openQuietStream(client: Client, text: string): Promise<{ taskId: string; tail: Promise<IteratorResult<StreamResponse>> }> {
  side.peer.setBehavior({ kind: 'task', steps: 1, stepDelayMs: 60_000 });
  const stream = client.sendMessageStream(textRequest(text));
  const first = (await stream.next()).value as StreamResponse;
  expect(first.payload?.$case).toBe('task');
  expect((await stream.next()).value?.payload?.$case).toBe('statusUpdate');
  const tail = stream.next();
  tail.catch(() => undefined); // settled by the test, later
  side.peer.setBehavior({ kind: 'echo' });
  return { taskId: (first.payload?.value as Task).id, tail };
}

/** Trips the breaker with failing unary calls (HTTP 503 for new requests; open streams are untouched). */
async function trip(client: Client, breaker: CircuitBreaker): Promise<void> {
  await side.proxy.setFaults({ errorStatus: { status: 503 } });
  while (breaker.state === 'closed') await rejection(client.sendMessage(textRequest('fail')));
  await side.proxy.clearFaults();
  expect(breaker.state).toBe('open');
}

/** Resets every open connection (the old stream's among them), then lets new ones through again. */
async function cutOpenConnections(): Promise<void> {
  await side.proxy.setFaults({ reset: true });
  await side.proxy.clearFaults();
}

const failures = ['a connection reset', 'an idle timeout'] as const;
type Failure = (typeof failures)[number];

/** Makes the old stream fail in the chosen way; returns its error. */
async function failOld(how: Failure, tail: Promise<IteratorResult<StreamResponse>>, idleLeftMs: number): Promise<unknown> {
  if (how === 'a connection reset') await cutOpenConnections();
  else clock.advance(idleLeftMs);
  const error = await rejection(tail);
  if (how === 'an idle timeout') expect(error).toBeInstanceOf(A2aStreamIdleTimeoutError);
  else expect(error).not.toBeInstanceOf(A2aStreamIdleTimeoutError);
  return error;
}

describe('a stream opened in an earlier generation that fails later is stale', () => {
  it.each(failures)('failing by %s while the breaker is half-open: stays half-open, the probe slot stays free', async (how) => {
    const { client, breaker } = await protect();
    const { tail } = await openQuietStream(client, 'old');
    expect(breaker.getStats()).toMatchObject({ total_successes: 1, in_flight: 0 }); // its call settled at the first event
    await trip(client, breaker);
    clock.advance(RECOVERY_MS);
    expect(breaker.state).toBe('half_open');
    const halfOpen = breaker.getStats();

    await failOld(how, tail, IDLE_MS - RECOVERY_MS);

    expect(breaker.getStats()).toMatchObject({
      state: 'half_open',
      generation: halfOpen.generation,
      total_failures: halfOpen.total_failures,
      total_calls: halfOpen.total_calls,
      in_flight: 0,
    });
    // The one probe slot is free: a probe runs, succeeds and closes the breaker.
    const reply = await client.sendMessage(textRequest('probe'));
    expect(reply).toBeDefined();
    expect(breaker.state).toBe('closed');
    const span = tracing.spans('a2a SendStreamingMessage')[0]!;
    expect(span.status.code).toBe(SpanStatusCode.ERROR); // the stream failed, for its consumer
    expect(span.attributes['phlow.a2a.counted_as_failure']).toBe(false); // but the breaker did not count it
  });

  it('failing while the breaker is open: no effect on the open period, not even a rejection', async () => {
    const { client, breaker } = await protect();
    const { tail } = await openQuietStream(client, 'old');
    await trip(client, breaker);
    const open = breaker.getStats();
    await failOld('a connection reset', tail, 0);
    expect(breaker.getStats()).toMatchObject({
      state: 'open',
      generation: open.generation,
      retry_at: open.retry_at,
      total_calls: open.total_calls,
      total_rejections: open.total_rejections,
      in_flight: 0,
    });
  });

  it.each(failures)('failing by %s after the breaker closed again: does not count toward the new threshold', async (how) => {
    const { client, breaker } = await protect();
    const { tail } = await openQuietStream(client, 'old');
    await trip(client, breaker);
    clock.advance(RECOVERY_MS);
    await client.sendMessage(textRequest('probe'));
    expect(breaker.state).toBe('closed');
    const closed = breaker.getStats();

    await failOld(how, tail, IDLE_MS - RECOVERY_MS);

    expect(breaker.getStats()).toMatchObject({ state: 'closed', generation: closed.generation, failure_count: 0, total_failures: closed.total_failures });
    // One more failure of the new generation does not open it either: the threshold (2) was not pre-filled.
    await side.proxy.setFaults({ errorStatus: { status: 503 } });
    await rejection(client.sendMessage(textRequest('one')));
    expect(breaker.getStats()).toMatchObject({ state: 'closed', failure_count: 1 });
  });

  it('a resubscribeTask stream obeys the same rule', async () => {
    const { client, breaker } = await protect();
    const { taskId, tail } = await openQuietStream(client, 'watched');
    const watch = client.resubscribeTask({ tenant: '', id: taskId });
    expect((await watch.next()).value?.payload?.$case).toBe('task'); // the task as it stands
    const watchTail = watch.next();
    watchTail.catch(() => undefined);
    await trip(client, breaker);
    clock.advance(RECOVERY_MS);
    const halfOpen = breaker.getStats();
    await cutOpenConnections(); // both the original stream and the resubscription fail
    await rejection(tail);
    await rejection(watchTail);
    expect(breaker.getStats()).toMatchObject({ state: 'half_open', generation: halfOpen.generation, total_calls: halfOpen.total_calls, in_flight: 0 });
    await client.sendMessage(textRequest('probe'));
    expect(breaker.state).toBe('closed');
  });

  it('a probe stream whose first event closed the breaker, failing later, belongs to the half-open generation', async () => {
    const { client, breaker } = await protect();
    await trip(client, breaker);
    clock.advance(RECOVERY_MS);
    const { tail } = await openQuietStream(client, 'probe stream'); // the probe: its first event closes the breaker
    expect(breaker.getStats()).toMatchObject({ state: 'closed', in_flight: 0 });
    const closed = breaker.getStats();
    await failOld('an idle timeout', tail, IDLE_MS);
    expect(breaker.getStats()).toMatchObject({ state: 'closed', generation: closed.generation, failure_count: 0 });
  });
});

describe('a stream of the current generation that fails after its first event still counts', () => {
  it.each(failures)('failing by %s in a closed breaker: a failure toward the threshold', async (how) => {
    const { client, breaker } = await protect();
    const before = breaker.getStats();
    const { tail } = await openQuietStream(client, 'current');
    await failOld(how, tail, IDLE_MS);
    expect(breaker.getStats()).toMatchObject({ state: 'closed', generation: before.generation, failure_count: 1, total_failures: 1, in_flight: 0 });
    expect(tracing.spans('a2a SendStreamingMessage')[0]?.attributes['phlow.a2a.counted_as_failure']).toBe(true);
    // ...and it opens the breaker together with one more failure (threshold 2).
    await side.proxy.setFaults({ errorStatus: { status: 503 } });
    await rejection(client.sendMessage(textRequest('second')));
    expect(breaker.state).toBe('open');
    expect(CircuitOpenError.isInstance(await rejection(client.sendMessage(textRequest('rejected'))))).toBe(true);
  });

  it('failing while the half-open generation that admitted it is still current: reopens the breaker', async () => {
    // Two successful probes close it, so the stream's first event leaves the breaker half-open.
    const { client, breaker } = await protect({ successThreshold: 2 });
    await trip(client, breaker);
    clock.advance(RECOVERY_MS);
    const { tail } = await openQuietStream(client, 'probe stream');
    expect(breaker.getStats()).toMatchObject({ state: 'half_open', success_count: 1, in_flight: 0 });
    await failOld('a connection reset', tail, 0);
    expect(breaker.state).toBe('open');
  });

  it('a stream that ends normally after many events counts once, as the success of its first event', async () => {
    const { client, breaker } = await protect();
    side.peer.setBehavior({ kind: 'task', steps: 3 });
    let events = 0;
    for await (const _ of client.sendMessageStream(textRequest('whole'))) {
      void _;
      events++;
      clock.advance(IDLE_MS - 1); // breaker time passes between events, far beyond timeoutMs in total
    }
    expect(events).toBe(6);
    expect(breaker.getStats()).toMatchObject({ state: 'closed', total_calls: 1, total_successes: 1, total_failures: 0, in_flight: 0 });
    expect(clock.pendingTimers).toBe(0); // no idle timer left behind
  });
});
