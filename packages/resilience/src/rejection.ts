import { CircuitFamilyFullError, CircuitOpenError } from '@phlow/circuit-breaker';
import { BulkheadRejectedError, RateLimitedError } from './errors.js';

/**
 * Whether `error` is a rejection: a call refused without running by an open breaker, a full breaker
 * family, a bulkhead or a rate limiter. Retrying a rejection only adds load where a policy just shed
 * it (the guide's "circuit open, don't retry"), so `retry` never does, whatever its `retryOn` says.
 */
export function isRejection(error: unknown): boolean {
  return (
    CircuitOpenError.isInstance(error) ||
    CircuitFamilyFullError.isInstance(error) ||
    BulkheadRejectedError.isInstance(error) ||
    RateLimitedError.isInstance(error)
  );
}
