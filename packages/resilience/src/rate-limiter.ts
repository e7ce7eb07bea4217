import type { CircuitBreakerRegistry, Clock } from '@phlow/circuit-breaker';
import { checkInteger, checkNumber } from '@phlow/circuit-breaker/internal';
import { RateLimitedError } from './errors.js';
import { endOnAbort, type After, CALL, type Context, FIRST_ATTEMPT, invoke, type Next, parentOf, type Policy, type PolicyContext, type PolicyExecuteOptions, rejectSoon, RUN, settleWith } from './policy.js';
import { checkOptionsObject, monotonic, resolveClock, resolvePolicyOptions, TIMED_POLICY_OPTION_NAMES, type TimedPolicyOptions } from './policy-options.js';

/** Options of {@link rateLimiter}. */
export interface RateLimiterOptions extends TimedPolicyOptions {
  /** Tokens added per second (calls per second sustained), > 0. */
  readonly tokensPerSecond: number;
  /** Tokens the bucket holds (the largest burst), an integer >= 1. Default: `tokensPerSecond` rounded up. */
  readonly burst?: number | undefined;
}

/**
 * A token bucket: each call takes a token, tokens come back at `tokensPerSecond` up to `burst`; a call
 * finding none is rejected at once with {@link RateLimitedError} (`retryAfterMs`: when the next comes).
 * Rejecting rather than queueing keeps a caller's latency honest; put a bulkhead with a queue in front
 * if you want to wait.
 */
export class RateLimiter implements Policy {
  readonly name: string;
  readonly tokensPerSecond: number;
  readonly burst: number;
  private readonly registry: CircuitBreakerRegistry;
  private readonly clock: Clock;
  private readonly monotonicNow: () => number;
  private tokens: number;
  private refilledAt: number;

  constructor(options: RateLimiterOptions) {
    const o = checkOptionsObject<RateLimiterOptions>('rateLimiter', options, [...TIMED_POLICY_OPTION_NAMES, 'tokensPerSecond', 'burst'], true);
    ({ name: this.name, registry: this.registry } = resolvePolicyOptions('rateLimiter', o));
    this.tokensPerSecond = checkNumber('rateLimiter: tokensPerSecond', o.tokensPerSecond, 0, 1e9, true);
    this.burst = o.burst === undefined ? Math.max(1, Math.ceil(this.tokensPerSecond)) : checkInteger('rateLimiter: burst', o.burst, 1, 1e9);
    this.clock = resolveClock('rateLimiter', o.clock);
    this.monotonicNow = monotonic(this.clock);
    this.tokens = this.burst;
    this.refilledAt = this.monotonicNow();
  }

  /** Tokens in the bucket now. */
  get available(): number {
    this.refill();
    return this.tokens;
  }

  /** Runs `fn` if a token is left; rejects with `RateLimitedError` otherwise. */
  execute<T>(fn: (context: PolicyContext) => T | PromiseLike<T>, options?: PolicyExecuteOptions): Promise<T> {
    const parent = parentOf(options);
    return endOnAbort(this[RUN](fn, parent, undefined, CALL), parent);
  }

  /** @internal */
  [RUN]<T>(fn: (context: PolicyContext) => T | PromiseLike<T>, parent: Context | undefined, after: After | undefined, next: Next): Promise<T> {
    return settleWith(this.run(fn, parent, next), after);
  }

  private run<T>(fn: (context: PolicyContext) => T | PromiseLike<T>, parent: Context | undefined, next: Next): Promise<T> {
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return invoke(next, fn, parent ?? FIRST_ATTEMPT);
    }
    const retryAfterMs = ((1 - this.tokens) / this.tokensPerSecond) * 1000;
    if (this.registry.policyEventsObserved) {
      this.registry.reportPolicyEvent({ type: 'rate_limited', policyKind: 'rate_limiter', policy: this.name, time: this.clock.now(), retryAfterMs });
    }
    return rejectSoon(RateLimitedError.create(this.name, retryAfterMs));
  }

  private refill(): void {
    const now = this.monotonicNow();
    // A clock that steps back adds nothing (and takes nothing).
    const elapsed = Math.max(0, now - this.refilledAt);
    this.refilledAt = now;
    this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.tokensPerSecond) / 1000);
  }
}

/** A {@link RateLimiter}. */
export function rateLimiter(options: RateLimiterOptions): RateLimiter {
  return new RateLimiter(options);
}
