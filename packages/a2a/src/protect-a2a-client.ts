import { context, propagation, SpanKind, trace, type Attributes, type Span } from '@opentelemetry/api';
import type { StreamResponse } from '@a2a-js/sdk';
import type { Client, RequestOptions } from '@a2a-js/sdk/client';
import { CircuitBreakerError, CircuitOpenError, type CircuitBreaker, type CircuitBreakerFamily, type Clock } from '@phlow/circuit-breaker';
import { recordBreakerError, SPAN_ATTR_NAME, SPAN_ATTR_STATE, withBreakerSpan } from '@phlow/otel';
import { A2A_METHODS, isProtectedMethod, resultTaskId, type A2aClientMethod, type A2aMethodSpec } from './a2a-methods.js';
import { resolveProtection, type ProtectA2aClientOptions, type ResolvedProtection } from './a2a-protection-options.js';
import { jsonRpcErrorCode } from './classify-a2a-error.js';
import { A2aStreamIdleTimeoutError } from './errors.js';
import {
  ATTR_COUNTED_AS_FAILURE,
  ATTR_PEER,
  ATTR_PROTOCOL_BINDING,
  ATTR_RPC_JSONRPC_ERROR_CODE,
  ATTR_RPC_METHOD,
  ATTR_RPC_SYSTEM,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_STREAM_EVENTS,
  ATTR_TASK_ID,
  SPAN_NAME_PREFIX,
} from './telemetry-names.js';

const PROTECTION = Symbol.for('phlow.a2a.protection');

/** What {@link a2aProtectionOf} tells about a protected client. */
export interface A2aProtection {
  /** The peer key. */
  readonly peer: string;
  /** The peer's breaker now (family members can be retired when idle and recreated, so read it when needed). */
  readonly breaker: CircuitBreaker;
  /** The unprotected client underneath. */
  readonly client: Client;
}

const RPC_SYSTEMS: Readonly<Record<string, string>> = { JSONRPC: 'jsonrpc', GRPC: 'grpc' };

type AnyFn = (...args: unknown[]) => unknown;

/** One protected client's shared state: its peer, family and span attributes. */
class PeerGuard {
  readonly family: CircuitBreakerFamily;
  readonly #baseAttributes: Attributes;

  constructor(
    readonly client: Client,
    readonly settings: ResolvedProtection,
  ) {
    this.family = settings.registry.getFamily(settings.family, settings.breakerOptions, settings.familyOptions);
    this.family.get(settings.peer); // fail now (bad options, full family), not at the first call
    const binding = client.transport?.protocolName;
    const attributes: Record<string, string | number> = { [ATTR_PEER]: settings.peer };
    if (typeof binding === 'string') {
      attributes[ATTR_PROTOCOL_BINDING] = binding;
      const system = RPC_SYSTEMS[binding.toUpperCase()];
      if (system !== undefined) attributes[ATTR_RPC_SYSTEM] = system;
    }
    if (settings.server !== undefined) {
      attributes[ATTR_SERVER_ADDRESS] = settings.server.address;
      if (settings.server.port !== undefined) attributes[ATTR_SERVER_PORT] = settings.server.port;
    }
    this.#baseAttributes = attributes;
  }

  get breaker(): CircuitBreaker {
    return this.family.get(this.settings.peer);
  }

  attributes(spec: A2aMethodSpec, taskId: string | undefined): Attributes {
    const attributes: Attributes = { ...this.#baseAttributes, [ATTR_RPC_METHOD]: spec.rpcMethod };
    if (taskId !== undefined) attributes[ATTR_TASK_ID] = taskId;
    return attributes;
  }

  /** The SDK call's options: our signal, and the caller's service parameters plus `traceparent`/`tracestate`. */
  requestOptions(callOptions: RequestOptions | undefined, signal: AbortSignal, span: Span): RequestOptions {
    const serviceParameters: Record<string, string> = { ...callOptions?.serviceParameters };
    propagation.inject(trace.setSpan(context.active(), span), serviceParameters);
    return { ...callOptions, signal, serviceParameters };
  }

  unary(method: Exclude<A2aClientMethod, 'sendMessageStream' | 'resubscribeTask'>): AnyFn {
    const spec = A2A_METHODS[method];
    const spanName = `${SPAN_NAME_PREFIX} ${spec.rpcMethod}`;
    const target = this.client as unknown as Record<string, AnyFn>;
    // getAgentCard(options?, verifySignature?) is the one method without a request payload.
    const optionsFirst = method === 'getAgentCard';
    return (...args: unknown[]) => {
      const params = optionsFirst ? undefined : args[0];
      const callOptions = (optionsFirst ? args[0] : args[1]) as RequestOptions | undefined;
      const rest = args.slice(optionsFirst ? 1 : 2);
      let breaker: CircuitBreaker;
      try {
        breaker = this.breaker;
      } catch (error) {
        return Promise.reject(error);
      }
      const taskId = spec.taskId(params);
      return withBreakerSpan(
        this.settings.tracer,
        breaker,
        spanName,
        ({ signal }, span) => {
          const sdkOptions = this.requestOptions(callOptions, signal, span);
          const pending = optionsFirst ? target[method]!.call(this.client, sdkOptions, ...rest) : target[method]!.call(this.client, params, sdkOptions, ...rest);
          return Promise.resolve(pending).then(
            (value) => {
              if (taskId === undefined) {
                const returned = resultTaskId(value);
                if (returned !== undefined) span.setAttribute(ATTR_TASK_ID, returned);
              }
              return value;
            },
            (error: unknown) => {
              // After our own abort (timeout, caller) the breaker has settled and the span is ended.
              if (!signal.aborted) annotateError(span, error, breaker);
              throw error;
            },
          );
        },
        { attributes: this.attributes(spec, taskId), signal: callOptions?.signal, kind: SpanKind.CLIENT },
      );
    };
  }

  streaming(method: 'sendMessageStream' | 'resubscribeTask'): AnyFn {
    const spec = A2A_METHODS[method];
    return (params: unknown, callOptions?: unknown, ...rest: unknown[]) => this.#stream(method, spec, params, callOptions as RequestOptions | undefined, rest);
  }

  /**
   * A stream through the breaker. The breaker's call covers opening the stream up to its first event
   * (so the breaker's `timeoutMs` bounds the wait for it); after that, each wait for the next event is
   * bounded by `streamIdleTimeoutMs`. The HTTP request outlives the breaker call, so it has its own
   * AbortController: the breaker's timeout, the caller's signal, an idle timeout and the consumer
   * leaving the loop all abort it. The span covers the whole stream.
   */
  async *#stream(
    method: 'sendMessageStream' | 'resubscribeTask',
    spec: A2aMethodSpec,
    params: unknown,
    callOptions: RequestOptions | undefined,
    rest: unknown[],
  ): AsyncGenerator<StreamResponse, void, undefined> {
    const breaker = this.breaker;
    let taskId = spec.taskId(params);
    const span = this.settings.tracer.startSpan(`${SPAN_NAME_PREFIX} ${spec.rpcMethod}`, {
      kind: SpanKind.CLIENT,
      attributes: { ...this.attributes(spec, taskId), [SPAN_ATTR_NAME]: breaker.name, [SPAN_ATTR_STATE]: breaker.state },
    });
    const spanContext = trace.setSpan(context.active(), span);
    const callerSignal = callOptions?.signal;
    const request = new AbortController();
    const onCallerAbort = (): void => request.abort(callerSignal?.reason);
    callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
    const target = this.client as unknown as Record<string, AnyFn>;
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
            const sdkOptions = this.requestOptions(callOptions, request.signal, span);
            iterator = (target[method]!.call(this.client, params, sdkOptions, ...rest) as AsyncGenerator<StreamResponse>)[Symbol.asyncIterator]();
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
        next = await this.#nextWithin(iterator!, request, breaker, events);
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
      annotateError(span, error, breaker);
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
  #nextWithin(iterator: AsyncIterator<StreamResponse>, request: AbortController, breaker: CircuitBreaker, events: number): Promise<IteratorResult<StreamResponse>> {
    const idleMs = this.settings.streamIdleTimeoutMs;
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

function annotateError(span: Span, error: unknown, breaker: CircuitBreaker): void {
  const code = jsonRpcErrorCode(error);
  if (code !== undefined) span.setAttribute(ATTR_RPC_JSONRPC_ERROR_CODE, code);
  if (CircuitOpenError.isInstance(error)) return; // rejected: never reached the peer
  // The breaker's own verdict (its expectedError: ours unless the user replaced it); timeouts always count.
  const counted = CircuitBreakerError.isInstance(error) || breaker.options.classifyError(error) === 'failure';
  span.setAttribute(ATTR_COUNTED_AS_FAILURE, counted);
}

function streamTaskId(event: StreamResponse): string | undefined {
  const payload = event.payload;
  if (payload === undefined) return undefined;
  if (payload.$case === 'task') return resultTaskId(payload.value);
  if (payload.$case === 'message') return resultTaskId(payload.value);
  const value = payload.value as { taskId?: unknown };
  return typeof value.taskId === 'string' && value.taskId !== '' ? value.taskId : undefined;
}

/**
 * Puts an `@a2a-js/sdk` client you already have behind its peer's circuit breaker, in one line.
 * Every call to the peer (`sendMessage`, `sendMessageStream`, `getTask`, `cancelTask`, `listTasks`,
 * `resubscribeTask`, the push-notification config methods, `getAgentCard`) then:
 * - runs through the breaker `{family}/{peer}` (guide defaults: 3 failures, 45 s recovery, 20 s timeout),
 *   failing fast with `CircuitOpenError` while the peer is down;
 * - is aborted for real (the HTTP request is cancelled) when it times out;
 * - counts as a failure only when the peer is at fault (see `classifyA2aError`);
 * - gets a client span `a2a {method}` whose W3C trace context goes to the peer in `traceparent`.
 *
 * Returns the same client (a `Proxy` of it): everything else reads through unchanged.
 *
 * @example
 * const client = protectA2aClient(await new ClientFactory().createFromUrl(url), { peer: 'planner' });
 * const reply = await client.sendMessage(request);
 */
export function protectA2aClient(client: Client, options: ProtectA2aClientOptions): Client {
  const what = 'protectA2aClient';
  if (typeof client !== 'object' || client === null || typeof (client as { sendMessage?: unknown }).sendMessage !== 'function') {
    throw new TypeError(`${what}: client must be an @a2a-js/sdk Client; got ${client === null ? 'null' : typeof client}`);
  }
  if ((client as unknown as Record<symbol, unknown>)[PROTECTION] !== undefined) {
    throw new TypeError(`${what}: this client is already protected (peer ${JSON.stringify(((client as unknown as Record<symbol, unknown>)[PROTECTION] as PeerGuard).settings.peer)})`);
  }
  const guard = new PeerGuard(client, resolveProtection(what, options));
  const wrappers = new Map<A2aClientMethod, AnyFn>();
  return new Proxy(client, {
    get(target, property) {
      if (property === PROTECTION) return guard;
      if (isProtectedMethod(property)) {
        let wrapper = wrappers.get(property);
        if (wrapper === undefined) {
          wrapper = A2A_METHODS[property].streaming ? guard.streaming(property as 'sendMessageStream' | 'resubscribeTask') : guard.unary(property as Exclude<A2aClientMethod, 'sendMessageStream' | 'resubscribeTask'>);
          wrappers.set(property, wrapper);
        }
        return wrapper;
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as AnyFn).bind(target) : value;
    },
  });
}

/** The peer, breaker and underlying client of a client from {@link protectA2aClient}, or undefined for any other value. */
export function a2aProtectionOf(client: unknown): A2aProtection | undefined {
  if (typeof client !== 'object' || client === null) return undefined;
  const guard = (client as Record<symbol, unknown>)[PROTECTION];
  if (!(guard instanceof PeerGuard)) return undefined;
  return {
    peer: guard.settings.peer,
    get breaker() {
      return guard.breaker;
    },
    client: guard.client,
  };
}
