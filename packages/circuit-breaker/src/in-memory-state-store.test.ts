import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './circuit-breaker.js';
import type { CircuitSnapshot } from './circuit-state.js';
import { InMemoryStateStore } from './in-memory-state-store.js';
import { ManualClock } from './manual-clock.js';
import type { StoreBinding } from './state-store.js';
import { breakerOnClock, deferred, fail, settle, succeed } from './test-helpers.test-util.js';

function twoReplicas(halfOpenMaxCalls = 1) {
  const clock = new ManualClock();
  const store = new InMemoryStateStore(halfOpenMaxCalls);
  const options = { clock, stateStore: store, logger: false as const, timeoutMs: 0, failureThreshold: 2, recoveryTimeoutMs: 1_000, halfOpenMaxCalls };
  return { clock, a: new CircuitBreaker('shared', options), b: new CircuitBreaker('shared', options) };
}

describe('InMemoryStateStore (the state-store seam)', () => {
  it('a trip on one breaker opens its peers at once', async () => {
    const { a, b } = twoReplicas();
    const reasons: string[] = [];
    b.onStateChange((e) => reasons.push(`${e.to}:${e.reason}`));
    await settle(a.execute(fail));
    await settle(a.execute(fail));
    expect(a.state).toBe('open');
    expect(b.state).toBe('open');
    expect(reasons).toEqual(['open:remote']);
    expect(b.toJSON().generation).toBe(a.toJSON().generation);
  });

  it('grants half-open permits across the breakers sharing the state', async () => {
    const { a, b, clock } = twoReplicas(1);
    await settle(a.execute(fail));
    await settle(a.execute(fail));
    clock.advance(1_000);
    const probe = deferred();
    const first = a.execute(() => probe.promise);
    const second = await settle(b.execute(succeed));
    expect(second.ok).toBe(false);
    probe.resolve('recovered');
    expect(await first).toBe('recovered');
    expect(a.state).toBe('closed');
    expect(b.state).toBe('closed');
  });

  it('a late joiner adopts the state of its peers', async () => {
    const { a, clock } = twoReplicas();
    await settle(a.execute(fail));
    await settle(a.execute(fail));
    const late = new CircuitBreaker('shared', { clock, stateStore: new InMemoryStateStore(), logger: false });
    expect(late.state).toBe('closed'); // another store: not shared
    const store = (a.options.stateStore as InMemoryStateStore);
    const joiner = new CircuitBreaker('shared', { clock, stateStore: store, logger: false, timeoutMs: 0, failureThreshold: 2, recoveryTimeoutMs: 1_000 });
    expect(joiner.state).toBe('open');
  });
});

describe('the binding a store receives', () => {
  it('exposes threshold, half-open permits and the retry time a trip would get', () => {
    let binding: StoreBinding | undefined;
    const stateStore = {
      connect(b: StoreBinding) {
        binding = b;
        return { transitioned() {}, dispose() {} };
      },
    };
    const { breaker } = breakerOnClock({ failureThreshold: 4, halfOpenMaxCalls: 3, recoveryTimeoutMs: 1_000, openBackoff: { maxMs: 10_000, jitter: 0 }, stateStore }, 'b', 0);
    expect(binding!.name).toBe('b');
    expect(binding!.threshold).toBe(4);
    expect(binding!.halfOpenMaxCalls).toBe(3);
    expect(binding!.retryAtFor(5_000, 0)).toBe(6_000);
    expect(binding!.retryAtFor(5_000, 2)).toBe(9_000);
    expect(binding!.snapshot()).toEqual(breaker.toJSON());
  });

  it('a newer generation in the same state is adopted quietly', () => {
    const entries: unknown[] = [];
    const clock = new ManualClock(0);
    const breaker = new CircuitBreaker('q', { clock, logger: (e) => entries.push(e) });
    const events: string[] = [];
    breaker.onStateChange((e) => events.push(e.to));
    const closedAt7: CircuitSnapshot = { state: 'closed', generation: 7, openedAt: null, retryAt: null, failedProbes: 0 };
    breaker.applyRemote(closedAt7);
    expect(breaker.toJSON().generation).toBe(7);
    expect(events).toEqual([]);
    expect(entries).toEqual([]);
    breaker.applyRemote({ state: 'open', generation: 8, openedAt: 0, retryAt: 500, failedProbes: 0 });
    breaker.applyRemote({ state: 'open', generation: 9, openedAt: 0, retryAt: 800, failedProbes: 1 });
    expect(events).toEqual(['open']);
    expect(breaker.getStats().retry_at).toBe(800);
  });
});
