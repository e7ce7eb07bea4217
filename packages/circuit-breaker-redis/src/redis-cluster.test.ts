import { createHash } from 'node:crypto';
import { CircuitBreaker, type CircuitState } from '@phlow/circuit-breaker';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@phlow/test-helpers';
import { ACQUIRE_SCRIPT, RECORD_SCRIPT, SYNC_SCRIPT } from './lua-scripts.js';
import { breakerKeys } from './redis-keys.js';
import { RedisStateStore } from './redis-state-store.js';
import { RedisCluster, type ClusterNode } from './redis-cluster.test-util.js';
import { Replica } from './replica.test-util.js';
import type { RedisStateStoreOptions } from './store-options.js';

/**
 * A real Redis Cluster on loopback (three primaries, a replica each, `cluster-node-timeout 1000`), shared
 * by every test of this file because creating one takes seconds. The failover test kills a primary, so
 * it runs last. The replica processes load `dist/` (the package's build runs before its tests).
 */
let cluster: RedisCluster;
let startedInMs = 0;
const cleanups: Array<() => unknown> = [];

beforeAll(async () => {
  const t0 = Date.now();
  cluster = await RedisCluster.start({ primaries: 3, nodeTimeoutMs: 1_000 });
  startedInMs = Date.now() - t0;
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const fail = () => {
  throw new Error('down');
};

function store(keyPrefix: string, options: RedisStateStoreOptions = {}): RedisStateStore {
  const s = new RedisStateStore({ cluster: { nodes: cluster.seeds }, keyPrefix, ...options });
  cleanups.push(() => s.close());
  return s;
}

function breaker(s: RedisStateStore, name: string, options: Record<string, unknown> = {}): CircuitBreaker {
  const b = new CircuitBreaker(name, { logger: false, stateStore: s, ...options });
  cleanups.push(() => b.dispose());
  return b;
}

async function reaches(b: CircuitBreaker, state: CircuitState): Promise<void> {
  await waitFor(`${b.name} ${state}`, () => b.state === state);
}

/** Breaker names whose keys live on the given primary (found by asking the cluster for their slots). */
async function namesOn(primary: ClusterNode, keyPrefix: string, stem: string, count: number): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; names.length < count; i++) {
    if (i > 1_000) throw new Error(`no ${stem} name hashes to primary ${primary.port}`);
    const slot = await cluster.slotOf(breakerKeys(keyPrefix, `${stem}-${i}`).state);
    if (primary.slots.some(([a, b]) => slot >= a && slot <= b)) names.push(`${stem}-${i}`);
  }
  return names;
}

const sha = (lua: string) => createHash('sha1').update(lua).digest('hex');
const SCRIPT_SHAS = [SYNC_SCRIPT, RECORD_SCRIPT, ACQUIRE_SCRIPT].map(sha);

describe('RedisStateStore on Redis Cluster', () => {
  it('breakers on every primary share state; hostile names with { and } keep each breaker on one slot', async () => {
    const [a, b] = [store('names'), store('names')];
    await Promise.all([a.ready(), b.ready()]);
    const primaries = (await cluster.describe()).filter((n) => n.role === 'primary');
    const names = [
      ...(await Promise.all(primaries.map((p) => namesOn(p, 'names', 'svc', 1)))).flat(),
      // A name can close the hash tag early or open another one: every key of the breaker must still
      // share one slot, or a script touching two of them fails with CROSSSLOT.
      'a}b',
      '{x}',
      '}{',
      '{}',
      'ten}ant:{1}',
    ];
    const slots = new Set(await Promise.all(names.slice(0, 3).map((n) => cluster.slotOf(breakerKeys('names', n).state))));
    expect(slots.size).toBe(3);
    for (const name of names) {
      const keys = breakerKeys('names', name);
      const keySlots = new Set(await Promise.all([keys.state, keys.failures, keys.probes(7)].map((k) => cluster.slotOf(k))));
      expect(keySlots.size).toBe(1);
    }
    const local = names.map((n) => breaker(a, n, { failureThreshold: 2 }));
    const peers = names.map((n) => breaker(b, n, { failureThreshold: 2 }));
    await Promise.all([a.reconcile(), b.reconcile()]);
    // One failure on each side: the fleet-wide count (RECORD on each breaker's own slot) trips them all.
    for (const x of local) await x.execute(fail).catch(() => undefined);
    for (const x of peers) await x.execute(fail).catch(() => undefined);
    await Promise.all([...local, ...peers].map((x) => reaches(x, 'open')));
    expect(a.getStats().commandFailures + b.getStats().commandFailures).toBe(0);
    // Each breaker saw one failure, under its local threshold of 2: only the fleet-wide count can have
    // opened them.
    for (const x of [...local, ...peers]) expect(x.getStats().total_failures).toBe(1);
    // The trip's 'tripped' reply comes back on the tripping store's commands connection, its message on
    // the subscriber connections: a breaker can open from the message before that store has read the
    // reply (seen under load: 6 of 8 counted at this point). A reconcile round sends each breaker's SYNC
    // on the connection its RECORD went on, after it, so once the round is answered every reply is read.
    await Promise.all([a.reconcile(), b.reconcile()]);
    expect(a.getStats().fleetTrips + b.getStats().fleetTrips).toBe(names.length);
    // A reset made on one side reaches the other over classic pub/sub, whichever node each subscribed to.
    for (const x of local) x.reset();
    await Promise.all(peers.map((x) => reaches(x, 'closed')));
  });

  it('README: connecting to a cluster', async () => {
    const CLUSTER_NODES = cluster.seeds.slice(0, 2);
    // --- README: cluster ---
    const store = new RedisStateStore({
      cluster: { nodes: CLUSTER_NODES }, // e.g. [{ host: '10.0.0.11', port: 6379 }, { host: '10.0.0.12', port: 6379 }]
      keyPrefix: 'agent-a:cb',
    });
    // --- end ---
    cleanups.push(() => store.close());
    await store.ready();
    const b = breaker(store, 'payments');
    await store.reconcile();
    // The breaker's state lives on the primary that owns its slot, whichever seed the store was given.
    const owner = await cluster.primaryOf(await cluster.slotOf(breakerKeys('agent-a:cb', 'payments').state));
    expect(await cluster.command(owner.port, 'HGET', breakerKeys('agent-a:cb', 'payments').state, 's')).toBe('closed');
    expect(store.status).toBe('ready');
    expect(b.state).toBe('closed');
  });

  it('scripts flushed from every primary (as on a promoted replica, which never cached them) are sent again: NOSCRIPT falls back to EVAL', async () => {
    const [a, b] = [store('noscript'), store('noscript')];
    await Promise.all([a.ready(), b.ready()]);
    const x = breaker(a, 'svc', { failureThreshold: 1 });
    const y = breaker(b, 'svc', { failureThreshold: 1 });
    await Promise.all([a.reconcile(), b.reconcile()]);
    const primary = await cluster.primaryOf(await cluster.slotOf(breakerKeys('noscript', 'svc').state));
    expect(await cluster.command(primary.port, 'SCRIPT', 'EXISTS', sha(SYNC_SCRIPT))).toBe('1');
    const noscriptErrors = async () => Number(/errorstat_NOSCRIPT:count=(\d+)/.exec(await cluster.command(primary.port, 'INFO', 'errorstats'))?.[1] ?? 0);
    const before = await noscriptErrors();
    for (const p of (await cluster.describe()).filter((n) => n.role === 'primary')) await cluster.command(p.port, 'SCRIPT', 'FLUSH');
    expect(await cluster.command(primary.port, 'SCRIPT', 'EXISTS', ...SCRIPT_SHAS)).toBe('0,0,0');
    // Both stores' connections believe the scripts loaded: their EVALSHA meets NOSCRIPT and is re-sent.
    await x.execute(fail).catch(() => undefined);
    await reaches(y, 'open');
    y.reset();
    await reaches(x, 'closed');
    expect(a.getStats().commandFailures + b.getStats().commandFailures).toBe(0);
    // The first EVALSHA after the flush met NOSCRIPT and was answered by the EVAL that followed (which
    // cached the script on the node again, so the other store's EVALSHA then found it).
    expect((await noscriptErrors()) - before).toBe(1);
    expect(await cluster.command(primary.port, 'SCRIPT', 'EXISTS', sha(SYNC_SCRIPT))).toBe('1');
  });

  it('a primary killed mid-run: no call fails or waits for Redis, each store reports degraded once and recovers after the failover, the fleet converges, and fleet permits work on the promoted replica', async () => {
    const keyPrefix = 'fleet';
    const primaries = (await cluster.describe()).filter((n) => n.role === 'primary');
    const victim = primaries[0]!;
    const traffic = (await Promise.all(primaries.map((p) => namesOn(p, keyPrefix, 'traffic', 1)))).flat();
    const [tripped, probed] = await namesOn(victim, keyPrefix, 'outage', 2);
    const replicas = await Promise.all([Replica.start(), Replica.start(), Replica.start()]);
    cleanups.push(async () => {
      await Promise.all(replicas.map((r) => r.call('close').catch(() => undefined)));
      for (const r of replicas) r.kill();
    });
    const breakers = {
      // Never trip: the traffic's own failures are there to make the stores talk to every slot.
      ...Object.fromEntries(traffic.map((n) => [n, { failureThreshold: 10_000 }])),
      // Tripped during the outage; its recovery timeout outlasts the test.
      [tripped!]: { failureThreshold: 3, recoveryTimeoutMs: 600_000 },
      // Tripped after the failover; its half-open probes need the promoted replica's permits.
      [probed!]: { failureThreshold: 3, recoveryTimeoutMs: 300, halfOpenMaxCalls: 5 },
    };
    const storeOptions: RedisStateStoreOptions = {
      cluster: { nodes: cluster.seeds },
      keyPrefix,
      flushIntervalMs: 10,
      // Longer than the test: convergence must come from the failure path, not the periodic reconcile.
      reconcileIntervalMs: 60_000,
      halfOpenMaxProbes: 1,
    };
    await Promise.all(replicas.map((r) => r.call('init', { breakers, storeOptions })));

    // Scripts are not replicated as cached scripts: the replica about to be promoted has none of ours.
    const heir = await cluster.linkedReplicaOf(victim.id); // and it is in sync, or no failover would happen
    expect(await cluster.command(victim.port, 'SCRIPT', 'EXISTS', sha(SYNC_SCRIPT))).toBe('1');
    expect(await cluster.command(heir.port, 'SCRIPT', 'EXISTS', ...SCRIPT_SHAS)).toBe('0,0,0');

    const running = replicas.map((r) => r.nextEvent('traffic'));
    await Promise.all(replicas.map((r) => r.call('startTraffic', { names: traffic, failEvery: 25 })));
    await Promise.all(running);

    const killedAt = Date.now();
    await cluster.kill(victim.port);
    // Right after the kill, well inside the node timeout: replica 1 trips a breaker whose slot is gone.
    const trip = await replicas[1]!.call('run', { name: tripped, n: 4, outcome: 'fail' });
    expect(trip.results.map((r: { result: string }) => r.result)).toEqual(['failed', 'failed', 'failed', 'rejected']);
    expect(trip.state).toBe('open');
    const tripGeneration = trip.json.generation;

    const promoted = await cluster.waitForFailover(await cluster.slotOf(breakerKeys(keyPrefix, tripped!).state), victim.port);
    const failedOverAt = Date.now();
    expect(promoted.port).toBe(heir.port);

    // The trip made while its slot was down reaches the two other replicas once the slot is back.
    await waitFor(
      'the outage trip converged',
      async () => {
        const s = await Promise.all(replicas.map((r) => r.call('snapshot', { name: tripped })));
        return s.every((x) => x.state === 'open' && x.json.generation === tripGeneration);
      },
      { timeoutMs: 20_000 },
    );
    const convergedAt = Date.now();
    await waitFor(
      'every store recovered',
      async () => (await Promise.all(replicas.map((r) => r.call('snapshot')))).every((x) => x.store.status === 'ready'),
      { timeoutMs: 20_000 },
    );
    const runs = await Promise.all(replicas.map((r) => r.call('stopTraffic')));
    const stores = await Promise.all(replicas.map((r) => r.call('snapshot', { name: tripped })));

    for (const run of runs) {
      // The traffic spanned the kill and the failover. All are Date.now() in milliseconds, and the kill comes
      // right after the first traffic was seen: the same millisecond on a fast run still means "spanned".
      expect(run.startedAt).toBeLessThanOrEqual(killedAt);
      expect(run.stoppedAt).toBeGreaterThanOrEqual(failedOverAt);
      // No call failed because of Redis: the only failures are the dependency's own (every 25th call).
      expect(run.unexpected).toEqual([]);
      expect(Object.keys(run.byResult).sort()).toEqual(['failed', 'ok']);
      // No call waited for Redis: each settled before the event loop could run a single I/O callback.
      expect(run.waitedForIo).toBe(0);
    }
    for (const s of stores) {
      // Degraded once (the killed primary's slot), recovered once after the failover: no flapping
      // between the healthy slots' answers and the dead one's failures.
      expect(s.degraded.length).toBe(1);
      expect(s.recovered.length).toBe(1);
      expect(s.degraded[0].at).toBeGreaterThanOrEqual(killedAt);
      expect(s.recovered[0]).toBeGreaterThan(s.degraded[0].at);
      expect(s.store.status).toBe('ready');
    }
    // The promoted replica got our scripts by the store's EVAL fallback.
    expect(await cluster.command(promoted.port, 'SCRIPT', 'EXISTS', sha(SYNC_SCRIPT))).toBe('1');

    // After the failover: a new trip propagates and the fleet admits exactly one probe across 15 attempts.
    await replicas[0]!.call('run', { name: probed, n: 3, outcome: 'fail' });
    await Promise.all(replicas.map((r) => r.call('waitFor', { name: probed, state: 'open' })));
    await waitFor(
      'half-open everywhere',
      async () => (await Promise.all(replicas.map((r) => r.call('snapshot', { name: probed })))).every((x) => x.state === 'half_open'),
    );
    const storms = await Promise.all(replicas.map((r) => r.call('probeStorm', { name: probed, n: 5 })));
    expect(storms.reduce((n, s) => n + s.ran, 0)).toBe(1);
    expect(storms.reduce((n, s) => n + s.rejected, 0)).toBe(14);
    expect(storms.reduce((n, s) => n + s.otherErrors, 0)).toBe(0);
    for (const hint of storms.flatMap((s) => s.retryAfterMs)) expect(hint).toBeGreaterThan(0); // finite: null fails too
    await Promise.all(replicas.map((r) => r.call('releaseProbes', { name: probed })));
    await Promise.all(replicas.map((r) => r.call('waitFor', { name: probed, state: 'closed' })));

    const figures = {
      clusterStartMs: startedInMs,
      failoverMs: failedOverAt - killedAt,
      convergedAfterFailoverMs: convergedAt - failedOverAt,
      degradedForMs: stores.map((s) => s.recovered[0] - s.degraded[0].at),
      degradedBy: stores.map((s) => s.degraded[0].error),
      maxCallLatencyMs: runs.map((r) => Number(r.maxLatencyMs.toFixed(2))),
      calls: runs.map((r) => r.calls),
    };
    console.info(`redis cluster failover figures: ${JSON.stringify(figures)}`);
  });
});
