// Hostile inputs: what a dependency, a caller or a misconfiguration can throw at the policies.
import { CircuitBreaker, CircuitBreakerRegistry, ManualClock, markTransient } from '@phlow/circuit-breaker';
import { describe, expect, it } from 'vitest';
import { bulkhead } from './bulkhead.js';
import { fallback } from './fallback.js';
import { hedge } from './hedge.js';
import { pipeline } from './pipeline.js';
import { rateLimiter } from './rate-limiter.js';
import { retry } from './retry.js';
import { timeout } from './timeout.js';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('attacks', () => {
  it('an abort storm over 1 000 calls waiting for a retry ends every wait at once and leaves no timer', async () => {
    const clock = new ManualClock();
    const registry = new CircuitBreakerRegistry();
    const policy = pipeline(bulkhead({ maxConcurrent: 2_000, registry }), retry({ clock, registry, maxAttempts: 10, backoff: { initialDelayMs: 60_000, jitter: 'none' } }));
    const controllers = Array.from({ length: 1_000 }, () => new AbortController());
    const calls = controllers.map((c) => policy.execute(() => { throw markTransient(new Error('down')); }, { signal: c.signal }).catch((e: unknown) => e));
    await flush();
    expect(clock.pendingTimers).toBe(1_000);
    const reason = new Error('storm');
    for (const c of controllers) c.abort(reason);
    const outcomes = await Promise.all(calls);
    expect(outcomes.every((o) => o === reason)).toBe(true);
    expect(clock.pendingTimers).toBe(0);
  });

  it('a thenable whose then throws, or a Proxy result whose traps throw, settles the call and frees its slot', async () => {
    const registry = new CircuitBreakerRegistry();
    const bulk = bulkhead({ maxConcurrent: 1, registry });
    const policy = pipeline(bulk, retry({ registry, retryOn: () => true, maxAttempts: 1 }), new CircuitBreaker('hostile', { logger: false }));
    const evil = { then() { throw new Error('evil then'); } };
    await expect(policy.execute(() => evil as unknown as Promise<never>)).rejects.toThrow('evil then');
    expect(bulk.inFlight).toBe(0);
    const trap = () => { throw new Error('trap'); };
    const proxy = new Proxy({}, { get: trap, getOwnPropertyDescriptor: trap, has: trap, ownKeys: trap, getPrototypeOf: trap });
    // Resolving a promise with it reads its `then` (JavaScript's rule), so the call rejects with the trap's
    // error; what matters is that it settles (no synchronous throw), is not retried and gives its slot back.
    let calls = 0;
    await expect(pipeline(bulk, retry({ registry })).execute(() => { calls++; return proxy; })).rejects.toThrow('trap');
    expect(calls).toBe(1);
    expect(bulk.inFlight).toBe(0);
  });

  it('options with prototype-pollution keys are refused, and Object.prototype stays clean', () => {
    for (const build of [
      (o: object) => retry(o),
      (o: object) => bulkhead({ maxConcurrent: 1, ...o }),
      (o: object) => timeout(10, o),
      (o: object) => rateLimiter({ tokensPerSecond: 1, ...o }),
      (o: object) => hedge({ delayMs: 1, ...o }),
      (o: object) => fallback(o, { name: 'a', run: () => 1 }),
    ]) {
      expect(() => build(JSON.parse('{"__proto__": {"polluted": true}}'))).toThrow(/unknown option "__proto__"/);
      expect(() => build(JSON.parse('{"constructor": {"prototype": {"polluted": true}}}'))).toThrow(/unknown option "constructor"/);
    }
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('NaN, negative, huge and non-number options are refused, naming the option', () => {
    for (const bad of [Number.NaN, -1, Infinity, '5', null, 1.5]) {
      expect(() => retry({ maxAttempts: bad as number })).toThrow(/retry: maxAttempts/);
      expect(() => bulkhead({ maxConcurrent: bad as number })).toThrow(/bulkhead: maxConcurrent/);
      expect(() => rateLimiter({ tokensPerSecond: 1, burst: bad as number })).toThrow(/rateLimiter: burst/);
    }
    for (const bad of [Number.NaN, -1, Infinity, 2 ** 40]) {
      expect(() => retry({ deadlineMs: bad })).toThrow(/retry: deadlineMs/);
      expect(() => timeout(bad)).toThrow(/timeout: timeoutMs/);
      expect(() => bulkhead({ maxConcurrent: 1, queueTimeoutMs: bad })).toThrow(/bulkhead: queueTimeoutMs/);
    }
  });

  it('a random source that returns garbage never makes a wait NaN or negative', async () => {
    for (const random of [() => Number.NaN, () => -5, () => 7, () => 'x' as unknown as number]) {
      const clock = new ManualClock();
      const registry = new CircuitBreakerRegistry();
      let calls = 0;
      const call = retry({ clock, registry, random, maxAttempts: 2, backoff: { initialDelayMs: 100 } }).execute(() => {
        if (++calls === 1) throw markTransient(new Error('x'));
        return 'ok';
      });
      await flush();
      clock.advance(100);
      await expect(call).resolves.toBe('ok');
    }
  });

  it('invalid execute options throw a TypeError naming what is wrong', () => {
    const policy = pipeline(retry());
    expect(() => policy.execute(() => 1, { signal: 'nope' as never })).toThrow('execute options: signal must be an AbortSignal');
    expect(() => policy.execute(() => 1, null as never)).toThrow('execute options must be an object');
  });
});
