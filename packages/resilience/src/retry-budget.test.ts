import { CircuitBreakerRegistry, ManualClock, markTransient } from '@phlow/circuit-breaker';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { retry } from './retry.js';
import { retryBudget } from './retry-budget.js';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('retryBudget', () => {
  it('allows ratio × first attempts plus the floor over the window', () => {
    const clock = new ManualClock();
    const budget = retryBudget({ ratio: 0.1, minRetriesPerSecond: 1, windowMs: 10_000, clock });
    for (let i = 0; i < 100; i++) budget.recordRequest();
    // 0.1 × 100 + 1/s × 10 s = 20
    let granted = 0;
    while (budget.tryAcquire()) granted++;
    expect(granted).toBe(20);
    expect(budget.available).toBe(0);
  });

  it('slides: what leaves the window gives its retries back and takes its deposits with it', () => {
    const clock = new ManualClock();
    const budget = retryBudget({ ratio: 1, minRetriesPerSecond: 0, windowMs: 1_000, clock });
    for (let i = 0; i < 10; i++) budget.recordRequest();
    for (let i = 0; i < 10; i++) expect(budget.tryAcquire()).toBe(true);
    expect(budget.tryAcquire()).toBe(false);
    clock.advance(1_100);
    expect(budget.stats()).toEqual({ requests: 0, retries: 0, available: 0 });
    budget.recordRequest();
    expect(budget.tryAcquire()).toBe(true);
    expect(budget.tryAcquire()).toBe(false);
  });

  it('a clock that steps back only makes it stricter (the window is forgotten), never looser or NaN', () => {
    const clock = new ManualClock();
    const backwards = { now: () => clock.now(), monotonicNow: () => -clock.monotonicNow(), setTimeout: clock.setTimeout.bind(clock), clearTimeout: clock.clearTimeout.bind(clock) };
    const budget = retryBudget({ ratio: 1, minRetriesPerSecond: 1, windowMs: 1_000, clock: backwards });
    for (let i = 0; i < 40; i++) budget.recordRequest();
    clock.advance(500);
    const { requests, retries, available } = budget.stats();
    expect(Number.isFinite(requests) && Number.isFinite(retries)).toBe(true);
    expect(available).toBeLessThanOrEqual(40 + 1);
    expect(available).toBeGreaterThanOrEqual(1); // the floor is always there
  });

  it('validates its options', () => {
    expect(() => retryBudget({ ratio: -0.1 })).toThrow('retryBudget: ratio must be');
    expect(() => retryBudget({ ratio: Number.NaN })).toThrow(RangeError);
    expect(() => retryBudget({ windowMs: 5 })).toThrow('retryBudget: windowMs');
    expect(() => retryBudget({ minRetriesPerSecond: Infinity })).toThrow('retryBudget: minRetriesPerSecond');
    expect(() => retryBudget({ window: 1 } as never)).toThrow('unknown option "window"');
  });

  it('property: retries shared by several policies never exceed ratio × first attempts + the floor', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          ratio: fc.double({ min: 0, max: 1, noNaN: true }),
          floor: fc.integer({ min: 0, max: 5 }),
          policies: fc.integer({ min: 1, max: 4 }),
          calls: fc.array(fc.tuple(fc.nat({ max: 3 }), fc.boolean(), fc.integer({ min: 0, max: 400 })), { minLength: 1, maxLength: 60 }),
        }),
        async ({ ratio, floor, policies, calls }) => {
          const clock = new ManualClock();
          const registry = new CircuitBreakerRegistry();
          const windowMs = 1_000;
          const budget = retryBudget({ ratio, minRetriesPerSecond: floor, windowMs, clock });
          const retries = Array.from({ length: policies }, () => retry({ clock, registry, budget, maxAttempts: 4, backoff: { initialDelayMs: 0, maxDelayMs: 0 } }));
          let firstAttempts = 0;
          let attempts = 0;
          const started = clock.monotonicNow();
          for (const [which, fails, gap] of calls) {
            clock.advance(gap);
            firstAttempts++;
            let settled = false;
            void retries[which % policies]!
              .execute(() => {
                attempts++;
                if (fails) throw markTransient(new Error('down'));
                return 'ok';
              })
              .catch(() => {})
              .finally(() => (settled = true));
            while (!settled) {
              await flush();
              clock.advance(0);
            }
          }
          const elapsed = clock.monotonicNow() - started;
          const windows = Math.ceil(elapsed / windowMs) + 1;
          // Each window may spend its deposits and its floor once.
          expect(attempts - firstAttempts).toBeLessThanOrEqual(Math.floor(ratio * firstAttempts + floor * (windowMs / 1000) * windows) + 0);
        },
      ),
      { numRuns: 100 },
    );
  });
});
