import { CircuitBreaker, CircuitOpenError, ManualClock, type CircuitState } from '@phlow/circuit-breaker';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@phlow/test-helpers';
import { RedisStateStore } from './redis-state-store.js';
import type { RedisStateStoreOptions } from './store-options.js';
import { RedisServer } from './redis-server.test-util.js';

let server: RedisServer;
let inspect: Redis;
const cleanups: Array<() => unknown> = [];
let prefixSeq = 0;

beforeAll(async () => {
  server = await RedisServer.start();
  inspect = new Redis(server.url, { lazyConnect: false, retryStrategy: () => 100 });
  inspect.on('error', () => undefined);
});
afterAll(async () => {
  inspect.disconnect();
  await server.kill();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** N stores (one per simulated replica) on one fresh key prefix. */
async function fleet(n: number, options: RedisStateStoreOptions = {}): Promise<RedisStateStore[]> {
  const keyPrefix = `t${++prefixSeq}`;
  const stores = Array.from(
    { length: n },
    () => new RedisStateStore({ redis: { port: server.port, retryStrategy: () => 50 }, keyPrefix, ...options }),
  );
  for (const store of stores) cleanups.push(() => store.close());
  await Promise.all(stores.map((s) => s.ready()));
  return stores;
}

function breaker(store: RedisStateStore, name: string, options: Record<string, unknown> = {}): CircuitBreaker {
  const b = new CircuitBreaker(name, { logger: false, stateStore: store, ...options });
  cleanups.push(() => b.dispose());
  return b;
}

const fail = () => {
  throw new Error('down');
};
const swallow = () => undefined;

async function reaches(b: CircuitBreaker, state: CircuitState): Promise<void> {
  await waitFor(`${b.name} ${state}`, () => b.state === state);
}

/**
 * One breaker of this name per store, opened by a failure on the first and past its recovery timeout
 * everywhere: the next calls are half-open probes.
 */
async function recoveryDue(stores: RedisStateStore[], name: string, halfOpenMaxCalls: number): Promise<CircuitBreaker[]> {
  const clock = new ManualClock();
  const bs = stores.map((s) => breaker(s, name, { failureThreshold: 1, recoveryTimeoutMs: 1_000, halfOpenMaxCalls, clock }));
  await Promise.all(stores.map((s) => s.reconcile()));
  await bs[0]!.execute(fail).catch(swallow);
  await Promise.all(bs.map((x) => reaches(x, 'open')));
  clock.advance(1_000);
  return bs;
}

/** Probe calls that stay in flight (holding their permit) until `finish()`. */
function heldProbes() {
  let ran = 0;
  const finishers: Array<() => void> = [];
  return {
    get ran() {
      return ran;
    },
    /** How the call ended: it ran, the breaker rejected it, or something else went wrong. */
    attempt(b: CircuitBreaker): Promise<'ran' | 'rejected' | 'other'> {
      return b
        .execute(() => new Promise<string>((resolve) => { ran++; finishers.push(() => resolve('ok')); }))
        .then(() => 'ran' as const, (e: unknown) => (CircuitOpenError.isInstance(e) ? ('rejected' as const) : ('other' as const)));
    },
    /** Until `count` attempts on these breakers either run or were rejected. */
    async answered(bs: CircuitBreaker[], count: number): Promise<void> {
      await waitFor('every attempt answered', () => ran + bs.reduce((n, x) => n + x.getStats().total_rejections, 0) === count);
    },
    finish(): void {
      for (const finish of finishers.splice(0)) finish();
    },
  };
}

describe('RedisStateStore in one process (several stores = several replicas)', () => {
  it('a transition made by one replica reaches the others with the same generation', async () => {
    const [a, b, c] = await fleet(3);
    const [ba, bb, bc] = [breaker(a!, 'svc'), breaker(b!, 'svc'), breaker(c!, 'svc')];
    await Promise.all([a!.reconcile(), b!.reconcile(), c!.reconcile()]);
    ba.forceOpen();
    await Promise.all([reaches(bb, 'forced_open'), reaches(bc, 'forced_open')]);
    expect(bb.toJSON().generation).toBe(ba.toJSON().generation);
    expect(bc.toJSON().generation).toBe(ba.toJSON().generation);
    bc.reset();
    await Promise.all([reaches(ba, 'closed'), reaches(bb, 'closed')]);
    expect(new Set([ba, bb, bc].map((x) => x.toJSON().generation)).size).toBe(1);
    // What is in Redis is the fleet's snapshot, with a TTL.
    const stored = await inspect.hgetall(`{${a!.options.keyPrefix}:svc}:state`);
    expect(stored).toMatchObject({ s: 'closed', g: String(bc.toJSON().generation) });
    const ttl = await inspect.pttl(`{${a!.options.keyPrefix}:svc}:state`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(86_400_000);
  });

  it('failures spread across replicas open the breaker everywhere at the fleet-wide threshold', async () => {
    const [a, b, c] = await fleet(3, { flushIntervalMs: 5 });
    const bs = [breaker(a!, 'db', { failureThreshold: 3 }), breaker(b!, 'db', { failureThreshold: 3 }), breaker(c!, 'db', { failureThreshold: 3 })];
    await Promise.all([a!.reconcile(), b!.reconcile(), c!.reconcile()]);
    // One failure each: no replica reaches 3 locally, the fleet does.
    for (const x of bs) await x.execute(fail).catch(swallow);
    await Promise.all(bs.map((x) => reaches(x, 'open')));
    for (const x of bs) expect(x.getStats().total_failures).toBe(1);
    // The 'tripped' reply and the transition message travel on different connections: a breaker can open
    // from the message before the tripping store read its reply. A reconcile round's SYNC follows the
    // RECORD on each store's commands connection, so once it is answered every reply has been read.
    await Promise.all([a!.reconcile(), b!.reconcile(), c!.reconcile()]);
    expect(a!.getStats().fleetTrips + b!.getStats().fleetTrips + c!.getStats().fleetTrips).toBe(1);
    const generations = new Set(bs.map((x) => x.toJSON().generation));
    expect(generations.size).toBe(1);
    // The failure counts were cleared by the trip.
    expect(await inspect.exists(`{${a!.options.keyPrefix}:db}:failures`)).toBe(0);
  });

  it("a success ends that replica's run: its failures stop counting toward the fleet threshold", async () => {
    const [a, b] = await fleet(2, { flushIntervalMs: 5 });
    const ba = breaker(a!, 'api', { failureThreshold: 3 });
    const bb = breaker(b!, 'api', { failureThreshold: 3 });
    await Promise.all([a!.reconcile(), b!.reconcile()]);
    const key = `{${a!.options.keyPrefix}:api}:failures`;
    await ba.execute(fail).catch(swallow);
    await ba.execute(fail).catch(swallow);
    await waitFor('two failures counted', async () => (await inspect.hget(key, a!.replicaId))?.startsWith('2:') ?? false);
    await ba.execute(() => 'fine');
    await waitFor('run ended', async () => (await inspect.hget(key, a!.replicaId)) === null);
    await bb.execute(fail).catch(swallow);
    await waitFor('one failure counted', async () => (await inspect.hget(key, b!.replicaId))?.startsWith('1:') ?? false);
    expect(ba.state).toBe('closed');
    expect(bb.state).toBe('closed');
    const ttl = await inspect.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('half-open admits at most halfOpenMaxProbes calls fleet-wide, and a finished probe frees its permit', async () => {
    const stores = await fleet(3, { halfOpenMaxProbes: 2 });
    const bs = await recoveryDue(stores, 'probe', 5);
    const probes = heldProbes();
    const attempts = bs.flatMap((x) => Array.from({ length: 5 }, () => probes.attempt(x)));
    await probes.answered(bs, 15);
    expect(probes.ran).toBe(2);
    const permits = await inspect.zcard(`{${stores[0]!.options.keyPrefix}:probe}:probes:${bs[0]!.toJSON().generation}`);
    expect(permits).toBe(2);
    probes.finish();
    const outcomes = await Promise.all(attempts);
    expect(outcomes.filter((o) => o === 'ran')).toHaveLength(2);
    expect(outcomes.filter((o) => o === 'other')).toHaveLength(0);
    // Success closes the breaker for everyone.
    await Promise.all(bs.map((x) => reaches(x, 'closed')));
  });

  it('without halfOpenMaxProbes the fleet admits the breakers\' own halfOpenMaxCalls', async () => {
    const stores = await fleet(3, {});
    const bs = await recoveryDue(stores, 'probe-default', 2);
    const probes = heldProbes();
    const attempts = bs.map((x) => probes.attempt(x));
    await probes.answered(bs, 3);
    expect(probes.ran).toBe(2);
    probes.finish();
    expect((await Promise.all(attempts)).sort()).toEqual(['ran', 'ran', 'rejected']);
  });

  it('a permit whose holder never returns it lapses after probeLeaseMs', async () => {
    const [a, b] = await fleet(2, { probeLeaseMs: 200 });
    const clock = new ManualClock();
    const ba = breaker(a!, 'lease', { failureThreshold: 1, recoveryTimeoutMs: 1_000, clock, halfOpenMaxWaitMs: 600_000 });
    const bb = breaker(b!, 'lease', { failureThreshold: 1, recoveryTimeoutMs: 1_000, clock, halfOpenMaxWaitMs: 600_000 });
    await Promise.all([a!.reconcile(), b!.reconcile()]);
    await ba.execute(fail).catch(swallow);
    await reaches(bb, 'open');
    clock.advance(1_000);
    // Replica a takes the only permit and hangs (as if it crashed mid-probe).
    let hung = false;
    void ba.execute(() => new Promise(() => { hung = true; })).catch(swallow);
    await waitFor('probe started', () => hung);
    await expect(bb.execute(() => 'x')).rejects.toBeInstanceOf(CircuitOpenError);
    const key = `{${a!.options.keyPrefix}:lease}:probes:${bb.toJSON().generation}`;
    await waitFor('lease expired', async () => (await inspect.zcard(key)) === 0 || (await inspect.exists(key)) === 0, { timeoutMs: 5_000 });
    await expect(bb.execute(() => 'recovered')).resolves.toBe('recovered');
  });

  it('a replica that joins late adopts the fleet state on connect', async () => {
    const [a, b] = await fleet(2);
    const ba = breaker(a!, 'late');
    await a!.reconcile();
    ba.forceOpen();
    await waitFor('stored', async () => (await inspect.hget(`{${a!.options.keyPrefix}:late}:state`, 's')) === 'forced_open');
    const bb = breaker(b!, 'late');
    await waitFor('adopted on connect', () => bb.state === 'forced_open');
    expect(bb.toJSON().generation).toBe(ba.toJSON().generation);
  });

  it('`await using` closes the store at the end of the scope; `using` detaches a breaker at the end of its own', async () => {
    let closed: RedisStateStore | undefined;
    {
      await using store = new RedisStateStore({ redis: { port: server.port, retryStrategy: () => 50 }, keyPrefix: `t${++prefixSeq}` });
      closed = store;
      await store.ready();
      {
        using _breaker = new CircuitBreaker('scoped', { logger: false, stateStore: store });
        expect(store.getStats().breakers).toBe(1);
      }
      expect(store.getStats().breakers).toBe(0);
      expect(store.status).toBe('ready');
    }
    expect(closed.status).toBe('closed');
  });

  it('close() stops the store; attached breakers keep working locally', async () => {
    const [a] = await fleet(1);
    const ba = breaker(a!, 'after-close', { failureThreshold: 2 });
    await a!.close();
    expect(a!.status).toBe('closed');
    await expect(ba.execute(() => 1)).resolves.toBe(1);
    await ba.execute(fail).catch(swallow);
    await ba.execute(fail).catch(swallow);
    expect(ba.state).toBe('open');
  });
});
