import { errorMarker } from '@phlow/circuit-breaker/internal';
import type { SupabaseService } from './supabase-request.js';

const MARKER = errorMarker('phlow.supabase.response-too-large-error');

/**
 * A response body was larger than `maxBodyBytes`: reading stopped there and the connection was closed,
 * so an unbounded answer (a `select` without a limit, a hostile or broken server) cannot exhaust memory.
 *
 * It is the caller's request that asked for too much, not the project that failed: the breaker counts it
 * as `ignored`. Like a timeout it carries `code: 'ABORT_ERR'`, so postgrest-js does not retry it (the
 * same query would get the same answer).
 */
export class ResponseTooLargeError extends Error {
  /** Node's code for a cancelled operation: clients do not retry it. */
  readonly code = 'ABORT_ERR';

  constructor(
    /** The Supabase API that answered. */
    readonly service: SupabaseService,
    /** The response's HTTP status. */
    readonly status: number,
    /** The limit in force. */
    readonly maxBodyBytes: number,
    /** Bytes announced by `Content-Length` (refused before reading), or read when the limit was passed. */
    readonly bytes: number,
    announced: boolean,
  ) {
    super(
      `Supabase ${service} response (status ${status}) is larger than maxBodyBytes (${maxBodyBytes} bytes): ` +
        (announced ? `it announced ${bytes} bytes, none were read` : `reading stopped at ${bytes} bytes`) +
        '; the connection was closed. Ask for less (fewer columns, .range(), .limit()) or raise the maxBodyBytes option',
    );
  }

  /** Recognises this error across duplicate copies of the package, where `instanceof` fails. */
  static isInstance(value: unknown): value is ResponseTooLargeError {
    return MARKER.isMarked(value);
  }
}
MARKER.mark(ResponseTooLargeError, 'ResponseTooLargeError');
