import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './circuit-breaker.js';
import { CircuitOpenError } from './errors.js';
import { InMemoryStateStore } from './in-memory-state-store.js';
import type { CircuitLogEntry } from './json-logger.js';
import { ManualClock } from './manual-clock.js';
import { breakerOnClock, deferred, DependencyDown, fail, flush, settle } from './test-helpers.test-util.js';

/** Values whose `then` runs hostile code: a throwing getter, a Proxy, a promise with a throwing own `then`. */
function poisonResults() {
  const boom = new DependencyDown('then getter');
  const getter = Object.defineProperty({}, 'then', { get: () => { throw boom; } });
  const proxy = new Proxy({}, { get: (_, key) => { if (key === 'then') throw boom; return undefined; } });
  const ownThen = Promise.resolve('x');
  Object.defineProperty(ownThen, 'then', { value: () => { throw boom; } });
  const prototypeTrap = new Proxy({}, { getPrototypeOf: () => { throw boom; }, get: () => { throw boom; } });
  return { boom, values: { getter, proxy, ownThen, prototypeTrap } };
}

describe('a result whose `then` throws', () => {
  const paths = {
    'untimed hot path': { timeoutMs: 0 },
    'timed (guarded) path': { timeoutMs: 1_000 },
    'timed breaker (policy reads the clock)': {
      timeoutMs: 0,
      failurePolicy: { type: 'time-window', windowMs: 1_000, minimumCalls: 1_000, failureRateThreshold: 1 },
    },
  } as const;

  for (const [path, options] of Object.entries(paths)) {
    it(`${path}: rejects with the error, counts it, leaves nothing in flight`, async () => {
      const { boom, values } = poisonResults();
      const { breaker } = breakerOnClock('failurePolicy' in options ? options : { failureThreshold: 100, ...options });
      for (const [kind, value] of Object.entries(values)) {
        let outcome: ReturnType<typeof settle> | undefined;
        expect(() => (outcome = settle(breaker.execute(() => value))), kind).not.toThrow();
        const result = await outcome!;
        expect(result, kind).toEqual({ ok: false, error: boom });
      }
      // Warm the hot path's shared handlers first, then poison it too.
      await breaker.execute(() => Promise.resolve(1));
      const result = await settle(breaker.execute(() => values.ownThen));
      expect(result).toEqual({ ok: false, error: boom });
      const stats = breaker.getStats();
      expect(stats.in_flight).toBe(0);
      expect(stats.total_failures).toBe(Object.keys(values).length + 1);
      expect(stats.total_calls).toBe(stats.total_successes + stats.total_failures + stats.total_rejections + stats.total_ignored);
    });
  }

  it('with a caller signal: the same, and the signal listener is removed', async () => {
    const { boom, values } = poisonResults();
    const { breaker } = breakerOnClock({ failureThreshold: 100 });
    const controller = new AbortController();
    for (const value of Object.values(values)) {
      expect(await settle(breaker.execute(() => value, { signal: controller.signal }))).toEqual({ ok: false, error: boom });
    }
    expect(breaker.inFlight).toBe(0);
    controller.abort(); // nothing left listening: must not touch the settled calls
    expect(breaker.getStats().total_ignored).toBe(0);
  });
});

describe('a half-open call refused the fleet permit', () => {
  it('carries a retry time (another replica holds the permit: it settles or is declared stuck within halfOpenMaxWaitMs)', async () => {
    const clock = new ManualClock(0);
    const store = new InMemoryStateStore(1);
    const options = { clock, stateStore: store, logger: false as const, failureThreshold: 1, recoveryTimeoutMs: 1_000, timeoutMs: 0, halfOpenMaxWaitMs: 5_000 };
    const a = new CircuitBreaker('shared', options);
    const b = new CircuitBreaker('shared', options);
    await settle(a.execute(fail));
    expect(b.state).toBe('open');
    clock.advance(1_000);
    const probe = deferred();
    const held = a.execute(() => probe.promise); // takes the fleet's only permit
    await flush();
    clock.advance(10);
    const refused = await settle(b.execute(() => 'never runs'));
    const error = (refused as { error: CircuitOpenError }).error;
    expect(CircuitOpenError.isInstance(error)).toBe(true);
    expect(error.state).toBe('half_open');
    expect(error.retryAt).toBe(1_010 + 5_000);
    expect(error.retryAfterMs).toBe(5_000);
    probe.resolve('ok');
    await held;
  });

  it('with a store whose acquireProbe answers false (seam test, no real Redis here)', async () => {
    const stateStore = { connect: () => ({ transitioned() {}, acquireProbe: async () => false, dispose() {} }) };
    const { breaker, clock } = breakerOnClock({ failureThreshold: 1, recoveryTimeoutMs: 1_000, halfOpenMaxWaitMs: 2_000, stateStore }, 'seam', 0);
    await settle(breaker.execute(fail));
    clock.advance(1_000);
    const refused = await settle(breaker.execute(() => 'never runs'));
    const error = (refused as { error: CircuitOpenError }).error;
    expect(error.retryAt).toBe(3_000);
    expect(error.retryAfterMs).toBe(2_000);
    expect(breaker.getStats()).toMatchObject({ in_flight: 0, total_rejections: 1, state: 'half_open' });
  });
});

describe('listener and classifier errors are logged as what they are', () => {
  it('a distinct entry: event listener_error, level warning, the error — no fake state change', async () => {
    const entries: CircuitLogEntry[] = [];
    const clock = new ManualClock(0);
    const breaker = new CircuitBreaker('noisy', {
      clock,
      timeoutMs: 0,
      failureThreshold: 1,
      logger: (entry) => entries.push(entry),
      classifyResult: () => {
        throw new TypeError('classifier bug');
      },
    });
    breaker.onStateChange(() => {
      throw new RangeError('listener bug');
    });
    await breaker.execute(() => 'value');
    await settle(breaker.execute(fail));
    const errors = entries.filter((e) => e.event === 'listener_error');
    expect(errors).toEqual([
      {
        timestamp: 0,
        level: 'warning',
        event: 'listener_error',
        message: 'Circuit breaker noisy: a listener or classifier threw: TypeError: classifier bug',
        name: 'noisy',
        generation: 0,
        state: 'closed',
        error: 'TypeError: classifier bug',
      },
      expect.objectContaining({ event: 'listener_error', error: 'RangeError: listener bug', state: 'open', generation: 1 }),
    ]);
    for (const entry of errors) for (const key of ['from', 'to', 'reason']) expect(entry).not.toHaveProperty(key);
    const changes = entries.filter((e) => e.event === 'state_change');
    expect(changes).toEqual([expect.objectContaining({ from: 'closed', to: 'open', reason: 'failure_threshold' })]);
  });

  it('a thrown value that cannot even be turned into text is still logged', async () => {
    const entries: CircuitLogEntry[] = [];
    const { breaker } = breakerOnClock({ logger: (e) => entries.push(e), failureThreshold: 1 });
    breaker.onStateChange(() => {
      throw Object.create(null); // String() of this throws
    });
    await settle(breaker.execute(fail));
    expect(entries.find((e) => e.event === 'listener_error')?.error).toBe('[object Object]');
  });
});
