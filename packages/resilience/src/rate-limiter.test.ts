import { CircuitBreakerRegistry, ManualClock, type PolicyEvent } from '@phlow/circuit-breaker';
import { describe, expect, it } from 'vitest';
import { RateLimitedError } from './errors.js';
import { rateLimiter } from './rate-limiter.js';

describe('rateLimiter', () => {
  it('lets a burst through, then one call per token, rejecting the rest with retryAfterMs', async () => {
    const clock = new ManualClock();
    const registry = new CircuitBreakerRegistry();
    const events: PolicyEvent[] = [];
    registry.onPolicyEvent((e) => events.push(e));
    const policy = rateLimiter({ name: 'api', tokensPerSecond: 10, burst: 3, clock, registry });
    for (let i = 0; i < 3; i++) await expect(policy.execute(() => i)).resolves.toBe(i);
    const error = await policy.execute(() => 'never').catch((e: unknown) => e);
    expect(RateLimitedError.isInstance(error)).toBe(true);
    expect((error as RateLimitedError).retryAfterMs).toBeCloseTo(100);
    expect(events).toEqual([expect.objectContaining({ type: 'rate_limited', policy: 'api' })]);
    clock.advance(100);
    await expect(policy.execute(() => 'again')).resolves.toBe('again');
    clock.advance(60_000);
    expect(policy.available).toBe(3); // never more than the burst
  });

  it('validates its options', () => {
    expect(() => rateLimiter({ tokensPerSecond: 0 })).toThrow('rateLimiter: tokensPerSecond must be');
    expect(() => rateLimiter({ tokensPerSecond: 1, burst: 0 })).toThrow('rateLimiter: burst');
    expect(() => rateLimiter({} as never)).toThrow('rateLimiter: tokensPerSecond');
  });
});
