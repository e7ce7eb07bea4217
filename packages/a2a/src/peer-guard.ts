import { context, propagation, SpanKind, trace, type Attributes, type Span } from '@opentelemetry/api';
import type { Client, RequestOptions } from '@a2a-js/sdk/client';
import { markTransient, type CircuitBreaker, type CircuitBreakerFamily } from '@phlow/circuit-breaker';
import { withBreakerSpan } from '@phlow/otel';
import { A2A_METHODS, resultTaskId, type A2aClientMethod, type A2aMethodSpec } from './a2a-methods.js';
import { peerFamily, type ResolvedProtection } from './a2a-protection-options.js';
import { annotateA2aError } from './annotate-a2a-error.js';
import { isTransientA2aError } from './classify-a2a-error.js';
import { protectedStream } from './protected-stream.js';
import {
  ATTR_PEER,
  ATTR_PROTOCOL_BINDING,
  ATTR_RPC_METHOD,
  ATTR_RPC_SYSTEM,
  ATTR_TASK_ID,
  SPAN_NAME_PREFIX,
} from './telemetry-names.js';

const RPC_SYSTEMS: Readonly<Record<string, string>> = { JSONRPC: 'jsonrpc', GRPC: 'grpc' };

type AnyFn = (...args: unknown[]) => unknown;

/** @internal One protected client's shared state: its peer, family and span attributes. */
export class PeerGuard {
  readonly family: CircuitBreakerFamily;
  readonly #baseAttributes: Attributes;

  constructor(
    readonly client: Client,
    readonly settings: ResolvedProtection,
  ) {
    this.family = peerFamily(settings);
    // Fail now (bad options, full family), not at the first call; without counting a use, so a client
    // built and called once leaves its peer a one-off (the first to make room), not a regular.
    this.family.ensure(settings.peer);
    const binding = client.transport?.protocolName;
    const attributes: Attributes = { [ATTR_PEER]: settings.peer, ...settings.serverAttributes };
    if (typeof binding === 'string') {
      attributes[ATTR_PROTOCOL_BINDING] = binding;
      const system = RPC_SYSTEMS[binding.toUpperCase()];
      if (system !== undefined) attributes[ATTR_RPC_SYSTEM] = system;
    }
    this.#baseAttributes = attributes;
  }

  /** The peer's breaker for a call: counts as a use of the peer's key. */
  breakerForCall(): CircuitBreaker {
    return this.family.get(this.settings.peer);
  }

  /** The peer's breaker to hand out (`breakerFor`, `a2aProtectionOf`): asking is not a use. */
  get breaker(): CircuitBreaker {
    return this.family.ensure(this.settings.peer);
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
        breaker = this.breakerForCall();
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
          let pending: unknown;
          try {
            pending = optionsFirst ? target[method]!.call(this.client, sdkOptions, ...rest) : target[method]!.call(this.client, params, sdkOptions, ...rest);
          } catch (error) {
            pending = Promise.reject(error); // some client methods throw synchronously (push notifications unsupported)
          }
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
              if (!signal.aborted) annotateA2aError(span, error, breaker);
              throw error;
            },
          );
        },
        { attributes: this.attributes(spec, taskId), signal: callOptions?.signal, kind: SpanKind.CLIENT },
      ).then(undefined, (error: unknown) => {
        // Marked for retry policies (see isTransientA2aError): they need no knowledge of this package.
        throw isTransientA2aError(error, spec.idempotent) ? markTransient(error) : error;
      });
    };
  }

  streaming(method: 'sendMessageStream' | 'resubscribeTask'): AnyFn {
    const spec = A2A_METHODS[method];
    return (params: unknown, callOptions?: unknown, ...rest: unknown[]) => protectedStream(this, method, spec, params, callOptions as RequestOptions | undefined, rest);
  }
}
