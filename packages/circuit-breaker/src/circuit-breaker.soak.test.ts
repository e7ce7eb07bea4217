import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { CallContext } from './call-context.js';
import { breakerOnClock, DependencyDown, flush } from './test-helpers.test-util.js';

/** A seeded generator, so a failing soak run can be replayed. */
function seeded(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('soak', () => {
  it('1M calls with random failures, timeouts and aborts: counters reconcile, nothing leaks', async () => {
    const random = seeded(20261127);
    const { breaker, clock } = breakerOnClock(
      {
        timeoutMs: 100,
        recoveryTimeoutMs: 50,
        halfOpenMaxCalls: 5,
        failurePolicy: { type: 'count-window', size: 100, minimumCalls: 20, failureRateThreshold: 0.6 },
        expectedError: DependencyDown,
        openBackoff: { maxMs: 400, multiplier: 2, jitter: 0.5 },
        random,
      },
      'soak',
      0,
    );
    let transitions = 0;
    const listener = breaker.onStateChange(() => transitions++);
    const signals: AbortSignal[] = [];
    const settledBy = { value: 0, error: 0 };
    const batches = 1_000;
    const perBatch = 1_000;
    const notCounted = new TypeError('caller bug');
    const down = new DependencyDown('down');
    let ignoringAbort = 0;

    for (let batch = 0; batch < batches; batch++) {
      const controller = new AbortController();
      if (batch % 100 === 0) signals.push(controller.signal);
      const pending: Promise<unknown>[] = [];
      const toAbort = random() < 0.5;
      // Failure-heavy phases make the breaker open and recover many times over the run.
      const failureRate = batch % 10 < 3 ? 0.8 : 0.1;
      for (let i = 0; i < perBatch; i++) {
        const roll = random();
        let fn: (context: CallContext) => Promise<unknown> | unknown;
        if (roll < failureRate * 0.8) fn = () => Promise.reject(down);
        else if (roll < failureRate) {
          // Hangs until the timeout; most honour the abort like fetch, a few ignore it (abandoned if a probe).
          fn =
            i % 50 === 0
              ? () => (ignoringAbort++, new Promise(() => {}))
              : ({ signal }: CallContext) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
        }
        else if (roll < failureRate + 0.05) fn = () => Promise.reject(notCounted);
        else if (roll < failureRate + 0.1) fn = () => 'sync';
        else fn = () => Promise.resolve('ok');
        const useSignal = toAbort && i % 7 === 0;
        pending.push(
          breaker.execute(fn, useSignal ? { signal: controller.signal } : undefined).then(
            () => settledBy.value++,
            () => settledBy.error++,
          ),
        );
      }
      if (toAbort) controller.abort(new Error('caller gave up'));
      await flush();
      clock.advance(102); // every hung call times out (deadlines may be up to two 1 ms ticks late)
      await Promise.all(pending);
    }

    const stats = breaker.getStats();
    expect(stats.total_calls).toBe(batches * perBatch);
    expect(settledBy.value + settledBy.error).toBe(batches * perBatch);
    // Only probes whose functions ignored the abort are still running, and they are reported.
    expect(stats.in_flight).toBe(stats.abandoned_probes);
    expect(stats.abandoned_probes).toBeLessThanOrEqual(ignoringAbort);
    expect(stats.total_calls).toBe(stats.total_successes + stats.total_failures + stats.total_rejections + stats.total_ignored);
    expect(stats.total_timeouts).toBeGreaterThan(0);
    expect(stats.total_timeouts).toBeLessThanOrEqual(stats.total_failures);
    expect(stats.total_rejections).toBeGreaterThan(0);
    expect(stats.total_ignored).toBeGreaterThan(0);
    expect(transitions).toBeGreaterThan(10);

    // Nothing left behind: no timers, no abort listeners on callers' signals.
    clock.advance(102);
    expect(clock.pendingTimers).toBe(0);
    expect(breaker.activeTimers).toBe(0);
    for (const signal of signals) expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    listener.dispose();
  }, 180_000);
});
