import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@phlow/test-helpers';
import { RedisServer } from './redis-server.test-util.js';
import { Replica } from './replica.test-util.js';

/**
 * Three real Node processes (test-fixtures/replica.mjs, forked) share one breaker through a
 * redis-server this file starts and kills. Needs `dist/` (the package's build runs before its tests).
 */
let server: RedisServer;
let replicas: Replica[] = [];


beforeAll(async () => {
  server = await RedisServer.start();
});
afterAll(async () => {
  await server.kill();
});
afterEach(async () => {
  await Promise.all(replicas.map((r) => r.call('close').catch(() => undefined)));
  for (const r of replicas) r.kill();
  replicas = [];
  // A test that killed Redis and failed before restarting it must not take the next tests with it.
  if (!server.running) await server.restart();
});

async function startFleet(name: string, breakerOptions: object, storeOptions: object = {}): Promise<Replica[]> {
  replicas = await Promise.all([Replica.start(), Replica.start(), Replica.start()]);
  await Promise.all(
    replicas.map((r) =>
      r.call('init', {
        url: server.url,
        name,
        breakerOptions,
        storeOptions: { reconcileIntervalMs: 60_000, flushIntervalMs: 10, redis: undefined, ...storeOptions },
      }),
    ),
  );
  return replicas;
}

describe('three replica processes on one Redis', () => {
  it('failures spread across replicas open the breaker everywhere at the fleet-wide threshold; a transition reaches the peers over pub/sub', async () => {
    const fleet = await startFleet('payments', { failureThreshold: 3 });
    // One failure per replica: none reaches the threshold of 3 on its own.
    for (const r of fleet) {
      const { results } = await r.call('run', { n: 1, outcome: 'fail' });
      expect(results[0].result).toBe('failed');
    }
    const opened = await Promise.all(fleet.map((r) => r.call('waitFor', { state: 'open' })));
    const states = await Promise.all(fleet.map((r) => r.call('snapshot')));
    expect(states.map((s) => s.state)).toEqual(['open', 'open', 'open']);
    expect(new Set(states.map((s) => s.json.generation)).size).toBe(1);
    expect(states.map((s) => s.stats.total_failures)).toEqual([1, 1, 1]);
    expect(opened.filter((t) => t.reason === 'remote').length).toBeGreaterThanOrEqual(2);
    // Further calls are rejected everywhere without running.
    for (const r of fleet) expect((await r.call('run', { n: 1, outcome: 'ok' })).results[0].result).toBe('rejected');

    // A manual reset on one replica reaches the two others over pub/sub: each peer's subscriber received
    // the message, and the periodic reconcile (every 60 s here, the test's whole timeout) cannot have
    // brought it. How fast is measured by the bench (README "Propagation"), not asserted on a loaded machine.
    const peers = [fleet[1]!, fleet[2]!];
    const received = async () => (await Promise.all(peers.map((r) => r.call('snapshot')))).map((s) => s.store.transitionsReceived as number);
    const receivedBefore = await received();
    const waits = peers.map((r) => r.call('waitFor', { state: 'closed' }));
    await fleet[0]!.call('reset');
    const arrivals = await Promise.all(waits);
    for (const arrival of arrivals) expect(arrival.reason).toBe('remote');
    const receivedAfter = await received();
    receivedAfter.forEach((n, i) => expect(n).toBeGreaterThan(receivedBefore[i]!));
  });

  it('half-open admits at most halfOpenMaxProbes calls across the fleet under concurrent attempts', async () => {
    const fleet = await startFleet('search', { failureThreshold: 1, recoveryTimeoutMs: 300, halfOpenMaxCalls: 10 }, { halfOpenMaxProbes: 2 });
    await fleet[0]!.call('run', { n: 1, outcome: 'fail' });
    await Promise.all(fleet.map((r) => r.call('waitFor', { state: 'open' })));
    await waitFor('half-open', async () => (await Promise.all(fleet.map((r) => r.call('snapshot')))).every((s) => s.state === 'half_open'), { timeoutMs: 5_000 });
    // 3 × 10 concurrent attempts, 30 in all; each replica would admit 10 on its own.
    const storms = await Promise.all(fleet.map((r) => r.call('probeStorm', { n: 10 })));
    expect(storms.reduce((n, s) => n + s.ran, 0)).toBe(2);
    expect(storms.reduce((n, s) => n + s.rejected, 0)).toBe(28);
    expect(storms.reduce((n, s) => n + s.otherErrors, 0)).toBe(0);
    // Every rejection here lost the fleet permit (no replica reached its own cap of 10): each still tells
    // the caller when to try again, as a rejection by the local state does.
    const hints = storms.flatMap((s) => s.retryAfterMs);
    expect(hints).toHaveLength(28);
    for (const hint of hints) {
      expect(Number.isFinite(hint)).toBe(true);
      expect(hint).toBeGreaterThan(0);
    }
    await Promise.all(fleet.map((r) => r.call('releaseProbes')));
    await Promise.all(fleet.map((r) => r.call('waitFor', { state: 'closed' })));
  });

  it('killing Redis mid-run fails no call and slows none past the local path; breakers keep working locally; restarting Redis reconciles', async () => {
    const fleet = await startFleet('ledger', { failureThreshold: 3 }, { reconcileIntervalMs: 200 });
    const started = fleet.map((r) => r.nextEvent('running'));
    // Each replica calls until its store reports Redis degraded, then 2 000 calls more.
    const running = fleet.map((r) => r.call('run', { n: 1_000_000, outcome: 'ok', yieldToIo: true, afterDegraded: 2_000 }));
    await Promise.all(started);
    await server.kill();
    const runs = await Promise.all(running);
    for (const run of runs) {
      // The store noticed Redis die while the calls were running: the kill was mid-run.
      expect(run.degraded.length).toBeGreaterThan(0);
      expect(run.degraded[0].at).toBeGreaterThanOrEqual(run.startedAt);
      expect(run.degraded[0].at).toBeLessThanOrEqual(run.finishedAt);
      expect(run.results.length).toBeGreaterThan(2_000);
      expect(run.results.length).toBeLessThan(1_000_000);
      expect(run.results.filter((r: { result: string }) => r.result !== 'ok')).toEqual([]);
      expect(run.results.filter((r: { waitedForIo: boolean }) => r.waitedForIo)).toEqual([]);
    }
    await waitFor('all degraded', async () => (await Promise.all(fleet.map((r) => r.call('snapshot')))).every((s) => s.degraded.length > 0));
    // Calls after the kill: still fine, and the local threshold still opens a breaker.
    const down = await fleet[0]!.call('run', { n: 4, outcome: 'fail' });
    expect(down.results.map((r: { result: string }) => r.result)).toEqual(['failed', 'failed', 'failed', 'rejected']);
    expect(down.results.some((r: { waitedForIo: boolean }) => r.waitedForIo)).toBe(false);
    expect(down.state).toBe('open');
    const peer = await fleet[1]!.call('run', { n: 10, outcome: 'ok' });
    expect(peer.results.every((r: { result: string }) => r.result === 'ok')).toBe(true);
    expect(peer.state).toBe('closed'); // no Redis, no propagation: each replica on its own

    await server.restart();
    await waitFor(
      'fleet reconciled to the open breaker',
      async () => {
        const s = await Promise.all(fleet.map((r) => r.call('snapshot')));
        return s.every((x) => x.state === 'open' && x.json.generation === down.json.generation && x.recovered.length > 0);
      },
      { timeoutMs: 15_000 },
    );
  });

  it('close() leaves no handle behind: a replica process exits by itself once its store is closed', async () => {
    const fleet = await startFleet('shutdown', { failureThreshold: 2 }, { reconcileIntervalMs: 100 });
    await fleet[0]!.call('run', { n: 1, outcome: 'fail' }); // arms the flush timer too
    await fleet[0]!.call('close');
    fleet[0]!.child.disconnect(); // the IPC channel was the last thing keeping it alive
    expect(await fleet[0]!.exited).toBe(0);
  });
});
