/** What a protected function receives. */
export interface CallContext {
  /**
   * Aborted when the call times out (reason: the `CircuitTimeoutError`) or the caller's own signal
   * aborts (reason: the caller's). Pass it to `fetch` and friends so a timeout really cancels the work.
   * Created on first access: a function that never reads it pays nothing for it.
   */
  readonly signal: AbortSignal;
}

/** Options of one `execute` call. */
export interface ExecuteOptions {
  /** The caller's own signal: its abort rejects the call with its reason and is not a failure. */
  readonly signal?: AbortSignal;
}

/**
 * The context of calls with neither a timeout nor a caller signal: a signal that never aborts. Each read
 * makes a new one — one shared signal would collect an abort listener from every `fetch` it is passed
 * to (undici drops them only when the request is garbage-collected) — and a call that never reads it
 * pays nothing.
 */
export const UNABORTABLE: CallContext = Object.freeze({
  get signal(): AbortSignal {
    return new AbortController().signal;
  },
});
