import { transientFailure } from '@phlow/circuit-breaker';

// Retry-After (RFC 9110 §10.2.3): delay-seconds (digits only) or an HTTP-date. Anything else — signs,
// decimals, exponents, hex, empty — is not a Retry-After and is ignored rather than guessed at.
const IMF_FIXDATE = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const DELAY_SECONDS = /^\s*(\d{1,16})\s*$/;

/**
 * How long the dependency asked callers to wait, in ms, or null when it said nothing: the `Retry-After`
 * header of a `Response` (or any object with `headers.get`), else the transient mark's `retryAfterMs`
 * (set by our adapters, see `transientFailure`). `now` reads wall time, for HTTP-dates. Never throws: it reads values
 * that came from the network and objects of unknown shape.
 */
export function retryAfterOf(failure: unknown, now: () => number): number | null {
  const header = headerRetryAfter(failure, now);
  if (header !== null) return header;
  return transientFailure(failure)?.retryAfterMs ?? null;
}

/** The `Retry-After` header of a `Response`-like value, read against the policy's clock (the core reads dates against `Date.now`). */
function headerRetryAfter(failure: unknown, now: () => number): number | null {
  if (typeof failure !== 'object' || failure === null) return null;
  try {
    const headers = (failure as { headers?: { get?: unknown } }).headers;
    if (typeof headers !== 'object' || headers === null || typeof headers.get !== 'function') return null;
    const value: unknown = (headers.get as (name: string) => unknown).call(headers, 'retry-after');
    return typeof value === 'string' ? parseRetryAfter(value, now()) : null;
  } catch {
    return null;
  }
}

/** A `Retry-After` header's value in ms from `now`, or null when it is not one. */
export function parseRetryAfter(value: string, now: number): number | null {
  if (value.length > 64) return null;
  const seconds = DELAY_SECONDS.exec(value);
  if (seconds !== null) return Number(seconds[1]) * 1000;
  // Only the IMF-fixdate form servers send (RFC 9110 §5.6.7): Date.parse alone reads much more ("-5" as a year).
  if (!IMF_FIXDATE.test(value.trim())) return null;
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - now) : null;
}
