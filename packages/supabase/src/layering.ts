import { CircuitBreakerError, CircuitTimeoutError, type CircuitBreaker } from '@phlow/circuit-breaker';
import { CIRCUIT_HEADER } from './rejection.js';
import { ResponseTooLargeError } from './response-too-large-error.js';

/*
 * Two protections stacked on one request (`createClient` from this package given `global.fetch:
 * protectFetch(url)`, or a protected fetch wrapped in another) must neither count one failure twice
 * nor take one layer's refusal for the project's failure: an outer breaker that counted the inner
 * one's 529 rejections would be kept open by them forever. Three rules keep layers apart:
 *
 * 1. A protected fetch is marked, and the places that take a fetch refuse one (a clear error at setup).
 * 2. A protected fetch hands its breaker down on the init it passes on; a layer underneath that would use
 *    the same breaker passes the request straight through (one request, one count), which also covers
 *    protected fetches hidden behind a wrapper function.
 * 3. Whatever layer is underneath, its verdicts are ignored, never failures: a rejection response (it
 *    carries the `x-phlow-circuit` header), a thrown rejection of any breaker, a body refused for size.
 *    A timeout underneath stays a failure: the project did not answer in time.
 *
 * Symbols are registered (`Symbol.for`) so the rules hold across duplicate copies of this package.
 */

const PROTECTED_FETCH = Symbol.for('phlow.supabase.protected-fetch');

/** The key under which a protected fetch hands its breaker down on the init it passes on. */
export const GUARDED_BY: unique symbol = Symbol.for('phlow.supabase.guarded-by') as never;

/** A fetch init that names the breaker guarding its request. */
export type GuardedInit = RequestInit & { readonly [GUARDED_BY]?: CircuitBreaker };

/** Marks `fetch` as made by `protectFetch`. */
export function markProtected<T extends object>(fetch: T): T {
  Object.defineProperty(fetch, PROTECTED_FETCH, { value: true });
  return fetch;
}

/** Throws when `fetch` (the value of `option`) is a protected fetch already. */
export function refuseProtectedFetch(option: string, fetch: unknown, advice: string): void {
  if (typeof fetch === 'function' && (fetch as unknown as Record<symbol, unknown>)[PROTECTED_FETCH] === true) {
    throw new TypeError(
      `${option} is a protected fetch (protectFetch from @phlow/supabase) and this protects every request itself: ` +
        `two layers would count each failure twice. ${advice}`,
    );
  }
}

/** The breaker a protected fetch above already guards this request with, if any. */
export function guardedBy(init: GuardedInit | undefined): CircuitBreaker | undefined {
  return init === undefined || init === null ? undefined : init[GUARDED_BY];
}

/** A thrown verdict of a protection underneath (any breaker's rejection, a body refused for size). */
export function isVerdictFromBelow(error: unknown): boolean {
  return (CircuitBreakerError.isInstance(error) && !CircuitTimeoutError.isInstance(error)) || ResponseTooLargeError.isInstance(error);
}

/** A rejection answered by a breaker underneath (our own rejection response): not the project's answer. */
export function isRejectionResponse(response: Response): boolean {
  return response.headers.has(CIRCUIT_HEADER);
}
