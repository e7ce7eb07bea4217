import { context, SpanKind, trace } from '@opentelemetry/api';
import type { StreamResponse } from '@a2a-js/sdk';
import type { RequestOptions } from '@a2a-js/sdk/client';
import type { CircuitBreaker, Clock } from '@phlow/circuit-breaker';
import { recordBreakerError, SPAN_ATTR_NAME, SPAN_ATTR_STATE } from '@phlow/otel';
import { resultTaskId, type A2aMethodSpec } from './a2a-methods.js';
import { annotateA2aError } from './annotate-a2a-error.js';
import { A2aStreamIdleTimeoutError } from './errors.js';
import type { PeerGuard } from './peer-guard.js';
import { ATTR_STREAM_EVENTS, ATTR_TASK_ID, SPAN_NAME_PREFIX } from './telemetry-names.js';

type AnyFn = (...args: unknown[]) => unknown;

/**
 * A stream through the breaker. The breaker's call covers opening the stream up to its first event
 * (so the breaker's `timeoutMs` bounds the wait for it); after that, each wait for the next event is
 * bounded by `streamIdleTimeoutMs`. The HTTP request outlives the breaker call, so it has its own
 * AbortController: the breaker's timeout, the caller's signal, an idle timeout and the consumer
 * leaving the loop all abort it. The span covers the whole stream.
 */
export async function* protectedStream(
  guard: PeerGuard,
  method: 'sendMessageStream' | 'resubscribeTask',
  spec: A2aMethodSpec,
  params: unknown,
  callOptions: RequestOptions | undefined,
  rest: unknown[],
): AsyncGenerator<StreamResponse, void, undefined> {
  const breaker = guard.breaker;
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
  try {
    let next = await context.with(spanContext, () =>
      breaker.execute(
        ({ signal }) => {
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
      yield next.value;
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
    if (streaming) recordStreamFailure(breaker, error);
    annotateA2aError(span, error, breaker);
    recordBreakerError(span, error, callerSignal);
    span.end();
    throw error;
  } finally {
    callerSignal?.removeEventListener('abort', onCallerAbort);
    if (!settled) {
      // The consumer left the loop (break, return, throw): close the HTTP request, end quietly.
      request.abort();
      void iterator?.return?.(undefined).catch(() => undefined);
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

/** A stream that fails after its first event is a failure the breaker did not see: report it through a call. */
function recordStreamFailure(breaker: CircuitBreaker, error: unknown): void {
  // The breaker's own classification (its expectedError) decides; an open breaker just rejects.
  breaker
    .execute(() => {
      throw error;
    })
    .catch(() => undefined);
}

function streamTaskId(event: StreamResponse): string | undefined {
  const payload = event.payload;
  if (payload === undefined) return undefined;
  if (payload.$case === 'task') return resultTaskId(payload.value);
  if (payload.$case === 'message') return resultTaskId(payload.value);
  const value = payload.value as { taskId?: unknown };
  return typeof value.taskId === 'string' && value.taskId !== '' ? value.taskId : undefined;
}
