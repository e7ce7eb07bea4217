import { findAddressRefusal } from '@phlow/address-policy';
import { CircuitTimeoutError } from '@phlow/circuit-breaker';

/** What an error says about the peer: `failure` counts against its breaker, `ignored` does not. */
export type A2aErrorVerdict = 'failure' | 'ignored';

/**
 * JSON-RPC error codes a peer can answer with (JSON-RPC 2.0 and the A2A 1.0 specification, §5.4),
 * and whether each says the peer is unwell (`failure`) or the request was wrong (`ignored`).
 * Codes not listed: the JSON-RPC "server error" range -32099..-32000 counts as a failure, any other
 * (application-defined) code is ignored.
 */
export const JSON_RPC_ERROR_VERDICTS: Readonly<Record<number, { readonly name: string; readonly verdict: A2aErrorVerdict }>> = Object.freeze({
  [-32700]: { name: 'Parse error', verdict: 'ignored' },
  [-32600]: { name: 'Invalid request', verdict: 'ignored' },
  [-32601]: { name: 'Method not found', verdict: 'ignored' },
  [-32602]: { name: 'Invalid params', verdict: 'ignored' },
  [-32603]: { name: 'Internal error', verdict: 'failure' },
  [-32001]: { name: 'TaskNotFoundError', verdict: 'ignored' },
  [-32002]: { name: 'TaskNotCancelableError', verdict: 'ignored' },
  [-32003]: { name: 'PushNotificationNotSupportedError', verdict: 'ignored' },
  [-32004]: { name: 'UnsupportedOperationError', verdict: 'ignored' },
  [-32005]: { name: 'ContentTypeNotSupportedError', verdict: 'ignored' },
  [-32006]: { name: 'InvalidAgentResponseError', verdict: 'failure' },
  [-32007]: { name: 'ExtendedAgentCardNotConfiguredError', verdict: 'ignored' },
  [-32008]: { name: 'ExtensionSupportRequiredError', verdict: 'ignored' },
  [-32009]: { name: 'VersionNotSupportedError', verdict: 'ignored' },
});

/**
 * The A2A error `reason`s (`google.rpc.ErrorInfo.reason`, the same on every transport) that mean the
 * caller asked for something wrong or absent. `INTERNAL_ERROR` and `INVALID_AGENT_RESPONSE` are not here.
 */
export const CALLER_ERROR_REASONS: ReadonlySet<string> = new Set([
  'INVALID_PARAMS',
  'TASK_NOT_FOUND',
  'TASK_NOT_CANCELABLE',
  'PUSH_NOTIFICATION_NOT_SUPPORTED',
  'UNSUPPORTED_OPERATION',
  'CONTENT_TYPE_NOT_SUPPORTED',
  'EXTENDED_AGENT_CARD_NOT_CONFIGURED',
  'EXTENSION_SUPPORT_REQUIRED',
  'VERSION_NOT_SUPPORTED',
]);

/** HTTP statuses that say "not now" rather than "no": worth another try later. */
const TRANSIENT_STATUSES: ReadonlySet<number> = new Set([408, 429, 502, 503, 504]);

/** Connection errors raised before anything was sent: repeating the request cannot repeat its effect. */
const NOT_SENT_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

/** HTTP statuses below 500 that still mean the peer cannot serve now. */
const RETRYABLE_CLIENT_STATUSES: ReadonlySet<number> = new Set([408, 429]);

/**
 * The SDK (1.3.0) reports a non-JSON HTTP error only in its message, e.g.
 * `HTTP error for SendMessage! Status: 503 Service Unavailable. Response: ...` or
 * `HTTP error establishing stream for SendStreamingMessage: 503 Service Unavailable. ...`, and the
 * card resolver's `Failed to fetch Agent Card from <url>: 404`.
 */
const SDK_HTTP_ERROR = /^(?:HTTP error (?:for \S+! Status: |establishing stream for \S+: )|Failed to fetch Agent Card from \S+: )(\d{3})\b/;

interface A2aErrorShape {
  readonly reason: string;
  readonly transport?: unknown;
  readonly envelopeCode?: unknown;
  readonly statusCode?: unknown;
}

function asA2aError(error: unknown): A2aErrorShape | undefined {
  // Duck-typed (the SDK brands its errors with a Symbol.for key; its `reason` is the spec's ErrorInfo.reason)
  // so that errors from another copy of the SDK classify the same.
  if (error instanceof Error && typeof (error as { reason?: unknown }).reason === 'string') return error as unknown as A2aErrorShape;
  return undefined;
}

/** The verdict for a JSON-RPC error `code`, by {@link JSON_RPC_ERROR_VERDICTS} and the ranges around it. */
export function classifyJsonRpcCode(code: number): A2aErrorVerdict {
  const known = JSON_RPC_ERROR_VERDICTS[code];
  if (known !== undefined) return known.verdict;
  return code >= -32099 && code <= -32000 ? 'failure' : 'ignored';
}

/** The verdict for an HTTP status a peer answered with (a body that is not a protocol error). */
export function classifyHttpStatus(status: number): A2aErrorVerdict {
  return status >= 500 || RETRYABLE_CLIENT_STATUSES.has(status) ? 'failure' : 'ignored';
}

/** The JSON-RPC code an error carries (itself or in its `cause` chain), if any. */
export function jsonRpcErrorCode(error: unknown): number | undefined {
  for (let current = error, depth = 0; current !== undefined && current !== null && depth < 5; current = (current as { cause?: unknown }).cause, depth++) {
    const a2a = asA2aError(current);
    if (a2a !== undefined && a2a.transport === 'jsonrpc' && typeof a2a.envelopeCode === 'number') return a2a.envelopeCode;
  }
  return undefined;
}

/**
 * Whether an error from an `@a2a-js/sdk` client call says the peer is unwell (`failure`: counts
 * against its breaker) or the request was wrong (`ignored`). The error and its `cause` chain are read:
 * 0. an address the policy refused (`AddressNotAllowedError`) → ignored: the caller's configuration,
 *    not the peer's failure;
 * 1. a timeout (the breaker's, or a stream's idle timeout) → failure;
 * 2. an A2A protocol error: JSON-RPC by its code ({@link classifyJsonRpcCode}), REST and client-side
 *    errors by their `reason` (caller reasons → ignored; a REST error with another reason → failure
 *    when its HTTP status is 5xx, 408 or 429);
 * 3. an HTTP error the SDK reports without a protocol body → {@link classifyHttpStatus};
 * 4. anything else (refused or reset connections, DNS, TLS, an aborted request, a response the SDK
 *    cannot parse) → failure.
 */
export function classifyA2aError(error: unknown): A2aErrorVerdict {
  if (findAddressRefusal(error) !== undefined) return 'ignored';
  if (CircuitTimeoutError.isInstance(error)) return 'failure';
  for (let current = error, depth = 0; current !== undefined && current !== null && depth < 5; current = (current as { cause?: unknown }).cause, depth++) {
    const a2a = asA2aError(current);
    if (a2a !== undefined) {
      if (a2a.transport === 'jsonrpc' && typeof a2a.envelopeCode === 'number') return classifyJsonRpcCode(a2a.envelopeCode);
      if (CALLER_ERROR_REASONS.has(a2a.reason)) return 'ignored';
      if (a2a.transport === 'rest' && typeof a2a.statusCode === 'number') return classifyHttpStatus(a2a.statusCode);
      return 'failure';
    }
    if (current instanceof Error) {
      const status = SDK_HTTP_ERROR.exec(current.message);
      if (status !== null) return classifyHttpStatus(Number(status[1]));
    }
  }
  return 'failure';
}

/** `expectedError` predicate for the peer breakers: true when {@link classifyA2aError} says `failure`. */
export function isA2aPeerFailure(error: unknown): boolean {
  return classifyA2aError(error) === 'failure';
}

/**
 * Whether a failed call is worth another try, and safe to repeat (see `isTransient` in
 * @phlow/circuit-breaker): the peer answered "not now" (HTTP 408, 429, 502, 503, 504), or the request
 * never left (connection refused, DNS). A timeout or a connection cut mid-request is transient only
 * for an `idempotent` method — a `SendMessage` that timed out may have been delivered. Protocol
 * errors (the peer answered with an A2A error) and refusals of ours (address policy, open breaker) are
 * not.
 */
export function isTransientA2aError(error: unknown, idempotent: boolean): boolean {
  if (findAddressRefusal(error) !== undefined) return false;
  if (CircuitTimeoutError.isInstance(error)) return idempotent;
  let networkError = false;
  for (let current = error, depth = 0; current !== undefined && current !== null && depth < 5; current = (current as { cause?: unknown }).cause, depth++) {
    const a2a = asA2aError(current);
    if (a2a !== undefined) return a2a.transport === 'rest' && typeof a2a.statusCode === 'number' && TRANSIENT_STATUSES.has(a2a.statusCode);
    if (current instanceof Error) {
      const status = SDK_HTTP_ERROR.exec(current.message);
      if (status !== null) return TRANSIENT_STATUSES.has(Number(status[1]));
      const code = (current as { code?: unknown }).code;
      if (typeof code === 'string' && NOT_SENT_CODES.has(code)) return true;
      if (current.name === 'TypeError' && current.message === 'fetch failed') networkError = true;
    }
  }
  return networkError && idempotent;
}
