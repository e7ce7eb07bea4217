import {
  context,
  createContextKey,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { CircuitOpenError, CircuitTimeoutError, type CallContext, type CircuitBreaker } from '@phlow/circuit-breaker';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import {
  EVENT_REJECTED,
  EVENT_TIMEOUT,
  SPAN_ATTR_NAME,
  SPAN_ATTR_RETRY_AFTER_MS,
  SPAN_ATTR_STATE,
  SPAN_ATTR_TIMEOUT_MS,
} from './telemetry-names.js';

/** Marks a context whose active span is a breaker span, so registry-level events are not doubled. */
const BREAKER_SPAN = createContextKey('phlow.circuit_breaker.span');

/** @internal True when `ctx`'s active span already reports its breaker call itself. */
export function isBreakerSpanContext(ctx: Context): boolean {
  return ctx.getValue(BREAKER_SPAN) === true;
}

/** Options of {@link withBreakerSpan}. */
export interface BreakerSpanOptions {
  /** Extra span attributes (e.g. `server.address`, `rpc.method`); set before the call starts. */
  readonly attributes?: Attributes;
  /** Span kind; `CLIENT` by default, since a breaker guards a call to a dependency. */
  readonly kind?: SpanKind;
  /** The caller's signal, passed to `execute`. Its abort ends the span without an error status. */
  readonly signal?: AbortSignal;
}

/**
 * Runs `fn` through `breaker` inside a new active span named `spanName` (keep it low-cardinality:
 * `{operation} {target}`). The span carries `phlow.circuit_breaker.name` and
 * `phlow.circuit_breaker.state` (the state the call met). A rejection adds a
 * `phlow.circuit_breaker.rejected` event, a timeout a `phlow.circuit_breaker.timeout` event; both, and
 * any other error, set status ERROR and `error.type` (errors other than rejections are also recorded as
 * exceptions). An abort by the caller's own signal is not an error. Adapters build their client spans
 * with this.
 *
 * @example
 * const tracer = trace.getTracer('@phlow/supabase');
 * const rows = await withBreakerSpan(tracer, breaker, 'select profiles', ({ signal }, span) =>
 *   client.from('profiles').select().abortSignal(signal), { attributes: { 'db.system.name': 'postgresql' } });
 */
export function withBreakerSpan<T>(
  tracer: Tracer,
  breaker: CircuitBreaker,
  spanName: string,
  fn: (context: CallContext, span: Span) => T | PromiseLike<T>,
  options: BreakerSpanOptions = {},
): Promise<T> {
  const span = tracer.startSpan(spanName, {
    kind: options.kind ?? SpanKind.CLIENT,
    attributes: { ...options.attributes, [SPAN_ATTR_NAME]: breaker.name, [SPAN_ATTR_STATE]: breaker.state },
  });
  const ctx = trace.setSpan(context.active(), span).setValue(BREAKER_SPAN, true);
  const signal = options.signal;
  return context.with(ctx, () => breaker.execute((callContext) => fn(callContext, span), signal === undefined ? undefined : { signal })).then(
    (value) => {
      span.end();
      return value;
    },
    (error: unknown) => {
      recordBreakerError(span, error, signal);
      span.end();
      throw error;
    },
  );
}

/**
 * Puts the outcome of a failed breaker call on `span` the way {@link withBreakerSpan} does: for
 * adapters that manage their own span.
 */
export function recordBreakerError(span: Span, error: unknown, callerSignal?: AbortSignal): void {
  if (callerSignal?.aborted === true && error === callerSignal.reason) return; // the caller gave up: not an error
  if (CircuitOpenError.isInstance(error)) {
    span.addEvent(EVENT_REJECTED, rejectionAttributes(error.state, error.retryAfterMs));
    span.setAttribute(SPAN_ATTR_STATE, error.state);
    span.setAttribute(ATTR_ERROR_TYPE, 'CircuitOpenError');
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
    return;
  }
  if (CircuitTimeoutError.isInstance(error)) {
    span.addEvent(EVENT_TIMEOUT, { [SPAN_ATTR_TIMEOUT_MS]: error.timeoutMs });
  }
  if (error instanceof Error) span.recordException(error);
  else span.recordException(String(error));
  span.setAttribute(ATTR_ERROR_TYPE, errorType(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}

/** @internal */
export function rejectionAttributes(state: string, retryAfterMs: number | null): Attributes {
  return retryAfterMs === null ? { [SPAN_ATTR_STATE]: state } : { [SPAN_ATTR_STATE]: state, [SPAN_ATTR_RETRY_AFTER_MS]: retryAfterMs };
}

/** `error.type` per the semantic conventions: the error's class name, `_OTHER` when there is none. */
function errorType(error: unknown): string {
  if (CircuitTimeoutError.isInstance(error)) return 'CircuitTimeoutError';
  if (error instanceof Error) return error.name !== 'Error' ? error.name : error.constructor.name || 'Error';
  return '_OTHER';
}
