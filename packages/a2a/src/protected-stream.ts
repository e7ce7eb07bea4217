import { context, SpanKind, trace } from '@opentelemetry/api';
import { TaskState, type StreamResponse } from '@a2a-js/sdk';
import type { RequestOptions } from '@a2a-js/sdk/client';
import type { CircuitBreaker, Clock } from '@phlow/circuit-breaker';
import { recordBreakerError, SPAN_ATTR_NAME, SPAN_ATTR_STATE } from '@phlow/otel';
import { resultTaskId, type A2aMethodSpec } from './a2a-methods.js';
import { annotateA2aError } from './annotate-a2a-error.js';
import { A2aStreamIdleTimeoutError } from './errors.js';
import type { PeerGuard } from './peer-guard.js';
import { ATTR_COUNTED_AS_FAILURE, ATTR_STREAM_EVENTS, ATTR_TASK_ID, SPAN_NAME_PREFIX } from './telemetry-names.js';

type AnyFn = (...args: unknown[]) => unknown;

/**
 * A stream through the breaker. The breaker's call covers opening the stream up to its first event
 * (so the breaker's `timeoutMs` bounds the wait for it, and a long healthy stream is never cut by it);
 * after that, each wait for the next event is bounded by `streamIdleTimeoutMs`. The HTTP request
 * outlives the breaker call, so it has its own AbortController: the breaker's timeout, the caller's
 * signal, an idle timeout, the consumer leaving the loop and the stream's final event all abort it.
 * The span covers the whole stream.
 *
 * The stream's outcome belongs to the breaker generation that admitted it, like any call's: a failure
 * after the first event counts only while that generation is current. Once the breaker has moved on
 * (opened, gone half-open, closed again), the failure is stale — it takes no probe slot, reopens
 * nothing and counts toward no threshold.
 */
export async function* protectedStream(
  guard: PeerGuard,
  method: 'sendMessageStream' | 'resubscribeTask',
  spec: A2aMethodSpec,
  params: unknown,
  callOptions: RequestOptions | undefined,
  rest: unknown[],
): AsyncGenerator<StreamResponse, void, undefined> {
  const breaker = guard.breakerForCall();
  let taskId = spec.taskId(params);
  const span = guard.settings.tracer.startSpan(`${SPAN_NAME_PREFIX} ${spec.rpcMethod}`, {
    kind: SpanKind.CLIENT,
    attributes: { ...guard.attributes(spec, taskId), [SPAN_ATTR_NAME]: breaker.name, [SPAN_ATTR_STATE]: breaker.state },
  });
  const spanContext = trace.setSpan(context.active(), span);
  const callerSignal = callOptions?.signal;
  const request = new AbortController();
  const onCallerAbort = (): void => request.abort(callerSignal?.reason);
  callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
  const target = guard.client as unknown as Record<string, AnyFn>;
  let iterator: AsyncIterator<StreamResponse> | undefined;
  let events = 0;
  let settled = false;
  let streaming = false; // past the first event: outside the breaker's call
  let generation = NaN; // the breaker generation that admitted the stream
  try {
    let next = await context.with(spanContext, () =>
      breaker.execute(
        ({ signal }) => {
          generation = breaker.toJSON().generation; // fn runs at admission: this is the call's generation
          const onTimeout = (): void => request.abort(signal.reason);
          signal.addEventListener('abort', onTimeout, { once: true });
          const sdkOptions = guard.requestOptions(callOptions, request.signal, span);
          iterator = (target[method]!.call(guard.client, params, sdkOptions, ...rest) as AsyncGenerator<StreamResponse>)[Symbol.asyncIterator]();
          return iterator.next().finally(() => signal.removeEventListener('abort', onTimeout));
        },
        callerSignal === undefined ? undefined : { signal: callerSignal },
      ),
    );
    streaming = true;
    while (next.done !== true) {
      events++;
      if (taskId === undefined) {
        taskId = streamTaskId(next.value);
        if (taskId !== undefined) span.setAttribute(ATTR_TASK_ID, taskId);
      }
      const event = next.value;
      yield event;
      if (endsStream(event)) {
        // The protocol's last word: whatever a peer sends after it (or a stall) is not the consumer's concern.
        settled = true;
        closeRequest(request, iterator);
        break;
      }
      next = await nextWithin(iterator!, request, breaker, guard.settings.streamIdleTimeoutMs, events);
    }
    settled = true;
    span.setAttribute(ATTR_STREAM_EVENTS, events);
    span.end();
  } catch (error) {
    settled = true;
    request.abort();
    span.setAttribute(ATTR_STREAM_EVENTS, events);
    if (callerSignal?.aborted === true) {
      span.end(); // the caller gave up: not an error
      throw callerSignal.reason;
    }
    // Before the first event the breaker has already counted the outcome; after it, only we see it.
    const stale = streaming && !recordLateFailure(breaker, generation, error);
    annotateA2aError(span, error, breaker);
    if (stale) span.setAttribute(ATTR_COUNTED_AS_FAILURE, false);
    recordBreakerError(span, error, callerSignal);
    span.end();
    throw error;
  } finally {
    callerSignal?.removeEventListener('abort', onCallerAbort);
    if (!settled) {
      // The consumer left the loop (break, return, throw): close the HTTP request, end quietly.
      closeRequest(request, iterator);
      span.setAttribute(ATTR_STREAM_EVENTS, events);
      span.end();
    }
  }
}

/** The next event, or an {@link A2aStreamIdleTimeoutError} (aborting the request) if none comes in time. */
function nextWithin(
  iterator: AsyncIterator<StreamResponse>,
  request: AbortController,
  breaker: CircuitBreaker,
  idleMs: number,
  events: number,
): Promise<IteratorResult<StreamResponse>> {
  const pending = iterator.next();
  if (idleMs === 0) return pending;
  const clock: Clock = breaker.options.clock;
  return new Promise((resolve, reject) => {
    const timer = clock.setTimeout(() => {
      const error = new A2aStreamIdleTimeoutError(breaker.name, idleMs, events);
      reject(error);
      request.abort(error);
    }, idleMs);
    pending.then(
      (value) => {
        clock.clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clock.clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** Aborts the HTTP request and lets the SDK's generator release the response body. */
function closeRequest(request: AbortController, iterator: AsyncIterator<StreamResponse> | undefined): void {
  request.abort();
  void iterator?.return?.(undefined).catch(() => undefined);
}

/**
 * A failure after the first event, which the breaker did not see: reported through a call, but only
 * while the generation that admitted the stream is current (then a call now belongs to it too).
 * Returns false when the failure is stale and was not reported.
 */
function recordLateFailure(breaker: CircuitBreaker, generation: number, error: unknown): boolean {
  // Generations only grow: any other number means the breaker moved on since it admitted the stream.
  if (breaker.toJSON().generation !== generation) return false;
  // The breaker's own classification (its expectedError) decides, as for any call.
  breaker
    .execute(() => {
      throw error;
    })
    .catch(() => undefined);
  return true;
}

/** Task states after which a peer's stream ends (as the SDK's own server ends it): terminal, or waiting for input. */
const FINAL_STATES: ReadonlySet<TaskState> = new Set([
  TaskState.TASK_STATE_COMPLETED,
  TaskState.TASK_STATE_FAILED,
  TaskState.TASK_STATE_CANCELED,
  TaskState.TASK_STATE_REJECTED,
  TaskState.TASK_STATE_INPUT_REQUIRED,
]);

/** A message, or a status update to a final state: the protocol's end of a stream. */
function endsStream(event: StreamResponse): boolean {
  const payload = event.payload;
  if (payload?.$case === 'message') return true;
  if (payload?.$case !== 'statusUpdate') return false;
  const state = payload.value.status?.state;
  return state !== undefined && FINAL_STATES.has(state);
}

function streamTaskId(event: StreamResponse): string | undefined {
  const payload = event.payload;
  if (payload === undefined) return undefined;
  if (payload.$case === 'task') return resultTaskId(payload.value);
  if (payload.$case === 'message') return resultTaskId(payload.value);
  const value = payload.value as { taskId?: unknown };
  return typeof value.taskId === 'string' && value.taskId !== '' ? value.taskId : undefined;
}
