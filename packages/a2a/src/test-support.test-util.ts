import { context, propagation, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { AgentCard, SendMessageRequest } from '@a2a-js/sdk';
import { ClientFactory, JsonRpcTransportFactory, type Client } from '@a2a-js/sdk/client';
import { A2A_JSONRPC_PATH, A2aPeer, FaultProxy, type ClosedBy } from '@phlow/testkit';
import { textMessageRequest } from './text-message.js';

/** The real OTel SDK: in-memory exporter, W3C propagator and async-local-storage context registered globally. */
export function setUpTracing(): { tracer: Tracer; exporter: InMemorySpanExporter; spans: (name?: string) => ReadableSpan[] } {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  context.disable();
  propagation.disable();
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const tracer = provider.getTracer('test');
  return {
    tracer,
    exporter,
    spans: (name) => exporter.getFinishedSpans().filter((span) => name === undefined || span.name === name),
  };
}

/** A user text message, optionally in an existing task. */
export function textRequest(text: string, taskId = ''): SendMessageRequest {
  return textMessageRequest(text, { taskId });
}

/** A real A2A peer behind a fault proxy, and the card pointing at the proxy. */
export class PeerBehindProxy {
  readonly peer: A2aPeer;
  proxy!: FaultProxy;

  constructor(name: string) {
    this.peer = new A2aPeer({ name });
  }

  async start(): Promise<this> {
    await this.peer.start();
    this.proxy = new FaultProxy({ target: this.peer.url });
    await this.proxy.start();
    return this;
  }

  async stop(): Promise<void> {
    await this.proxy.stop();
    await this.peer.stop();
  }

  /** The peer's card with only its JSON-RPC interface, at the proxy. */
  get card(): AgentCard {
    const card = this.peer.agentCard;
    return { ...card, supportedInterfaces: [{ ...card.supportedInterfaces[0]!, url: `${this.proxy.url}${A2A_JSONRPC_PATH}` }] };
  }

  /** A plain SDK client through the proxy. */
  client(): Promise<Client> {
    return new ClientFactory({ transports: [new JsonRpcTransportFactory()] }).createFromAgentCard(this.card);
  }

  /** Records who closed each connection from now on. */
  watchCloses(): { readonly closedBy: ClosedBy[]; dispose(): void } {
    const closedBy: ClosedBy[] = [];
    const listener = this.proxy.onConnectionClose((event) => closedBy.push(event.closedBy));
    return { closedBy, dispose: () => listener.dispose() };
  }

  /** Requests the client aborted while the proxy was forwarding them. */
  get abortedByClient(): number {
    return this.proxy.stats().requests.abortedByClient;
  }
}

/** Polls `condition` every 10 ms; rejects naming `what` after `ms` (a bound, not a timing assertion). */
export async function waitFor(what: string, condition: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Settles a promise into its error (fails the test if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection, got a value');
}

export function traceparentOf(span: ReadableSpan): string {
  const { traceId, spanId, traceFlags } = span.spanContext();
  return `00-${traceId}-${spanId}-0${traceFlags.toString(16)}`;
}
