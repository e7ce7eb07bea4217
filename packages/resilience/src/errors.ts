import { errorMarker } from '@phlow/circuit-breaker/internal';

const BULKHEAD_MARKER = errorMarker('phlow.resilience.bulkhead-rejected-error');
const RATE_LIMITED_MARKER = errorMarker('phlow.resilience.rate-limited-error');
const TIMEOUT_MARKER = errorMarker('phlow.resilience.timeout-error');
const FALLBACK_MARKER = errorMarker('phlow.resilience.fallback-exhausted-error');
const HEDGE_LOST_MARKER = errorMarker('phlow.resilience.hedge-lost-error');

/**
 * An error without a stack trace: rejections exist to shed load, and capturing a stack costs ~1.9 µs,
 * several times the rest of a rejection.
 */
function withoutStack<E extends Error>(build: () => E): E {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    const error = build();
    // JavaScriptCore (Bun) gives an error built with no frames no `stack` at all: keep the first line.
    if (error.stack === undefined) {
      Object.defineProperty(error, 'stack', { value: `${error.name}: ${error.message}`, writable: true, configurable: true });
    }
    return error;
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/**
 * A bulkhead refused the call without running it: every slot and every queue place was taken
 * (`reason: 'full'`), or the call waited in the queue for `queueTimeoutMs` (`'queue_timeout'`). A
 * rejection: `retry` never retries it. Recognise it with `BulkheadRejectedError.isInstance(e)`, also
 * across copies of this package.
 */
export class BulkheadRejectedError extends Error {
  readonly policy: string;
  readonly reason: 'full' | 'queue_timeout';
  /** Calls running when it was refused. */
  readonly inFlight: number;
  /** Calls waiting when it was refused. */
  readonly queued: number;
  /** The concurrency limit when it was refused. */
  readonly limit: number;

  constructor(policy: string, reason: 'full' | 'queue_timeout', inFlight: number, queued: number, limit: number) {
    super(
      reason === 'full'
        ? `Bulkhead ${policy} is full (${inFlight} running of ${limit}, ${queued} queued)`
        : `Bulkhead ${policy}: no slot within the queue timeout (${inFlight} running of ${limit})`,
    );
    this.policy = policy;
    this.reason = reason;
    this.inFlight = inFlight;
    this.queued = queued;
    this.limit = limit;
  }

  /** A rejection built without a stack trace (see {@link withoutStack}). */
  static create(policy: string, reason: 'full' | 'queue_timeout', inFlight: number, queued: number, limit: number): BulkheadRejectedError {
    return withoutStack(() => new BulkheadRejectedError(policy, reason, inFlight, queued, limit));
  }

  toJSON(): object {
    return { name: this.name, message: this.message, policy: this.policy, reason: this.reason, inFlight: this.inFlight, queued: this.queued, limit: this.limit };
  }

  static isInstance(value: unknown): value is BulkheadRejectedError {
    return BULKHEAD_MARKER.isMarked(value);
  }
}
BULKHEAD_MARKER.mark(BulkheadRejectedError, 'BulkheadRejectedError');

/** A rate limiter had no token for the call; `retryAfterMs` says when the next one comes. A rejection. */
export class RateLimitedError extends Error {
  readonly policy: string;
  /** Milliseconds until a token is available (when the refusal was made). */
  readonly retryAfterMs: number;

  constructor(policy: string, retryAfterMs: number) {
    super(`Rate limiter ${policy}: no token; next in ${Math.ceil(retryAfterMs)} ms`);
    this.policy = policy;
    this.retryAfterMs = retryAfterMs;
  }

  /** A rejection built without a stack trace. */
  static create(policy: string, retryAfterMs: number): RateLimitedError {
    return withoutStack(() => new RateLimitedError(policy, retryAfterMs));
  }

  toJSON(): object {
    return { name: this.name, message: this.message, policy: this.policy, retryAfterMs: this.retryAfterMs };
  }

  static isInstance(value: unknown): value is RateLimitedError {
    return RATE_LIMITED_MARKER.isMarked(value);
  }
}
RATE_LIMITED_MARKER.mark(RateLimitedError, 'RateLimitedError');

/**
 * A `timeout` policy gave up on a call after `timeoutMs`; the call's signal was aborted with this
 * error. Not a rejection (the call ran and may have had effects), so `retry` retries it only when its
 * `retryOn` says so.
 */
export class TimeoutError extends Error {
  readonly policy: string;
  readonly timeoutMs: number;

  constructor(policy: string, timeoutMs: number) {
    super(`Timeout ${policy}: call did not settle within ${timeoutMs} ms`);
    this.policy = policy;
    this.timeoutMs = timeoutMs;
  }

  toJSON(): object {
    return { name: this.name, message: this.message, policy: this.policy, timeoutMs: this.timeoutMs };
  }

  static isInstance(value: unknown): value is TimeoutError {
    return TIMEOUT_MARKER.isMarked(value);
  }
}
TIMEOUT_MARKER.mark(TimeoutError, 'TimeoutError');

/** Why a fallback tier did not answer. */
export interface TierFailure {
  /** The tier's name. */
  readonly tier: string;
  /**
   * `'rejected'`: refused without running (open breaker, full bulkhead, rate limited);
   * `'timeout'`: a breaker's or a timeout policy's timeout; `'error'`: it threw a classified failure;
   * `'result'`: it returned a classified failed result.
   */
  readonly reason: 'rejected' | 'timeout' | 'error' | 'result';
  /** What it threw or returned. */
  readonly failure: unknown;
}

/** Every tier of a fallback chain failed; `failures` says how each one did, in order. */
export class FallbackExhaustedError extends Error {
  readonly policy: string;
  readonly failures: readonly TierFailure[];

  constructor(policy: string, failures: readonly TierFailure[]) {
    super(`Fallback ${policy}: no tier answered (${failures.map((f) => `${f.tier}: ${f.reason}`).join(', ')})`);
    this.policy = policy;
    this.failures = failures;
  }

  toJSON(): object {
    return { name: this.name, message: this.message, policy: this.policy, failures: this.failures.map((f) => ({ tier: f.tier, reason: f.reason })) };
  }

  static isInstance(value: unknown): value is FallbackExhaustedError {
    return FALLBACK_MARKER.isMarked(value);
  }
}
FALLBACK_MARKER.mark(FallbackExhaustedError, 'FallbackExhaustedError');

/** The reason a hedge's losing attempts are aborted with: another attempt answered first. */
export class HedgeLostError extends Error {
  readonly policy: string;

  constructor(policy: string) {
    super(`Hedge ${policy}: another attempt answered first`);
    this.policy = policy;
  }

  static create(policy: string): HedgeLostError {
    return withoutStack(() => new HedgeLostError(policy));
  }

  static isInstance(value: unknown): value is HedgeLostError {
    return HEDGE_LOST_MARKER.isMarked(value);
  }
}
HEDGE_LOST_MARKER.mark(HedgeLostError, 'HedgeLostError');
