import type { CircuitState } from './circuit-state.js';
import { errorMarker } from './error-marker.js';

const MARKER = errorMarker('phlow.circuit-breaker.error');
const OPEN_MARKER = errorMarker('phlow.circuit-breaker.open-error');
const TIMEOUT_MARKER = errorMarker('phlow.circuit-breaker.timeout-error');
const FAMILY_FULL_MARKER = errorMarker('phlow.circuit-breaker.family-full-error');

/** Milliseconds from the clock's now to `retryAt` (never negative), or null when unknown. */
function msUntil(retryAt: number | null, clock: { now(): number }): number | null {
  return retryAt === null ? null : Math.max(0, retryAt - clock.now());
}

/**
 * Base of every error a breaker raises itself. Catch it for the guide's fallback pattern:
 * `try { await breaker.execute(fn) } catch (e) { if (CircuitBreakerError.isInstance(e)) useCache() }`.
 * `isInstance` also recognises errors from another copy of this package, where `instanceof` fails.
 */
export class CircuitBreakerError extends Error {
  /** Name of the breaker that raised it. */
  readonly breakerName: string;

  constructor(breakerName: string, message: string) {
    super(message);
    this.breakerName = breakerName;
  }

  /** Errors serialise to `{}` by default; ours keep what a caller or a log needs. */
  toJSON(): object {
    return { name: this.name, message: this.message, breakerName: this.breakerName };
  }

  static isInstance(value: unknown): value is CircuitBreakerError {
    return MARKER.isMarked(value);
  }
}
MARKER.mark(CircuitBreakerError, 'CircuitBreakerError');

/**
 * The call was rejected without running: the breaker is open, forced open, or half-open with every
 * trial permit taken.
 *
 * Shedding load is the point of an open breaker, so rejections must stay cheap: this error carries no
 * stack trace (capturing one costs ~1.9 µs, ten times the rest of a rejection), and every rejection of
 * one open period shares one instance — building even a stackless Error costs ~0.25 µs. Treat it as
 * read-only. `retryAfterMs` is computed when read, so it is right for every caller.
 */
export class CircuitOpenError extends CircuitBreakerError {
  /** The state that rejected the call. */
  readonly state: CircuitState;
  /** When the breaker admits its next probe (epoch ms), or null when unknown (forced open). */
  readonly retryAt: number | null;
  declare private readonly clock: { now(): number };

  constructor(breakerName: string, state: CircuitState, retryAt: number | null, clock: { now(): number }) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(breakerName, `Circuit breaker ${breakerName} is ${state}`);
    } finally {
      Error.stackTraceLimit = limit;
    }
    // JavaScriptCore (Bun) gives an error built with no frames no `stack` at all, where V8 (Node, Deno)
    // keeps the "Name: message" line: loggers that print `stack` would print nothing on Bun.
    if (this.stack === undefined) {
      Object.defineProperty(this, 'stack', { value: `${this.name}: ${this.message}`, writable: true, configurable: true });
    }
    this.state = state;
    this.retryAt = retryAt;
    Object.defineProperty(this, 'clock', { value: clock, enumerable: false });
  }

  /** Milliseconds from now to `retryAt` (0 when a probe may run now), or null when unknown. */
  get retryAfterMs(): number | null {
    return msUntil(this.retryAt, this.clock);
  }

  override toJSON(): object {
    return { name: this.name, message: this.message, breakerName: this.breakerName, state: this.state, retryAt: this.retryAt, retryAfterMs: this.retryAfterMs };
  }

  static override isInstance(value: unknown): value is CircuitOpenError {
    return OPEN_MARKER.isMarked(value);
  }
}
OPEN_MARKER.mark(CircuitOpenError, 'CircuitOpenError');

/** The call did not settle within the breaker's `timeoutMs`; it counts as a failure. */
export class CircuitTimeoutError extends CircuitBreakerError {
  readonly timeoutMs: number;

  constructor(breakerName: string, timeoutMs: number) {
    super(breakerName, `Circuit breaker ${breakerName}: call timed out after ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }

  static override isInstance(value: unknown): value is CircuitTimeoutError {
    return TIMEOUT_MARKER.isMarked(value);
  }
}
TIMEOUT_MARKER.mark(CircuitTimeoutError, 'CircuitTimeoutError');

/**
 * A keyed family holds `maxKeys` breakers that are all still in use (open or half-open and called
 * within the last recovery timeout, or with calls in flight), so a new key gets no breaker yet.
 * `retryAt` says when the family makes room anyway (see `CircuitBreakerFamily`): never later than one
 * recovery timeout after the family first had to refuse a key.
 */
export class CircuitFamilyFullError extends CircuitBreakerError {
  readonly key: string;
  readonly maxKeys: number;
  /** When a retry is sure to get a breaker (epoch ms), or null when unknown. */
  readonly retryAt: number | null;
  declare private readonly clock: { now(): number };

  constructor(familyName: string, key: string, maxKeys: number, retryAt: number | null = null, clock: { now(): number } = Date) {
    super(
      familyName,
      `Circuit breaker family ${familyName} holds ${maxKeys} breakers (maxKeys) that are all in use; no breaker for key ${key} yet` +
        (retryAt === null ? '' : ` (room is made by ${new Date(retryAt).toISOString()})`),
    );
    this.key = key;
    this.maxKeys = maxKeys;
    this.retryAt = retryAt;
    Object.defineProperty(this, 'clock', { value: clock, enumerable: false });
  }

  /** Milliseconds from now to `retryAt`, or null when unknown. */
  get retryAfterMs(): number | null {
    return msUntil(this.retryAt, this.clock);
  }

  override toJSON(): object {
    return { name: this.name, message: this.message, breakerName: this.breakerName, key: this.key, maxKeys: this.maxKeys, retryAt: this.retryAt, retryAfterMs: this.retryAfterMs };
  }

  static override isInstance(value: unknown): value is CircuitFamilyFullError {
    return FAMILY_FULL_MARKER.isMarked(value);
  }
}
FAMILY_FULL_MARKER.mark(CircuitFamilyFullError, 'CircuitFamilyFullError');
