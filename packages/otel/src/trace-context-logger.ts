import { isSpanContextValid, trace } from '@opentelemetry/api';
import type { CircuitLogEntry, CircuitLogger } from '@phlow/circuit-breaker';

/** A log entry with the ids of the trace it happened in. */
export interface TracedCircuitLogEntry extends CircuitLogEntry {
  /** W3C trace id (32 hex digits) of the span active at the state change. */
  readonly trace_id?: string;
  /** Span id (16 hex digits) of that span. */
  readonly span_id?: string;
  /** W3C trace flags (`01` when sampled). */
  readonly trace_flags?: string;
}

/**
 * Wraps a breaker logger so each line (a state change, or a `listener_error`) carries `trace_id`,
 * `span_id` and `trace_flags` of the span active when it happened (the call that tripped the breaker,
 * or whose listener threw), correlating logs and traces. Entries outside any span pass through unchanged.
 *
 * @example
 * const registry = new CircuitBreakerRegistry({ logger: traceContextLogger(jsonLineLogger()) });
 */
export function traceContextLogger(logger: CircuitLogger): CircuitLogger {
  if (typeof logger !== 'function') throw new TypeError(`traceContextLogger needs a logger function; got ${typeof logger}`);
  return (entry) => {
    const spanContext = trace.getActiveSpan()?.spanContext();
    if (spanContext === undefined || !isSpanContextValid(spanContext)) {
      logger(entry);
      return;
    }
    const traced: TracedCircuitLogEntry = {
      ...entry,
      trace_id: spanContext.traceId,
      span_id: spanContext.spanId,
      trace_flags: `0${spanContext.traceFlags.toString(16)}`.slice(-2),
    };
    logger(traced);
  };
}
