/**
 * "Worth another try": the mark an adapter puts on a failure it knows to be transient AND safe to repeat
 * (a 503 on a read, a reset connection before the request was sent, a timed-out DID resolution), so a
 * retry policy can tell it from a permanent refusal (a 404, a constraint violation) without importing
 * the adapter. A breaker's own `CircuitTimeoutError` is not marked: a timed-out write may have landed,
 * and only the caller knows whether repeating it is safe. The mark is a `Symbol.for` property, so it is recognised
 * across copies of this package, and nothing parsed from the network can forge it (JSON has no symbol
 * keys).
 */
const TRANSIENT = Symbol.for('phlow.circuit-breaker.transient');

/** What a transient mark says. */
export interface TransientFailure {
  /**
   * How long the dependency asked callers to wait (an HTTP `Retry-After`, an open breaker's
   * `retryAfterMs`), in ms, or null when it said nothing. A retry may wait longer, never shorter.
   */
  readonly retryAfterMs: number | null;
}

const UNKNOWN_WAIT: TransientFailure = Object.freeze({ retryAfterMs: null });

/**
 * Marks `failure` (an error an adapter throws, or a failed result it returns, as supabase-js does) as
 * transient and returns it. A value that cannot take a property (a primitive, a frozen object) is
 * returned unmarked: a mark is advice, never a reason to fail a call.
 *
 * @param retryAfterMs what the dependency asked for (see {@link TransientFailure.retryAfterMs}); a
 *   negative, non-finite or missing value means "nothing said".
 */
export function markTransient<T>(failure: T, retryAfterMs?: number | null): T {
  if ((typeof failure !== 'object' || failure === null) && typeof failure !== 'function') return failure;
  const mark =
    typeof retryAfterMs === 'number' && Number.isFinite(retryAfterMs) && retryAfterMs >= 0
      ? Object.freeze({ retryAfterMs })
      : UNKNOWN_WAIT;
  try {
    Object.defineProperty(failure, TRANSIENT, { value: mark, configurable: true });
  } catch {
    // Frozen or a Proxy that refuses: leave it unmarked (see above).
  }
  return failure;
}

/**
 * HTTP statuses that say "not now" rather than "no": request timeout, too many requests, bad gateway,
 * unavailable, gateway timeout. A 500 is left out: PostgREST and most APIs answer a permanent fault (a
 * failing SQL function, a bug) with it, and repeating it only repeats the load.
 */
const TRANSIENT_STATUSES: ReadonlySet<number> = new Set([408, 429, 502, 503, 504]);

/**
 * Whether `value` is transient, and what it said about waiting: `undefined` when it is not (permanent,
 * or unknown). Transient are
 * - values an adapter marked with {@link markTransient};
 * - failed HTTP answers whose `status` is 408, 429, 502, 503 or 504: a `Response` (its `Retry-After`,
 *   in seconds or as a date, is read), or a result carrying the status, as supabase-js returns
 *   `{ data, error, status }` — those results are built by the client, where no adapter can mark them.
 */
export function transientFailure(value: unknown): TransientFailure | undefined {
  if ((typeof value !== 'object' || value === null) && typeof value !== 'function') return undefined;
  try {
    // Own property only: a mark on a shared prototype would make every object of that kind transient.
    const mark: unknown = Object.getOwnPropertyDescriptor(value, TRANSIENT)?.value;
    if (typeof mark === 'object' && mark !== null && Object.isFrozen(mark)) return mark as TransientFailure;
    const status: unknown = (value as { status?: unknown }).status;
    if (typeof status !== 'number' || !TRANSIENT_STATUSES.has(status)) return undefined;
    const retryAfterMs = retryAfterOf((value as { headers?: unknown }).headers);
    return retryAfterMs === null ? UNKNOWN_WAIT : { retryAfterMs };
  } catch {
    // A Proxy or exotic object whose traps throw: whatever it is, it is not transient by our reading.
    return undefined;
  }
}

const IMF_FIXDATE = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/** A `Retry-After` header in ms (delay-seconds or an HTTP date), or null when absent or unreadable. */
function retryAfterOf(headers: unknown): number | null {
  if (typeof headers !== 'object' || headers === null || typeof (headers as Headers).get !== 'function') return null;
  const raw: unknown = (headers as Headers).get('retry-after');
  if (typeof raw !== 'string') return null;
  const text = raw.trim();
  if (/^\d{1,10}$/.test(text)) return Number(text) * 1_000;
  // Only the IMF-fixdate form servers send (RFC 9110 §5.6.7): Date.parse alone reads "-5" as a year.
  if (!IMF_FIXDATE.test(text)) return null;
  const date = Date.parse(text);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : null;
}

/** Whether `value` carries a transient mark (see {@link markTransient}). */
export function isTransient(value: unknown): boolean {
  return transientFailure(value) !== undefined;
}

