import { CircuitBreakerError } from '@phlow/circuit-breaker';

/**
 * A stream (`sendMessageStream`, `resubscribeTask`) received no event for `idleTimeoutMs` after its
 * previous one; the HTTP request has been aborted. It counts as a failure of the peer. A
 * `CircuitBreakerError`, so the guide's fallback (`CircuitBreakerError.isInstance(e)`) catches it.
 */
export class A2aStreamIdleTimeoutError extends CircuitBreakerError {
  readonly idleTimeoutMs: number;
  /** Events the stream delivered before it went quiet. */
  readonly eventsReceived: number;

  constructor(breakerName: string, idleTimeoutMs: number, eventsReceived: number) {
    super(breakerName, `A2A stream through ${breakerName} received no event for ${idleTimeoutMs} ms (after ${eventsReceived} events); request aborted`);
    this.idleTimeoutMs = idleTimeoutMs;
    this.eventsReceived = eventsReceived;
  }
}
A2aStreamIdleTimeoutError.prototype.name = 'A2aStreamIdleTimeoutError';
