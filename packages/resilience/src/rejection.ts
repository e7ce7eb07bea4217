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

/** How deep {@link wrapsRejection} follows `cause`: enough for real wrapping, bounded against cycles and hostile chains. */
const MAX_CAUSE_DEPTH = 16;

/**
 * Whether `error` is a rejection or wraps one in its `cause` chain (an `Error('fetch peer', { cause })`
 * around an open breaker's error): a wrapped rejection is still a call that was shed, not a failure
 * of the dependency. Never throws: a `cause` getter that throws ends the walk.
 */
export function wrapsRejection(error: unknown): boolean {
  let current = error;
  for (let depth = 0; depth <= MAX_CAUSE_DEPTH; depth++) {
    if (isRejection(current)) return true;
    if (typeof current !== 'object' || current === null) return false;
    try {
      if (!('cause' in current)) return false;
      current = (current as { cause?: unknown }).cause;
    } catch {
      return false;
    }
  }
  return false;
}
