import { CircuitBreakerRegistry, ManualClock, type PolicyEvent } from '@phlow/circuit-breaker';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bulkhead } from './bulkhead.js';
import { BulkheadRejectedError } from './errors.js';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('bulkhead', () => {
  it('runs maxConcurrent calls, queues maxQueue, rejects the rest with BulkheadRejectedError, and reports it all', async () => {
    const registry = new CircuitBreakerRegistry();
    const events: PolicyEvent[] = [];
    registry.onPolicyEvent((e) => events.push(e));
    const policy = bulkhead({ name: 'peer', maxConcurrent: 2, maxQueue: 1, registry });
    const gates = [deferred(), deferred(), deferred()];
    let started = 0;
    const calls = gates.map((gate) => policy.execute(() => { started++; return gate.promise; }));
    const rejected = await policy.execute(() => 'never').catch((e: unknown) => e);
    expect(BulkheadRejectedError.isInstance(rejected)).toBe(true);
    expect(rejected).toMatchObject({ policy: 'peer', reason: 'full', inFlight: 2, queued: 1, limit: 2 });
    expect(started).toBe(2);
    expect([policy.inFlight, policy.queued]).toEqual([2, 1]);
    gates[0]!.resolve();
    await flush();
    expect(started).toBe(3);
    gates[1]!.resolve();
    gates[2]!.resolve();
    await Promise.all(calls);
    expect([policy.inFlight, policy.queued]).toEqual([0, 0]);
    const actions = events.map((e) => e.type === 'bulkhead' && `${e.action}:${e.inFlight}/${e.queued}`);
    expect(actions.slice(0, 4)).toEqual(['admitted:1/0', 'admitted:2/0', 'queued:2/1', 'rejected:2/1']);
    expect(actions).toContain('released:0/0');
  });

  it('rejects a queued call after queueTimeoutMs and never runs it', async () => {
    const clock = new ManualClock();
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 5, queueTimeoutMs: 1_000, clock, registry: new CircuitBreakerRegistry() });
    const gate = deferred();
    const first = policy.execute(() => gate.promise);
    let ran = false;
    const queued = policy.execute(() => { ran = true; }).catch((e: unknown) => e);
    clock.advance(1_000);
    expect(await queued).toMatchObject({ reason: 'queue_timeout' });
    gate.resolve();
    await first;
    await flush();
    expect(ran).toBe(false);
    expect(clock.pendingTimers).toBe(0);
  });

  it('a queued call leaves at once when its caller aborts; an abort storm leaves nothing behind', async () => {
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 10_000, registry: new CircuitBreakerRegistry() });
    const gate = deferred();
    const first = policy.execute(() => gate.promise);
    const controllers = Array.from({ length: 10_000 }, () => new AbortController());
    const queued = controllers.map((c) => policy.execute(() => 'ran', { signal: c.signal }).catch((e: unknown) => e));
    expect(policy.queued).toBe(10_000);
    for (const c of controllers) c.abort(new Error('gone'));
    expect(policy.queued).toBe(0);
    const outcomes = await Promise.all(queued);
    expect(outcomes.every((o) => o instanceof Error && o.message === 'gone')).toBe(true);
    // The queue still works after the storm.
    const after = policy.execute(() => 'after');
    gate.resolve();
    await first;
    await expect(after).resolves.toBe('after');
  });

  it('releases its slot when the function throws synchronously or returns a plain value', async () => {
    const policy = bulkhead({ maxConcurrent: 1, registry: new CircuitBreakerRegistry() });
    await expect(policy.execute(() => { throw new Error('sync'); })).rejects.toThrow('sync');
    await expect(policy.execute(() => 42)).resolves.toBe(42);
    expect(policy.inFlight).toBe(0);
  });

  it('validates its options', () => {
    expect(() => bulkhead({ maxConcurrent: 0 })).toThrow('bulkhead: maxConcurrent must be an integer >= 1; got 0');
    expect(() => bulkhead({ maxConcurrent: '3' as never })).toThrow('bulkhead: maxConcurrent must be an integer >= 1 or an adaptiveLimit()');
    expect(() => bulkhead({ maxConcurrent: 1, maxQueue: -1 })).toThrow('bulkhead: maxQueue');
    expect(() => bulkhead({ maxConcurrent: 1, queueTimeoutMs: 0 })).toThrow('bulkhead: queueTimeoutMs');
    expect(() => bulkhead(undefined as never)).toThrow('bulkhead options must be an object');
  });

  it('property: never more than maxConcurrent running, never more than maxQueue waiting', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 5 }),
        fc.array(fc.oneof(fc.constant('call' as const), fc.constant('finish' as const), fc.constant('fail' as const), fc.constant('abort' as const)), { maxLength: 80 }),
        async (maxConcurrent, maxQueue, steps) => {
          const policy = bulkhead({ maxConcurrent, maxQueue, registry: new CircuitBreakerRegistry() });
          let running = 0;
          let peak = 0;
          const gates: ReturnType<typeof deferred<void>>[] = [];
          const controllers: AbortController[] = [];
          const calls: Promise<unknown>[] = [];
          for (const step of steps) {
            if (step === 'call') {
              const controller = new AbortController();
              controllers.push(controller);
              calls.push(
                policy
                  .execute(async () => {
                    running++;
                    peak = Math.max(peak, running);
                    const gate = deferred();
                    gates.push(gate);
                    try {
                      await gate.promise;
                    } finally {
                      running--;
                    }
                  }, { signal: controller.signal })
                  .catch(() => {}),
              );
            } else if (step === 'abort') controllers.shift()?.abort();
            else {
              const gate = gates.shift();
              if (step === 'finish') gate?.resolve();
              else gate?.reject(new Error('x'));
            }
            await flush();
            expect(policy.inFlight).toBeLessThanOrEqual(maxConcurrent);
            expect(policy.queued).toBeLessThanOrEqual(maxQueue);
            expect(running).toBeLessThanOrEqual(maxConcurrent);
          }
          while (gates.length > 0 || policy.inFlight > 0) {
            gates.shift()?.resolve();
            await flush();
          }
          await Promise.all(calls);
          expect(peak).toBeLessThanOrEqual(maxConcurrent);
        },
      ),
      { numRuns: 150 },
    );
  });
});
