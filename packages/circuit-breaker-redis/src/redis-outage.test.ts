import { CircuitBreaker, CircuitOpenError, ManualClock } from '@phlow/circuit-breaker';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@phlow/test-helpers';
import { RedisStateStore } from './redis-state-store.js';
import type { StoreDegradedEvent } from './store-events.js';
import { RedisServer } from './redis-server.test-util.js';

let server: RedisServer;

beforeAll(async () => {
  server = await RedisServer.start();
});
afterAll(async () => {
  server.thaw();
  await server.kill();
});

const fail = () => {
  throw new Error('down');
};

/** Runs a call and reports whether it settled before any I/O callback could run (it did not wait for Redis). */
async function settlesWithoutIo<T>(call: () => Promise<T>): Promise<{ value?: T; error?: unknown; waitedForIo: boolean }> {
  let io = false;
  setImmediate(() => {
    io = true;
  });
  try {
    const value = await call();
    return { value, waitedForIo: io };
  } catch (error) {
    return { error, waitedForIo: io };
  }
}

describe('RedisStateStore when Redis goes away', () => {
  it('killed Redis: calls never fail or wait because of it, breakers work locally, a degradation is reported, and it reconciles after the restart', async () => {
    const clock = new ManualClock();
    const store = new RedisStateStore({ redis: { port: server.port, retryStrategy: () => 50 }, keyPrefix: 'outage' });
    const other = new RedisStateStore({ redis: { port: server.port, retryStrategy: () => 50 }, keyPrefix: 'outage' });
    const degraded: StoreDegradedEvent[] = [];
    let recoveries = 0;
    store.onDegraded((e) => degraded.push(e));
    store.onRecovered(() => recoveries++);
    await Promise.all([store.ready(), other.ready()]);
    const b = new CircuitBreaker('svc', { failureThreshold: 3, recoveryTimeoutMs: 1_000, logger: false, clock, stateStore: store });
    const peer = new CircuitBreaker('svc', { failureThreshold: 3, recoveryTimeoutMs: 1_000, logger: false, clock, stateStore: other });
    await Promise.all([store.reconcile(), other.reconcile()]);

    await server.kill();
    await waitFor('degradation noticed', () => store.status === 'degraded');
    expect(degraded[0]?.reason).toBe('connection_lost');

    // CLOSED calls: succeed, and settle before any I/O could have happened.
    for (let i = 0; i < 50; i++) {
      const r = await settlesWithoutIo(() => b.execute(() => i));
      expect(r).toEqual({ value: i, waitedForIo: false });
    }
    // Failures are the dependency's, never the store's; the local threshold still opens the breaker.
    for (let i = 0; i < 3; i++) {
      const r = await settlesWithoutIo(() => b.execute(fail));
      expect((r.error as Error).message).toBe('down');
      expect(r.waitedForIo).toBe(false);
    }
    expect(b.state).toBe('open');
    const rejected = await settlesWithoutIo(() => b.execute(() => 'x'));
    expect(rejected.error).toBeInstanceOf(CircuitOpenError);
    // Half-open: the fleet permit falls back to the local one at once (the connection is down).
    clock.advance(1_000);
    const probe = await b.execute(() => 'probe ok');
    expect(probe).toBe('probe ok');
    expect(b.state).toBe('closed');
    expect(store.getStats().probeFallbacks).toBeGreaterThanOrEqual(1);
    // A local trip while Redis is down, to be reconciled.
    for (let i = 0; i < 3; i++) await b.execute(fail).catch(() => undefined);
    expect(b.state).toBe('open');
    const localGeneration = b.toJSON().generation;

    await server.restart(); // empty: the data is gone, as after a crash without persistence
    await waitFor('reconnected', () => store.status === 'ready' && other.status === 'ready', { timeoutMs: 15_000 });
    expect(recoveries).toBe(1);
    // The replica that moved pushes its state into the empty Redis and the peer follows.
    await waitFor('peer reconciled', () => peer.state === 'open', { timeoutMs: 15_000 });
    expect(peer.toJSON().generation).toBe(localGeneration);
    const inspect = new Redis(server.url);
    try {
      expect(await inspect.hget('{outage:svc}:state', 's')).toBe('open');
      expect(await inspect.hget('{outage:svc}:state', 'g')).toBe(String(localGeneration));
    } finally {
      inspect.disconnect();
    }
    b.dispose();
    peer.dispose();
    await Promise.all([store.close(), other.close()]);
  });

  it('hung Redis (SIGSTOP): CLOSED calls are untouched, a half-open call falls back to its local permit after probeWaitMs', async () => {
    const clock = new ManualClock();
    const store = new RedisStateStore({
      redis: { port: server.port, retryStrategy: () => 50 },
      keyPrefix: 'hung',
      probeWaitMs: 50,
      commandTimeoutMs: 200,
    });
    const degraded: StoreDegradedEvent[] = [];
    store.onDegraded((e) => degraded.push(e));
    await store.ready();
    const b = new CircuitBreaker('svc', { failureThreshold: 2, recoveryTimeoutMs: 1_000, logger: false, clock, stateStore: store });
    await store.reconcile();
    server.freeze();
    try {
      for (let i = 0; i < 20; i++) expect(await settlesWithoutIo(() => b.execute(() => i))).toEqual({ value: i, waitedForIo: false });
      await b.execute(fail).catch(() => undefined);
      await b.execute(fail).catch(() => undefined);
      expect(b.state).toBe('open');
      clock.advance(1_000);
      // The permit request gets no answer; the call goes ahead on the local permit instead of failing.
      await expect(b.execute(() => 'probe')).resolves.toBe('probe');
      expect(b.state).toBe('closed');
      expect(degraded.map((e) => e.reason)).toContain('timeout');
      expect(store.status).toBe('degraded');
    } finally {
      server.thaw();
    }
    await waitFor('recovered after thaw', () => store.status === 'ready', { timeoutMs: 15_000 });
    b.dispose();
    await store.close();
  });

  it('one breaker whose commands fail (as a cluster slot whose primary is down) keeps the store degraded until Redis answers it again; breakers Redis does answer keep their fleet permits', async () => {
    const clock = new ManualClock();
    const inspect = new Redis(server.url);
    // Every script on this breaker's keys now fails with WRONGTYPE, while the other breaker's succeed:
    // the shape of a partial outage on a single Redis.
    await inspect.set('{partial:broken}:state', 'not a hash');
    const store = new RedisStateStore({ redis: { port: server.port, retryStrategy: () => 50 }, keyPrefix: 'partial', commandTimeoutMs: 100, probeWaitMs: 5_000 });
    const events: string[] = [];
    store.onDegraded((e) => events.push(`degraded:${e.reason}`));
    store.onRecovered(() => events.push('recovered'));
    await store.ready();
    const options = { failureThreshold: 1, recoveryTimeoutMs: 1_000, logger: false as const, clock, stateStore: store };
    const healthy = new CircuitBreaker('healthy', options);
    const broken = new CircuitBreaker('broken', options);
    try {
      await store.reconcile();
      expect(store.status).toBe('degraded');
      // The healthy breaker's transition is answered, and still the store does not report recovery.
      await healthy.execute(fail).catch(() => undefined);
      await waitFor('healthy trip stored', async () => (await inspect.hget('{partial:healthy}:state', 's')) === 'open');
      await store.reconcile();
      expect(store.status).toBe('degraded');
      expect(events).toEqual(['degraded:command_failed']);

      await broken.execute(fail).catch(() => undefined);
      clock.advance(1_000);
      // Half-open while degraded: the healthy breaker still asks Redis and gets a fleet permit...
      const { probesGranted, probeFallbacks } = store.getStats();
      await expect(healthy.execute(() => 'probe')).resolves.toBe('probe');
      expect(store.getStats().probesGranted).toBe(probesGranted + 1);
      // ...the broken one does not ask: its call runs on the local permit before any I/O could happen.
      expect(await settlesWithoutIo(() => broken.execute(() => 'probe'))).toEqual({ value: 'probe', waitedForIo: false });
      expect(store.getStats().probeFallbacks).toBe(probeFallbacks + 1);
      expect([healthy.state, broken.state]).toEqual(['closed', 'closed']);

      // Repaired: the store re-checks the failing breaker by itself (every commandTimeoutMs here), and
      // only then reports recovery, once; the breaker's local history is pushed to Redis.
      await inspect.del('{partial:broken}:state');
      await waitFor('recovered once the broken breaker is answered', () => store.status === 'ready');
      expect(events).toEqual(['degraded:command_failed', 'recovered']);
      await waitFor('broken breaker synced', async () => (await inspect.hget('{partial:broken}:state', 'g')) === String(broken.toJSON().generation));
    } finally {
      healthy.dispose();
      broken.dispose();
      await store.close();
      inspect.disconnect();
    }
  });

  it('starting while Redis is down: reported as degraded, breakers work locally, the store catches up when Redis starts', async () => {
    await server.kill();
    const store = new RedisStateStore({ redis: { port: server.port, retryStrategy: () => 50 }, keyPrefix: 'late-start' });
    const events: string[] = [];
    store.onDegraded((e) => events.push(`degraded:${e.reason}`));
    store.onRecovered(() => events.push('recovered'));
    const b = new CircuitBreaker('svc', { failureThreshold: 1, logger: false, stateStore: store });
    await waitFor('degraded at start', () => store.status === 'degraded');
    await b.execute(fail).catch(() => undefined);
    expect(b.state).toBe('open');
    // Nothing queued up: after many calls, nothing is waiting to be sent.
    for (let i = 0; i < 100; i++) await b.execute(() => 1).catch(() => undefined);
    await server.restart();
    await store.ready();
    expect(events).toEqual(['degraded:connection_lost', 'recovered']);
    const inspect = new Redis(server.url);
    try {
      await waitFor('local state pushed on recovery', async () => (await inspect.hget('{late-start:svc}:state', 's')) === 'open');
    } finally {
      inspect.disconnect();
    }
    b.dispose();
    await store.close();
  });
});
