import { CircuitBreakerError, type CircuitBreakerRegistry, type Clock, CircuitTimeoutError, isTransient, type RetryGaveUpEvent } from '@phlow/circuit-breaker';
import { checkDurationMs, checkFunction, checkInteger, describeValue } from '@phlow/circuit-breaker/internal';
import { type Backoff, type BackoffOptions, backoffDelay, resolveBackoff } from './backoff.js';
import { endOnAbort, type After, asPromise, CALL, Context, contextFor, type Next, parentOf, type Policy, type PolicyContext, type PolicyExecuteOptions, RUN } from './policy.js';
import { checkOptionsObject, monotonic, resolveClock, resolvePolicyOptions, TIMED_POLICY_OPTION_NAMES, type TimedPolicyOptions } from './policy-options.js';
import { wrapsRejection } from './rejection.js';
import { retryAfterOf } from './retry-after.js';
import type { RetryBudget } from './retry-budget.js';
import { sleep } from './sleep.js';

/**
 * Decides whether a failure is worth another attempt: `kind` is `'error'` for what the call threw and
 * `'result'` for what it returned (a supabase-js `{ error }`, a 503 `Response`): return true to retry.
 * Called on every result, so keep it cheap.
 */
export type RetryClassifier = (failure: unknown, kind: 'error' | 'result') => boolean;

/** Options of {@link retry}. */
export interface RetryOptions extends TimedPolicyOptions {
  /** Attempts in all, the first included (an integer >= 1). Default 3; unlimited when only `deadlineMs` is given. */
  readonly maxAttempts?: number | undefined;
  /**
   * No attempt starts later than this after the first one started (ms), and no wait is begun that would
   * end after it. It bounds retrying, not a running attempt: put a `timeout` inside the retry for that.
   */
  readonly deadlineMs?: number | undefined;
  /** The waits between attempts. Default: full jitter from 100 ms, doubling, capped at 10 s. */
  readonly backoff?: BackoffOptions | undefined;
  /**
   * Which failures to retry. Default {@link isTransient}: what our adapters mark transient. Rejections
   * (open breaker, full bulkhead, rate limited) and a breaker's other errors are never retried, whatever
   * it says; a breaker's `CircuitTimeoutError` is retried only if it says so. If it throws, the failure
   * is not retried and reaches the caller unchanged.
   */
  readonly retryOn?: RetryClassifier | undefined;
  /**
   * The longest wait a dependency's `Retry-After` (or a transient mark's `retryAfterMs`) may impose, ms.
   * A dependency asking for more is not retried (the caller gets its failure at once, with the
   * `Retry-After` still on it): a hostile or mistaken "come back in a year" must not park callers.
   * Default 60 000.
   */
  readonly maxRetryAfterMs?: number | undefined;
  /** The retry budget of the dependency, shared by every retry policy in front of it. Default: none. */
  readonly budget?: RetryBudget | undefined;
  /** A source of uniform numbers in [0, 1) for jitter. Default `Math.random`. */
  readonly random?: (() => number) | undefined;
}

const OPTION_NAMES = [...TIMED_POLICY_OPTION_NAMES, 'maxAttempts', 'deadlineMs', 'backoff', 'retryOn', 'maxRetryAfterMs', 'budget', 'random'];

type GiveUpReason = RetryGaveUpEvent['reason'];

/**
 * Retries a call that failed transiently, with capped exponential backoff and jitter. See
 * {@link RetryOptions}. The function receives `{ signal, attempt }`.
 */
export class Retry implements Policy {
  readonly name: string;
  readonly maxAttempts: number;
  readonly deadlineMs: number | undefined;
  readonly maxRetryAfterMs: number;
  private readonly registry: CircuitBreakerRegistry;
  private readonly clock: Clock;
  private readonly monotonicNow: () => number;
  private readonly backoff: Backoff;
  private readonly retryOn: RetryClassifier;
  private readonly budget: RetryBudget | undefined;
  private readonly random: () => number;

  constructor(options?: RetryOptions) {
    const o = checkOptionsObject<RetryOptions>('retry', options, OPTION_NAMES, false);
    ({ name: this.name, registry: this.registry } = resolvePolicyOptions('retry', o));
    this.deadlineMs = o.deadlineMs === undefined ? undefined : checkDurationMs('retry: deadlineMs', o.deadlineMs, 1);
    this.maxAttempts =
      o.maxAttempts === undefined ? (this.deadlineMs === undefined ? 3 : Number.MAX_SAFE_INTEGER) : checkInteger('retry: maxAttempts', o.maxAttempts, 1);
    this.backoff = resolveBackoff(o.backoff);
    this.retryOn = o.retryOn === undefined ? isTransient : checkFunction<RetryClassifier>('retry: retryOn', o.retryOn);
    this.maxRetryAfterMs = o.maxRetryAfterMs === undefined ? 60_000 : checkDurationMs('retry: maxRetryAfterMs', o.maxRetryAfterMs);
    if (o.budget !== undefined && (typeof o.budget !== 'object' || o.budget === null || typeof o.budget.tryAcquire !== 'function')) {
      throw new TypeError(`retry: budget must be a RetryBudget (from retryBudget()); got ${describeValue(o.budget)}`);
    }
    this.budget = o.budget;
    this.random = o.random === undefined ? Math.random : checkFunction<() => number>('retry: random', o.random);
    this.clock = resolveClock('retry', o.clock);
    this.monotonicNow = monotonic(this.clock);
  }

  /** Runs `fn`, retrying its transient failures. */
  execute<T>(fn: (context: PolicyContext) => T | PromiseLike<T>, options?: PolicyExecuteOptions): Promise<T> {
    const parent = parentOf(options);
    return endOnAbort(this[RUN](fn, parent, undefined, CALL), parent);
  }

  /** @internal */
  [RUN]<T>(fn: (context: PolicyContext) => T | PromiseLike<T>, parent: Context | undefined, after: After | undefined, next: Next): Promise<T> {
    this.budget?.recordRequest();
    const startedAt = this.deadlineMs === undefined ? 0 : this.monotonicNow();
    if (this.registry.policyEventsObserved) this.reportAttempt(1, 0, undefined, false);
    let result: T | PromiseLike<T>;
    try {
      result = next(fn, contextFor(parent, 1));
    } catch (error) {
      return this.retrying(fn, parent, error, true, startedAt, after, next);
    }
    const promise = asPromise(result);
    // The closed path: one pair of callbacks; everything else happens only once a call failed.
    return promise.then(
      (value) => {
        if (this.shouldRetryResult(value)) return this.retrying(fn, parent, value, false, startedAt, after, next);
        after?.();
        return value;
      },
      (error: unknown) => this.retrying(fn, parent, error, true, startedAt, after, next),
    );
  }

  private shouldRetryResult(value: unknown): boolean {
    try {
      return this.retryOn(value, 'result') === true;
    } catch {
      return false;
    }
  }

  private shouldRetryError(error: unknown): boolean {
    if (wrapsRejection(error)) return false;
    if (CircuitBreakerError.isInstance(error) && !CircuitTimeoutError.isInstance(error)) return false;
    try {
      return this.retryOn(error, 'error') === true;
    } catch {
      return false;
    }
  }

  /** After a failed attempt (already classified as retryable when it is a result): waits and tries again, or gives up. */
  private async retrying<T>(
    fn: (context: PolicyContext) => T | PromiseLike<T>,
    parent: Context | undefined,
    first: unknown,
    firstIsError: boolean,
    startedAt: number,
    after: After | undefined,
    next: Next,
  ): Promise<T> {
    try {
      return await this.retryLoop(fn, parent, first, firstIsError, startedAt, next);
    } finally {
      after?.();
    }
  }

  private async retryLoop<T>(
    fn: (context: PolicyContext) => T | PromiseLike<T>,
    parent: Context | undefined,
    first: unknown,
    firstIsError: boolean,
    startedAt: number,
    next: Next,
  ): Promise<T> {
    let failure = first;
    let isError = firstIsError;
    let attempt = 1;
    let previousDelay = this.backoff.initialDelayMs;
    const signal = parent?.abortSignal();
    for (;;) {
      const reason = this.stopReason(failure, isError, attempt, signal);
      if (reason !== undefined) return this.giveUp(failure, isError, attempt, reason);
      let delay = backoffDelay(this.backoff, attempt, previousDelay, this.random);
      previousDelay = delay;
      const asked = retryAfterOf(failure, () => this.clock.now());
      if (asked !== null) {
        if (!(asked <= this.maxRetryAfterMs)) return this.giveUp(failure, isError, attempt, 'retry_after');
        delay = Math.max(delay, asked);
      }
      if (this.deadlineMs !== undefined && this.monotonicNow() + delay - startedAt > this.deadlineMs) {
        return this.giveUp(failure, isError, attempt, 'deadline');
      }
      if (this.budget !== undefined && !this.budget.tryAcquire()) {
        if (this.registry.policyEventsObserved) {
          this.registry.reportPolicyEvent({ type: 'retry_budget_exhausted', policyKind: 'retry', policy: this.name, time: this.clock.now(), attempt });
        }
        return this.giveUp(failure, isError, attempt, 'budget');
      }
      if (!isError) discardBody(failure);
      try {
        await sleep(this.clock, delay, signal);
      } catch (abortReason) {
        this.giveUp(failure, isError, attempt, 'aborted').catch(() => {});
        throw abortReason;
      }
      // A stalled event loop (a long task, a GC pause) can wake us past the deadline: check again.
      if (this.deadlineMs !== undefined && this.monotonicNow() - startedAt > this.deadlineMs) {
        return this.giveUp(failure, isError, attempt, 'deadline');
      }
      attempt++;
      if (this.registry.policyEventsObserved) this.reportAttempt(attempt, delay, failure, true);
      try {
        const value = await next(fn, new Context(parent?.source, attempt));
        if (!this.shouldRetryResult(value)) return value;
        failure = value;
        isError = false;
      } catch (error) {
        failure = error;
        isError = true;
      }
    }
  }

  private stopReason(failure: unknown, isError: boolean, attempt: number, signal: AbortSignal | undefined): GiveUpReason | undefined {
    if (signal?.aborted) return 'aborted';
    // A result reaches here already classified as retryable; an error is classified now.
    if (isError && !this.shouldRetryError(failure)) return 'not_retryable';
    if (attempt >= this.maxAttempts) return 'max_attempts';
    return undefined;
  }

  private giveUp<T>(failure: unknown, isError: boolean, attempts: number, reason: GiveUpReason): Promise<T> {
    if (this.registry.policyEventsObserved) {
      this.registry.reportPolicyEvent({ type: 'retry_gave_up', policyKind: 'retry', policy: this.name, time: this.clock.now(), attempts, reason });
    }
    return isError ? Promise.reject(failure) : Promise.resolve(failure as T);
  }

  private reportAttempt(attempt: number, delayMs: number, previous: unknown, hasPrevious: boolean): void {
    this.registry.reportPolicyEvent(
      hasPrevious
        ? { type: 'retry_attempt', policyKind: 'retry', policy: this.name, time: this.clock.now(), attempt, delayMs, previous }
        : { type: 'retry_attempt', policyKind: 'retry', policy: this.name, time: this.clock.now(), attempt, delayMs },
    );
  }
}

/**
 * A failed `Response` about to be retried: cancel its unread body, or its connection stays taken until
 * the body is garbage-collected. Best effort: anything else is left alone.
 */
function discardBody(value: unknown): void {
  try {
    const body = (value as { body?: { cancel?: unknown; locked?: unknown } } | null)?.body;
    if (typeof body === 'object' && body !== null && typeof body.cancel === 'function' && body.locked === false) {
      (body.cancel as () => Promise<void>).call(body).catch(() => {});
    }
  } catch {
    // A getter that throws: not a body we can cancel.
  }
}

/** A {@link Retry} policy. */
export function retry(options?: RetryOptions): Retry {
  return new Retry(options);
}
