import { CircuitOpenError, CircuitTimeoutError, type CircuitState, type Clock } from '@phlow/circuit-breaker';

/** The `code` of the PostgREST-shaped error a rejected request answers with. */
export const CIRCUIT_OPEN_CODE = 'PHLOW_CIRCUIT_OPEN';

/** Header on a rejection response: the state of the breaker that refused the request. */
export const CIRCUIT_HEADER = 'x-phlow-circuit';

/**
 * The default status of a rejection response. Not 503, which is what a circuit breaker would say in a
 * gateway: postgrest-js retries a GET/HEAD answered 503 (or 520) three times, honouring `Retry-After`,
 * so a rejection would take seconds instead of microseconds. It must be a 5xx all the same: auth-js
 * treats 5xx as retryable and keeps the session, where a 4xx on a token refresh can sign the user out.
 * 529 ("site is overloaded") is neither retried by postgrest-js nor sent by Supabase's gateway, so the
 * status alone tells a local rejection from a real answer.
 */
export const DEFAULT_REJECTION_STATUS = 529;

/** Statuses postgrest-js retries on reads: a rejection answered with one would be retried. */
export const POSTGREST_RETRIED_STATUSES: readonly number[] = [503, 520];

/** The JSON body of a rejection response: PostgREST's error shape plus the breaker's facts. */
export interface CircuitOpenBody {
  readonly code: typeof CIRCUIT_OPEN_CODE;
  readonly message: string;
  readonly details: string;
  readonly hint: string;
  /** The breaker that refused the request. */
  readonly breaker: string;
  readonly state: CircuitState;
  /** Milliseconds until the breaker lets a probe through, or null when unknown (forced open). */
  readonly retryAfterMs: number | null;
}

/**
 * The answer to a request an open breaker refused: a response the client turns into its usual
 * `{ data: null, error, status }`, with `error.code === 'PHLOW_CIRCUIT_OPEN'`. Nothing was sent.
 */
export function rejectionResponse(error: CircuitOpenError, status: number, service: string): Response {
  const retryAfterMs = error.retryAfterMs;
  const body: CircuitOpenBody = {
    code: CIRCUIT_OPEN_CODE,
    message: `Circuit breaker ${error.breakerName} is ${error.state}: the request was not sent`,
    details:
      retryAfterMs === null
        ? `Supabase ${service} requests are refused until the breaker is reset`
        : `Supabase failed repeatedly; the next ${service} request goes through in ${retryAfterMs} ms`,
    hint: 'Serve a fallback (cache, default) or retry later',
    breaker: error.breakerName,
    state: error.state,
    retryAfterMs,
  };
  const headers: Record<string, string> = { 'content-type': 'application/json', [CIRCUIT_HEADER]: error.state };
  if (retryAfterMs !== null) headers['retry-after'] = String(Math.ceil(retryAfterMs / 1000));
  return new Response(JSON.stringify(body), { status, statusText: 'Circuit Open', headers });
}

/**
 * A `CircuitOpenError` that postgrest-js does not retry. postgrest-js retries a failed GET/HEAD fetch
 * after 1, 2 and 4 s unless the error is an abort (`name === 'AbortError'` or `code === 'ABORT_ERR'`);
 * a refused request *is* cancelled on this side, so it says so with Node's code for a cancelled
 * operation and keeps its name, class and fields.
 */
export class RequestRejectedError extends CircuitOpenError {
  /** Node's code for a cancelled operation: clients do not retry it. */
  readonly code = 'ABORT_ERR';

  constructor(error: CircuitOpenError, clock: Clock) {
    super(error.breakerName, error.state, error.retryAt, clock);
  }
}

/**
 * A `CircuitTimeoutError` for a request the breaker cancelled after `timeoutMs`. Like a request the
 * caller cancels with `AbortSignal.timeout()`, postgrest-js does not retry it (`code: 'ABORT_ERR'`): a
 * hung request retried three times would take four timeouts plus 7 s of backoff.
 */
export class RequestTimeoutError extends CircuitTimeoutError {
  readonly code = 'ABORT_ERR';

  constructor(error: CircuitTimeoutError) {
    super(error.breakerName, error.timeoutMs);
  }
}

/**
 * True when `value` says an open breaker refused the request, in any of the shapes it reaches a caller:
 * a result's `error` (`{ code: 'PHLOW_CIRCUIT_OPEN' }`), the `PostgrestError` `.throwOnError()` throws,
 * a result itself, or a `CircuitOpenError` (`rejectWith: 'error'`).
 */
export function isCircuitRejection(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (CircuitOpenError.isInstance(value)) return true;
  const record = value as { code?: unknown; error?: unknown };
  if (record.code === CIRCUIT_OPEN_CODE) return true;
  const error = record.error;
  return typeof error === 'object' && error !== null && ((error as { code?: unknown }).code === CIRCUIT_OPEN_CODE || CircuitOpenError.isInstance(error));
}
