// Attacks found in review: each failed before its fix.
import { CircuitOpenError, CircuitBreakerRegistry, ManualClock, markTransient } from '@phlow/circuit-breaker';
import { describe, expect, it } from 'vitest';
import { bulkhead } from './bulkhead.js';
import { BulkheadRejectedError } from './errors.js';
import { fallback } from './fallback.js';
import { retry } from './retry.js';

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
    for (const inner of [new CircuitOpenError('b', 1000), BulkheadRejectedError.create('bh', 'full', 1, 0, 1)]) {
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
});
