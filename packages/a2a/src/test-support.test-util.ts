import type { Server } from 'node:net';
import { context, propagation, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { TracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace';
import type { AgentCard, SendMessageRequest } from '@a2a-js/sdk';
import { ClientFactory, JsonRpcTransportFactory, type Client } from '@a2a-js/sdk/client';
import { A2A_JSONRPC_PATH, A2aPeer, FaultProxy, type ClosedBy, type Disposable } from '@phlow/testkit';
import { CircuitBreakerRegistry } from '@phlow/circuit-breaker';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { textMessageRequest } from './text-message.js';

/**
 * The real OTel SDK: in-memory exporter, W3C propagator and async-local-storage context registered
 * globally. `tracerProvider` is for the clients under test, `tracer` for a test's own spans.
 */
export function setUpTracing(): { tracerProvider: TracerProvider; tracer: Tracer; exporter: InMemorySpanExporter; spans: (name?: string) => ReadableSpan[] } {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  context.disable();
  propagation.disable();
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const tracer = provider.getTracer('test');
  return {
    tracerProvider: provider,
    tracer,
    exporter,
    spans: (name) => exporter.getFinishedSpans().filter((span) => name === undefined || span.name === name),
  };
}

/** Starts `servers` (peers, proxies) before this file's tests and stops them after. */
export function serveDuringFile(...servers: { start(): Promise<unknown>; stop(): Promise<unknown> }[]): void {
  beforeAll(async () => {
    await Promise.all(servers.map((server) => server.start()));
  });
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.stop()));
  });
}

/**
 * Before each test of the file: a quiet registry of its own, handed to `use`
 * (`(fresh) => (registry = fresh)`), no spans left from the last test, and `peers` healthy again.
 */
export function freshEachTest(tracing: { readonly exporter: InMemorySpanExporter }, use: (registry: CircuitBreakerRegistry) => void, ...peers: PeerBehindProxy[]): void {
  beforeEach(async () => {
    use(new CircuitBreakerRegistry({ logger: false }));
    tracing.exporter.reset();
    await Promise.all(peers.map((peer) => peer.reset()));
  });
}

/** Listens on a free port of `host` and answers it. */
export async function listenOn(server: Server, host = '127.0.0.1'): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return (server.address() as { port: number }).port;
}

/** Closes `server` (it resolves once every connection is gone). */
export function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => server.close(() => resolve()));
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

  /** Back to a healthy echo peer with no faults and no requests recorded (between tests). */
  async reset(): Promise<void> {
    this.peer.setBehavior({ kind: 'echo' });
    this.peer.clearRequests();
    await this.proxy.clearFaults();
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

  /** Records who closed each connection from now on, until disposed (`using closes = peer.watchCloses()`). */
  watchCloses(): { readonly closedBy: ClosedBy[] } & Disposable {
    const closedBy: ClosedBy[] = [];
    const listener = this.proxy.onConnectionClose((event) => closedBy.push(event.closedBy));
    return { closedBy, dispose: () => listener.dispose(), [Symbol.dispose]: () => listener.dispose() };
  }

  /** Requests the client aborted while the proxy was forwarding them. */
  get abortedByClient(): number {
    return this.proxy.stats().requests.abortedByClient;
  }
}

export function traceparentOf(span: ReadableSpan): string {
  const { traceId, spanId, traceFlags } = span.spanContext();
  return `00-${traceId}-${spanId}-0${traceFlags.toString(16)}`;
}
