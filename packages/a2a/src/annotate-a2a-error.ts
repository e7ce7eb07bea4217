import type { Span } from '@opentelemetry/api';
import { CircuitBreakerError, CircuitOpenError, type CircuitBreaker } from '@phlow/circuit-breaker';
import { jsonRpcErrorCode } from './classify-a2a-error.js';
import { ATTR_COUNTED_AS_FAILURE, ATTR_RPC_JSONRPC_ERROR_CODE } from './telemetry-names.js';

/** @internal Puts the JSON-RPC code and the breaker's verdict on the span of a failed call. */
export function annotateA2aError(span: Span, error: unknown, breaker: CircuitBreaker): void {
  const code = jsonRpcErrorCode(error);
  if (code !== undefined) span.setAttribute(ATTR_RPC_JSONRPC_ERROR_CODE, code);
  if (CircuitOpenError.isInstance(error)) return; // rejected: never reached the peer
  // The breaker's own verdict (its expectedError: ours unless the user replaced it); timeouts always count.
  const counted = CircuitBreakerError.isInstance(error) || breaker.options.classifyError(error) === 'failure';
  span.setAttribute(ATTR_COUNTED_AS_FAILURE, counted);
}
