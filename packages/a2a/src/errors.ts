import { CircuitBreakerError } from '@phlow/circuit-breaker';
import { errorMarker } from '@phlow/circuit-breaker/internal';

const IDLE_TIMEOUT_MARKER = errorMarker('phlow.a2a.stream-idle-timeout-error');

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

  override toJSON(): object {
    return { ...super.toJSON(), idleTimeoutMs: this.idleTimeoutMs, eventsReceived: this.eventsReceived };
  }

  /**
   * True for this error only, also from another copy of this package (where `instanceof` fails); the
   * base class's `isInstance` would accept every breaker error.
   */
  static override isInstance(value: unknown): value is A2aStreamIdleTimeoutError {
    return IDLE_TIMEOUT_MARKER.isMarked(value);
  }
}
IDLE_TIMEOUT_MARKER.mark(A2aStreamIdleTimeoutError, 'A2aStreamIdleTimeoutError');
