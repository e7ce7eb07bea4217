import { describe, expect, it } from 'vitest';
import { CircuitBreakerRegistry, CircuitTimeoutError, isTransient, markTransient, transientFailure } from './index.js';

describe('transient marks', () => {
  it('marks an error and a failed result, with or without a wait the dependency asked for', () => {
    const error = markTransient(new Error('503'), 1_500);
    expect(transientFailure(error)).toEqual({ retryAfterMs: 1_500 });
    const result = markTransient({ data: null, error: { code: '503' }, status: 503 });
    expect(transientFailure(result)).toEqual({ retryAfterMs: null });
    expect(isTransient(result)).toBe(true);
    // The mark is invisible to JSON and to enumeration: a marked result serialises as before.
    expect(JSON.stringify(result)).toBe('{"data":null,"error":{"code":"503"},"status":503}');
    expect(Object.keys(error)).toEqual([]);
  });

  it.each([
    ['negative', -1],
    ['NaN', Number.NaN],
    ['infinite', Number.POSITIVE_INFINITY],
    ['null', null],
  ])('a %s wait means "nothing said"', (_, wait) => {
    expect(transientFailure(markTransient(new Error('x'), wait))).toEqual({ retryAfterMs: null });
  });

  it('leaves what cannot be marked unmarked, and never throws', () => {
    expect(markTransient('text')).toBe('text');
    expect(isTransient(markTransient(undefined))).toBe(false);
    const frozen = Object.freeze(new Error('frozen'));
    expect(markTransient(frozen)).toBe(frozen);
    expect(isTransient(frozen)).toBe(false);
    const refusing = new Proxy({}, { defineProperty: () => { throw new Error('no'); }, getOwnPropertyDescriptor: () => { throw new Error('no'); } });
    expect(markTransient(refusing)).toBe(refusing);
    expect(isTransient(refusing)).toBe(false);
  });

  it('cannot be forged by data from the network or inherited from a shared prototype', () => {
    const parsed = JSON.parse('{"__proto__": {"phlow.circuit-breaker.transient": {"retryAfterMs": 0}}, "phlow.circuit-breaker.transient": true}');
    expect(isTransient(parsed)).toBe(false);
    class Flaky extends Error {}
    markTransient(Flaky.prototype);
    expect(isTransient(new Flaky('inherits'))).toBe(false);
    // A non-frozen value under the symbol is not our mark either.
    const handMade = { [Symbol.for('phlow.circuit-breaker.transient')]: { retryAfterMs: 0 } };
    expect(isTransient(handMade)).toBe(false);
  });

  it("is not on the breaker's own timeout: only the caller knows whether repeating a call is safe", () => {
    expect(isTransient(new CircuitTimeoutError('b', 10))).toBe(false);
  });
});

describe('policy events', () => {
  it('reach every listener of the registry, cost nothing unobserved, and survive a throwing listener', () => {
    const registry = new CircuitBreakerRegistry();
    expect(registry.policyEventsObserved).toBe(false);
    const seen: string[] = [];
    const broken = registry.onPolicyEvent(() => {
      throw new Error('listener bug');
    });
    const subscription = registry.onPolicyEvent((event) => seen.push(`${event.policy}:${event.type}`));
    expect(registry.policyEventsObserved).toBe(true);
    registry.reportPolicyEvent({ type: 'timeout', policyKind: 'timeout', policy: 'lookup', time: 0, timeoutMs: 5 });
    subscription.dispose();
    broken.dispose();
    registry.reportPolicyEvent({ type: 'timeout', policyKind: 'timeout', policy: 'lookup', time: 1, timeoutMs: 5 });
    expect(seen).toEqual(['lookup:timeout']);
    expect(registry.policyEventsObserved).toBe(false);
  });
});

describe('transient HTTP answers', () => {
  it.each([408, 429, 502, 503, 504])('a %i is transient, as a Response and as a client result', (status) => {
    expect(isTransient(new Response(null, { status }))).toBe(true);
    expect(isTransient({ data: null, error: { message: 'x' }, status })).toBe(true);
  });

  it.each([200, 400, 404, 409, 500, 501, 529])('a %i is not', (status) => {
    expect(isTransient(new Response(null, { status }))).toBe(false);
    expect(isTransient({ data: null, error: null, status })).toBe(false);
  });

  it('reads Retry-After in seconds or as a date, and ignores one it cannot read', () => {
    expect(transientFailure(new Response(null, { status: 503, headers: { 'retry-after': '7' } }))).toEqual({ retryAfterMs: 7_000 });
    const later = new Date(Date.now() + 60_000).toUTCString();
    const fromDate = transientFailure(new Response(null, { status: 429, headers: { 'retry-after': later } }))?.retryAfterMs ?? -1;
    expect(fromDate).toBeGreaterThan(50_000);
    expect(fromDate).toBeLessThanOrEqual(60_000);
    for (const unreadable of ['soon', '-5', '1e9', '99999999999999']) {
      expect(transientFailure(new Response(null, { status: 503, headers: { 'retry-after': unreadable } }))).toEqual({ retryAfterMs: null });
    }
  });

  it('a status that is text, or a getter that throws, is not transient', () => {
    expect(isTransient({ status: '503' })).toBe(false);
    expect(isTransient({ get status(): number { throw new Error('hostile'); } })).toBe(false);
  });
});
