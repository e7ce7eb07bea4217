// Attacks found in review: each failed before its fix.
import { CircuitBreaker, CircuitOpenError, ManualClock, markTransient } from '@phlow/circuit-breaker';
import { describe, expect, it } from 'vitest';
import { adaptiveLimit } from './adaptive-limit.js';
import { bulkhead } from './bulkhead.js';
import { BulkheadRejectedError, RateLimitedError, TimeoutError } from './errors.js';
import { bulkheadFamily } from './bulkhead-family.js';
import { fallback } from './fallback.js';
import { pipeline } from './pipeline.js';
import { hedge } from './hedge.js';
import { rateLimiter } from './rate-limiter.js';
import { timeout } from './timeout.js';
import { retry } from './retry.js';
import { retryBudget } from './retry-budget.js';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('review attacks', () => {
  it('a queue of 100 000 waiters that all throw synchronously drains without overflowing the stack and frees every slot', async () => {
    const bulk = bulkhead({ maxConcurrent: 1, maxQueue: 100_000 });
    let release!: () => void;
    const first = bulk.execute(() => new Promise<void>((r) => (release = r)));
    const queued = Array.from({ length: 100_000 }, (_, i) =>
      bulk.execute(() => {
        throw new Error(`sync ${i}`);
      }).catch((e: unknown) => e),
    );
    release();
    await first;
    const outcomes = await Promise.all(queued);
    expect(outcomes.every((o, i) => o instanceof Error && o.message === `sync ${i}`)).toBe(true);
    expect(bulk.inFlight).toBe(0);
    expect(bulk.queued).toBe(0);
  });

  it('no attempt starts after the deadline when the event loop stalled through the backoff', async () => {
    const clock = new ManualClock();
    const policy = retry({ clock, deadlineMs: 1_000, maxAttempts: 10, backoff: { initialDelayMs: 100, jitter: 'none' } });
    let calls = 0;
    const call = policy.execute(() => {
      calls++;
      throw markTransient(new Error('down'));
    }).catch((e: unknown) => e);
    await flush();
    expect(calls).toBe(1);
    clock.stall(5_000);
    clock.advance(0);
    await flush();
    const outcome = await call;
    expect((outcome as Error).message).toBe('down');
    expect(calls).toBe(1);
  });

  it('never retries a rejection wrapped in the cause of another error, even when retryOn says yes', async () => {
    const clock = new ManualClock();
    const policy = retry({ clock, retryOn: () => true, maxAttempts: 5, backoff: { initialDelayMs: 1, jitter: 'none' } });
    const open = new CircuitBreaker('open', { logger: false });
    open.forceOpen();
    const openError: unknown = await open.execute(() => 1).catch((e: unknown) => e);
    expect(CircuitOpenError.isInstance(openError)).toBe(true);
    for (const inner of [openError, BulkheadRejectedError.create('bh', 'full', 1, 0, 1)]) {
      let calls = 0;
      const wrapped = new Error('wrapped', { cause: new Error('mid', { cause: inner }) });
      const call = policy.execute(() => {
        calls++;
        throw wrapped;
      }).catch((e: unknown) => e);
      for (let i = 0; i < 5; i++) {
        await flush();
        clock.advance(10);
      }
      expect(await call).toBe(wrapped);
      expect(calls).toBe(1);
    }
  });

  it('a cause cycle does not hang the classification', async () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    const clock = new ManualClock();
    const policy = retry({ clock, retryOn: () => false });
    await expect(policy.execute(() => { throw a; })).rejects.toBe(a);
  });

  it('an abort during a tier that ignores its signal ends the fallback at once', async () => {
    const chain = fallback({ name: 'stuck', run: () => new Promise<never>(() => {}) }, { name: 'b', run: () => 'b' });
    const controller = new AbortController();
    const call = chain.execute({ signal: controller.signal });
    const reason = new Error('gone');
    controller.abort(reason);
    const outcome = await Promise.race([call.catch((e: unknown) => e), flush().then(() => 'still pending')]);
    expect(outcome).toBe(reason);
  });
  it('a caller abort ends retry, bulkhead and rateLimiter calls at once even when the function ignores its signal; the late failure is unhandled nowhere', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const bulk = bulkhead({ maxConcurrent: 1 });
      const policies = [retry({ clock: new ManualClock() }), bulk, rateLimiter({ tokensPerSecond: 10 }), bulkheadFamily({ maxConcurrent: 1 })];
      for (const policy of policies) {
        let fail!: (error: Error) => void;
        const controller = new AbortController();
        const fn = () => new Promise<never>((_, reject) => (fail = reject));
        const call = policy instanceof Object && 'get' in policy ? policy.execute('k', fn, { signal: controller.signal }) : (policy as typeof bulk).execute(fn, { signal: controller.signal });
        const reason = new Error('caller left');
        controller.abort(reason);
        const outcome = await Promise.race([call.catch((e: unknown) => e), flush().then(() => 'still pending')]);
        expect(outcome).toBe(reason);
        fail(new Error('late'));
        await flush();
      }
      // The slot stays taken until the function really settles: the bulkhead never runs more than its limit.
      expect(bulk.inFlight).toBe(0);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('hedge and timeout leave no unhandled rejection when losers and late calls fail after the answer', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const clock = new ManualClock();
      const h = hedge({ clock, delayMs: 10, maxHedged: 3 });
      const signals: AbortSignal[] = [];
      const fails: ((e: Error) => void)[] = [];
      const call = h.execute(({ signal }) => {
        signals.push(signal);
        return new Promise<string>((resolve, reject) => {
          fails.push(reject);
          if (signals.length === 3) resolve('third');
        });
      });
      for (let i = 0; i < 3; i++) {
        await flush();
        clock.advance(10);
      }
      expect(await call).toBe('third');
      expect(signals.length).toBe(3);
      expect(signals.map((s) => s.aborted)).toEqual([true, true, false]);
      for (const f of fails) f(new Error('loser'));
      const t = timeout(5, { clock });
      let late!: (e: Error) => void;
      const timed = t.execute(() => new Promise<never>((_, reject) => (late = reject))).catch((e: unknown) => e);
      clock.advance(5);
      expect((await timed as Error).name).toBe('TimeoutError');
      late(new Error('late'));
      await flush();
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('a bulkheadFamily keyed by hostile strings keeps them apart and bounded', async () => {
    const family = bulkheadFamily({ maxConcurrent: 1, maxKeys: 3 });
    for (const key of ['__proto__', 'constructor', 'x'.repeat(100_000)]) expect(await family.execute(key, () => key)).toBe(key);
    expect(family.size).toBe(3);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    for (let i = 0; i < 10_000; i++) await family.execute(`k${i}`, () => i);
    expect(family.size).toBe(3);
  });
  it('an invalid budget names the option, the value and what is allowed', () => {
    expect(() => retry({ budget: { tryAcquire: 1 } as never })).toThrow(/retry: budget must be a RetryBudget \(from retryBudget\(\)\); got .*tryAcquire/);
  });
  it('a wall clock stepping back (no monotonicNow) does not refill the retry budget', () => {
    let now = 1_000_000;
    const clock = { now: () => now, setTimeout: () => 0, clearTimeout: () => {} };
    const budget = retryBudget({ ratio: 0, minRetriesPerSecond: 1, windowMs: 1_000, clock });
    expect(budget.tryAcquire()).toBe(true);
    expect(budget.tryAcquire()).toBe(false);
    for (let i = 0; i < 5; i++) {
      now -= 150; // an NTP step back, across a bucket edge
      expect(budget.tryAcquire()).toBe(false);
    }
    now += 5 * 150 + 1_000; // a whole window after the retry: the floor is back
    expect(budget.tryAcquire()).toBe(true);
  });
  it('an onLimitChange listener that throws neither fails the call nor keeps its slot', async () => {
    const clock = new ManualClock();
    const limit = adaptiveLimit({ algorithm: 'aimd', initialLimit: 2, maxLimit: 10 });
    limit.onLimitChange(() => {
      throw new Error('listener bug');
    });
    const bulk = bulkhead({ maxConcurrent: limit, clock });
    for (let i = 0; i < 5; i++) expect(await bulk.execute(() => i)).toBe(i);
    expect(limit.limit).toBeGreaterThan(2);
    expect(bulk.inFlight).toBe(0);
  });
  it('a policy inside a bulkhead that throws synchronously (a clock of yours that throws) gives the slot back', async () => {
    let broken = false;
    const clock = { now: () => 0, monotonicNow: () => { if (broken) throw new Error('clock broke'); return 0; }, setTimeout: () => 0, clearTimeout: () => {} };
    const bulk = bulkhead({ maxConcurrent: 1 });
    const policy = pipeline(bulk, rateLimiter({ tokensPerSecond: 10, clock }));
    broken = true;
    await expect(policy.execute(() => 1)).rejects.toThrow('clock broke');
    expect(bulk.inFlight).toBe(0);
    broken = false;
    expect(await policy.execute(() => 2)).toBe(2);
  });
  it('marks its errors with the keys @phlow/a2a recognises them by (it does not import this package)', () => {
    const marked = (value: object, key: string) => (value as Record<symbol, unknown>)[Symbol.for(key)] === true;
    expect(marked(BulkheadRejectedError.prototype, 'phlow.resilience.bulkhead-rejected-error')).toBe(true);
    expect(marked(RateLimitedError.prototype, 'phlow.resilience.rate-limited-error')).toBe(true);
    expect(marked(TimeoutError.prototype, 'phlow.resilience.timeout-error')).toBe(true);
  });
});
