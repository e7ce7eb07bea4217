import { CircuitBreaker, CircuitBreakerError, CircuitBreakerRegistry, ManualClock, markTransient, type PolicyEvent } from '@phlow/circuit-breaker';
import fc from 'fast-check';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { bulkhead } from './bulkhead.js';
import { TimeoutError } from './errors.js';
import { hedge } from './hedge.js';
import { pipeline } from './pipeline.js';
import type { PolicyContext } from './policy.js';
import { rateLimiter } from './rate-limiter.js';
import { retry } from './retry.js';
import { timeout } from './timeout.js';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('pipeline', () => {
  it('runs outermost first: the bulkhead holds one slot across every retry, the breaker counts each attempt', async () => {
    const clock = new ManualClock();
    const registry = new CircuitBreakerRegistry();
    const events: PolicyEvent[] = [];
    registry.onPolicyEvent((e) => events.push(e));
    const breaker = new CircuitBreaker('dep', { failureThreshold: 10, logger: false, clock });
    const bulk = bulkhead({ maxConcurrent: 1, registry });
    const policy = pipeline(bulk, retry({ maxAttempts: 3, clock, registry, backoff: { initialDelayMs: 10, jitter: 'none' } }), breaker);
    const seen: number[] = [];
    const call = policy.execute(({ attempt }) => {
      seen.push(attempt);
      expect(bulk.inFlight).toBe(1);
      if (attempt < 3) throw markTransient(new Error('flaky'));
      return 'ok';
    });
    await flush();
    clock.advance(10);
    await flush();
    clock.advance(20);
    await expect(call).resolves.toBe('ok');
    expect(seen).toEqual([1, 2, 3]);
    expect(bulk.inFlight).toBe(0);
    const stats = breaker.getStats();
    expect([stats.total_calls, stats.total_failures, stats.total_successes]).toEqual([3, 2, 1]);
    expect(events.filter((e) => e.type === 'bulkhead').map((e) => e.type === 'bulkhead' && e.action)).toEqual(['admitted', 'released']);
    expect(events.filter((e) => e.type === 'retry_attempt')).toHaveLength(3);
  });

  it('gives the function the attempt and one signal that the caller, a timeout and a breaker timeout all abort', async () => {
    const clock = new ManualClock();
    const registry = new CircuitBreakerRegistry();
    const policy = pipeline(
      retry({ maxAttempts: 2, clock, registry, retryOn: (e) => TimeoutError.isInstance(e), backoff: { initialDelayMs: 1, jitter: 'none' } }),
      timeout(100, { clock, registry }),
    );
    const signals: AbortSignal[] = [];
    const call = policy.execute(({ signal, attempt }) => {
      signals.push(signal);
      return attempt === 1 ? new Promise(() => {}) : 'second';
    });
    clock.advance(100);
    await flush();
    clock.advance(1);
    await expect(call).resolves.toBe('second');
    expect(signals[0]!.aborted).toBe(true);
    expect(TimeoutError.isInstance(signals[0]!.reason)).toBe(true);
  });

  it("hands a breaker the caller's signal, and the breaker's own signal to the function", async () => {
    const breaker = new CircuitBreaker('timed', { timeoutMs: 1_000, logger: false });
    const controller = new AbortController();
    let inner: AbortSignal | undefined;
    const call = pipeline(retry(), breaker).execute(({ signal }) => {
      inner = signal;
      return new Promise(() => {});
    }, { signal: controller.signal });
    await flush();
    controller.abort(new Error('caller'));
    await expect(call).rejects.toThrow('caller');
    expect(inner!.aborted).toBe(true);
  });

  it('composes pipelines and infers the result type', async () => {
    const inner = pipeline(rateLimiter({ tokensPerSecond: 100 }), hedge({ delayMs: 1_000 }));
    const outer = pipeline(bulkhead({ maxConcurrent: 2 }), inner);
    const value = await outer.execute(async (context) => {
      expectTypeOf(context).toEqualTypeOf<PolicyContext>();
      return { answer: 42 as const };
    });
    expectTypeOf(value).toEqualTypeOf<{ answer: 42 }>();
    expect(value).toEqual({ answer: 42 });
    expect(await pipeline().execute(() => 'empty')).toBe('empty');
  });

  it('refuses a layer without execute', () => {
    expect(() => pipeline({} as never)).toThrow('pipeline: layer 0 must have execute');
  });

  it('property: no retry after a CircuitBreakerError, whatever the classifier says', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.boolean(), { minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 3 }), async (outcomes, threshold) => {
        const clock = new ManualClock();
        const registry = new CircuitBreakerRegistry();
        const breaker = new CircuitBreaker('dep', { failureThreshold: threshold, recoveryTimeoutMs: 60_000, logger: false, clock });
        const events: PolicyEvent[] = [];
        registry.onPolicyEvent((e) => events.push(e));
        const policy = pipeline(retry({ maxAttempts: 5, clock, registry, retryOn: () => true, backoff: { initialDelayMs: 0, maxDelayMs: 0 } }), breaker);
        let index = 0;
        for (let caller = 0; caller < 5; caller++) {
          let settled = false;
          let lastError: unknown;
          const errors: unknown[] = [];
          void policy
            .execute(() => {
              const fails = outcomes[index++ % outcomes.length];
              if (fails) throw new Error('down');
              return 'ok';
            })
            .catch((e: unknown) => (lastError = e))
            .finally(() => (settled = true));
          while (!settled) {
            await flush();
            clock.advance(0);
          }
          errors.push(lastError);
          if (CircuitBreakerError.isInstance(lastError)) {
            // The attempt that met the open breaker was the last one of this call.
            const last = events.filter((e) => e.type === 'retry_gave_up').at(-1);
            expect(last).toMatchObject({ reason: 'not_retryable' });
          }
        }
        // Every attempt after the breaker opened was a first attempt: once open, nothing is retried.
        const afterOpen = events.slice(events.findIndex((e) => e.type === 'retry_gave_up' && e.reason === 'not_retryable') + 1);
        if (breaker.state === 'open') {
          expect(afterOpen.filter((e) => e.type === 'retry_attempt' && e.attempt > 1)).toEqual([]);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('property: an abort ends a pipeline within one tick, whatever the layers are doing', async () => {
    let aborted = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.subarray(['bulkhead', 'retry', 'timeout', 'hedge', 'breaker', 'rate'] as const, { minLength: 1 }),
        fc.integer({ min: 0, max: 3 }),
        async (kinds, waitTicks) => {
          const clock = new ManualClock();
          const registry = new CircuitBreakerRegistry();
          const bulk = bulkhead({ maxConcurrent: 1, maxQueue: 10, clock, registry });
          const layers = kinds.map((kind) => {
            switch (kind) {
              case 'bulkhead':
                return bulk;
              case 'retry':
                return retry({ maxAttempts: 5, clock, registry, retryOn: () => true, backoff: { initialDelayMs: 1_000, jitter: 'none' } });
              case 'timeout':
                return timeout(60_000, { clock, registry });
              case 'hedge':
                return hedge({ delayMs: 10, clock, registry });
              case 'breaker':
                return new CircuitBreaker('dep', { timeoutMs: 60_000, logger: false, clock });
              case 'rate':
                return rateLimiter({ tokensPerSecond: 1_000, clock, registry });
            }
          });
          const policy = pipeline(...layers);
          // Occupy the bulkhead so the call under test may be queued, or be waiting for a retry, or hang.
          const blocker = kinds.includes('bulkhead') ? bulk.execute(() => new Promise(() => {})) : undefined;
          void blocker;
          const controller = new AbortController();
          let outcome: unknown = 'pending';
          void policy
            // With a retry, the first attempt fails so the call sits in a backoff wait; otherwise it hangs.
            .execute(({ attempt }) => (attempt === 1 && kinds.includes('retry') ? Promise.reject(new Error('first fails')) : new Promise(() => {})), {
              signal: controller.signal,
            })
            .then(
              () => (outcome = 'resolved'),
              (e: unknown) => (outcome = e),
            );
          for (let i = 0; i < waitTicks; i++) {
            await flush();
            clock.advance(5);
          }
          expect(outcome).toBe('pending');
          aborted++;
          const reason = new Error('abort');
          controller.abort(reason);
          await Promise.resolve(); // one tick
          await Promise.resolve();
          expect(outcome).toBe(reason);
        },
      ),
      { numRuns: 200 },
    );
    expect(aborted).toBeGreaterThanOrEqual(200);
  });
});
