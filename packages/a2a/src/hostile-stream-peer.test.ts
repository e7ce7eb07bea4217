import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { SpanStatusCode } from '@opentelemetry/api';
import { TaskState, type AgentCard, type StreamResponse } from '@a2a-js/sdk';
import { ClientFactory, JsonRpcTransportFactory, type Client } from '@a2a-js/sdk/client';
import { CircuitBreakerRegistry, CircuitTimeoutError, ManualClock, type CircuitBreaker } from '@phlow/circuit-breaker';
import { rejection, waitFor } from '@phlow/test-helpers';
import { agentCard } from '@phlow/testkit';
import { beforeEach, describe, expect, it } from 'vitest';
import { A2aStreamIdleTimeoutError } from './errors.js';
import { a2aProtectionOf, protectA2aClient } from './protect-a2a-client.js';
import { serveDuringFile, setUpTracing, textRequest } from './test-support.test-util.js';

/*
 * A hostile A2A peer: a raw HTTP server on loopback that answers SendStreamingMessage with whatever
 * the test scripts — endless events, events after the final one, malformed events, silence after the
 * first event. (The testkit's A2aPeer is built on the SDK's server, which never misbehaves like this.)
 * The client is the real @a2a-js/sdk one; breaker and idle time run on a ManualClock.
 */

const TIMEOUT_MS = 1_000;
const IDLE_MS = 1_000;

/** One streaming request the hostile peer holds: write events, raw bytes, or stay silent. */
interface HeldStream {
  readonly id: unknown;
  readonly response: ServerResponse;
  /** An SSE event carrying a JSON-RPC result; false when the socket buffer is full. */
  send(result: unknown): boolean;
  /** Raw bytes as they go on the wire. */
  raw(text: string): boolean;
  /** True once the connection closed. */
  readonly closed: boolean;
  /** True when the client closed it before the answer was complete. */
  readonly closedByClient: boolean;
}

type Script = (stream: HeldStream) => void | Promise<void>;

class HostilePeer {
  readonly #server: Server = createServer((req, res) => void this.#handle(req, res));
  readonly #sockets = new Set<Socket>();
  script: Script = () => undefined;
  /** The streams answered (headers sent) since the last {@link forget}. */
  streams: HeldStream[] = [];

  forget(): void {
    this.streams = [];
  }

  async start(): Promise<void> {
    this.#server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  get card(): AgentCard {
    return agentCard({ name: 'hostile', description: 'answers streams as the test scripts', jsonRpcUrl: `${this.url}/a2a/jsonrpc`, skills: [] });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of req) body += String(chunk);
    const { id } = JSON.parse(body) as { id: unknown };
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.flushHeaders();
    let closed = false;
    let closedByClient = false;
    res.once('close', () => {
      closed = true;
      closedByClient = !res.writableFinished;
    });
    const held: HeldStream = {
      id,
      response: res,
      send: (result) => res.write(`data: ${JSON.stringify({ jsonrpc: '2.0', id, result })}\n\n`),
      raw: (text) => res.write(text),
      get closed() {
        return closed;
      },
      get closedByClient() {
        return closedByClient;
      },
    };
    this.streams.push(held);
    await this.script(held);
  }
}

const task = { task: { id: 't1', contextId: 'c1', status: { state: 'TASK_STATE_SUBMITTED' } } };
const status = (state: string, pad = '') => ({ statusUpdate: { taskId: 't1', contextId: 'c1', status: { state }, ...(pad ? { metadata: { pad } } : {}) } });
const working = status('TASK_STATE_WORKING');
const message = { message: { messageId: 'm1', contextId: 'c1', taskId: '', role: 'ROLE_AGENT', parts: [{ text: 'hi' }] } };

const tracing = setUpTracing();
const peer = new HostilePeer();
let registry: CircuitBreakerRegistry;
let clock: ManualClock;
let client: Client;
let breaker: CircuitBreaker;

serveDuringFile(peer);
beforeEach(async () => {
  registry = new CircuitBreakerRegistry({ logger: false });
  clock = new ManualClock();
  tracing.exporter.reset();
  peer.forget();
  const plain = await new ClientFactory({ transports: [new JsonRpcTransportFactory()] }).createFromAgentCard(peer.card);
  client = protectA2aClient(plain, {
    peer: 'hostile',
    registry,
    tracerProvider: tracing.tracerProvider,
    streamIdleTimeoutMs: IDLE_MS,
    breaker: { clock, timeoutMs: TIMEOUT_MS, failureThreshold: 3 },
  });
  breaker = a2aProtectionOf(client)!.breaker;
});

function kind(event: StreamResponse): string {
  const payload = event.payload;
  if (payload?.$case === 'statusUpdate') return `status:${TaskState[payload.value.status?.state ?? 0]}`;
  return payload?.$case ?? 'none';
}

async function collect(stream: AsyncGenerator<StreamResponse>): Promise<{ kinds: string[]; error: unknown }> {
  const kinds: string[] = [];
  try {
    for await (const event of stream) kinds.push(kind(event));
    return { kinds, error: undefined };
  } catch (error) {
    return { kinds, error };
  }
}

describe('a peer that sends events without end', () => {
  it('a long stream is cut neither by timeoutMs nor by the idle timeout; backpressure holds the peer; leaving closes it; one success', async () => {
    let written = 0;
    let waitingForDrain = false;
    peer.script = async (stream) => {
      stream.send(task);
      const pad = 'x'.repeat(2_048);
      while (!stream.closed) {
        written++;
        if (!stream.send(status('TASK_STATE_WORKING', pad))) {
          waitingForDrain = true;
          await new Promise((resolve) => {
            stream.response.once('drain', resolve);
            stream.response.once('close', resolve);
          });
          waitingForDrain = false;
        }
      }
    };
    const stream = client.sendMessageStream(textRequest('go on forever'));
    let read = 0;
    for (; read < 3_000; read++) {
      const next = await stream.next();
      expect(next.done).toBe(false);
      clock.advance(IDLE_MS - 1); // breaker time flows: 3 000 s in total, 3 000 times timeoutMs
    }
    // The consumer pauses: the client reads ahead only a few buffers' worth, then the peer is held by
    // backpressure for good (no progress for 30 polls in a row) — an endless stream fills no memory.
    let last = -1;
    let still = 0;
    await waitFor('the peer to be held by backpressure', () => {
      still = waitingForDrain && written === last ? still + 1 : 0;
      last = written;
      return still >= 30;
    });
    expect(written - read).toBeLessThan(8_000); // events of 2 KiB: well under 16 MiB in sockets and stream buffers

    await stream.return(undefined);
    await waitFor('the peer to see the client close the stream', () => peer.streams[0]?.closedByClient === true);
    expect(breaker.getStats()).toMatchObject({ state: 'closed', total_calls: 1, total_successes: 1, total_failures: 0, in_flight: 0 });
    expect(clock.pendingTimers).toBe(0);
    const span = tracing.spans('a2a SendStreamingMessage')[0]!;
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    expect(span.attributes['phlow.a2a.stream.events']).toBe(3_000);
  });
});

describe('a peer that goes on after its final event', () => {
  const finals: [string, unknown][] = [
    ['a completed status', status('TASK_STATE_COMPLETED')],
    ['a failed status', status('TASK_STATE_FAILED')],
    ['a canceled status', status('TASK_STATE_CANCELED')],
    ['a rejected status', status('TASK_STATE_REJECTED')],
    ['an input-required status', status('TASK_STATE_INPUT_REQUIRED')],
  ];

  it.each(finals)('after %s: nothing more is delivered, the request is closed at once, no failure even if the peer stalls', async (_, final) => {
    peer.script = (stream) => {
      stream.send(task);
      stream.send(final);
      stream.send(working); // after the final event: a protocol violation
      stream.send(message);
      stream.raw('data: {not json\n\n'); // not even valid
      // ...and the connection stays open
    };
    const { kinds, error } = await collect(client.sendMessageStream(textRequest('done?')));
    expect(error).toBeUndefined();
    expect(kinds).toHaveLength(2);
    expect(kinds[0]).toBe('task');
    await waitFor('the peer to see the client close the stream', () => peer.streams[0]?.closedByClient === true);
    clock.advance(10 * IDLE_MS);
    expect(clock.pendingTimers).toBe(0);
    expect(breaker.getStats()).toMatchObject({ total_calls: 1, total_successes: 1, total_failures: 0, in_flight: 0 });
    expect(tracing.spans('a2a SendStreamingMessage')[0]?.attributes['phlow.a2a.stream.events']).toBe(2);
  });

  it('a message as the first event ends the stream', async () => {
    peer.script = (stream) => {
      stream.send(message);
      stream.send(task);
    };
    const { kinds, error } = await collect(client.sendMessageStream(textRequest('hi')));
    expect({ kinds, error }).toEqual({ kinds: ['message'], error: undefined });
    await waitFor('the peer to see the client close the stream', () => peer.streams[0]?.closedByClient === true);
  });

  it('auth-required is not final: the stream goes on (the SDK server resumes after it)', async () => {
    peer.script = (stream) => {
      stream.send(task);
      stream.send(status('TASK_STATE_AUTH_REQUIRED'));
      stream.send(working);
      stream.send(status('TASK_STATE_COMPLETED'));
    };
    const { kinds } = await collect(client.sendMessageStream(textRequest('auth')));
    expect(kinds).toEqual(['task', 'status:TASK_STATE_AUTH_REQUIRED', 'status:TASK_STATE_WORKING', 'status:TASK_STATE_COMPLETED']);
  });
});

describe('a peer that sends malformed events', () => {
  const malformed: [string, (stream: HeldStream) => void][] = [
    ['data that is not JSON', (s) => s.raw('data: {"jsonrpc": "2.0", "id": \n\n')],
    ['JSON that is not JSON-RPC 2.0', (s) => s.raw(`data: ${JSON.stringify({ jsonrpc: '1.0', id: s.id, result: working })}\n\n`)],
    ["another request's id", (s) => s.raw(`data: ${JSON.stringify({ jsonrpc: '2.0', id: 'not-yours', result: working })}\n\n`)],
    ['a response without result', (s) => s.raw(`data: ${JSON.stringify({ jsonrpc: '2.0', id: s.id })}\n\n`)],
    ['an internal error in the middle of the stream', (s) => s.raw(`data: ${JSON.stringify({ jsonrpc: '2.0', id: s.id, error: { code: -32603, message: 'boom' } })}\n\n`)],
    ['an event over the SDK size limit (4 MiB)', (s) => s.raw(`data: "${'x'.repeat(4 * 1024 * 1024 + 16)}"\n\n`)],
    ['a connection cut in the middle of an event', (s) => {
      // Cut once the bytes before it are on their way, so the first event still arrives.
      s.response.write('data: {"jsonrpc": "2.0", "id"', () => s.response.socket?.destroy());
    }],
  ];

  it.each(malformed)('after the first event, %s: the consumer gets the error and the breaker counts a failure', async (_, misbehave) => {
    peer.script = (stream) => {
      stream.send(task);
      misbehave(stream);
    };
    const { kinds, error } = await collect(client.sendMessageStream(textRequest('x')));
    expect(kinds).toEqual(['task']);
    expect(error).toBeInstanceOf(Error);
    expect(breaker.getStats()).toMatchObject({ state: 'closed', failure_count: 1, total_failures: 1, in_flight: 0 });
    const span = tracing.spans('a2a SendStreamingMessage')[0]!;
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.attributes['phlow.a2a.counted_as_failure']).toBe(true);
  });

  it.each(malformed)('as the first event, %s: a failure of the breaker call itself', async (_, misbehave) => {
    peer.script = misbehave;
    const { kinds, error } = await collect(client.sendMessageStream(textRequest('x')));
    expect(kinds).toEqual([]);
    expect(error).toBeInstanceOf(Error);
    expect(breaker.getStats()).toMatchObject({ total_calls: 1, failure_count: 1, in_flight: 0 });
  });

  it("a mid-stream JSON-RPC error that blames the request (-32602) reaches the consumer but does not count", async () => {
    peer.script = (stream) => {
      stream.send(task);
      stream.raw(`data: ${JSON.stringify({ jsonrpc: '2.0', id: stream.id, error: { code: -32602, message: 'bad params' } })}\n\n`);
    };
    const { kinds, error } = await collect(client.sendMessageStream(textRequest('x')));
    expect(kinds).toEqual(['task']);
    expect(String(error)).toMatch(/bad params/);
    expect(breaker.getStats()).toMatchObject({ failure_count: 0, total_failures: 0, total_ignored: 1 });
    expect(tracing.spans('a2a SendStreamingMessage')[0]?.attributes['phlow.a2a.counted_as_failure']).toBe(false);
  });
});

describe('a peer that stalls', () => {
  it('right after the first event: A2aStreamIdleTimeoutError after streamIdleTimeoutMs, request closed, a failure', async () => {
    peer.script = (stream) => void stream.send(task);
    const stream = client.sendMessageStream(textRequest('then nothing'));
    expect(kind((await stream.next()).value as StreamResponse)).toBe('task');
    const timers = clock.pendingTimers;
    const next = stream.next();
    next.catch(() => undefined);
    await waitFor('the idle timer to be armed', () => clock.pendingTimers > timers);
    clock.advance(IDLE_MS - 1);
    expect(peer.streams[0]?.closed).toBe(false);
    clock.advance(1);
    const error = await rejection(next);
    expect(A2aStreamIdleTimeoutError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ idleTimeoutMs: IDLE_MS, eventsReceived: 1 });
    await waitFor('the peer to see the client close the stream', () => peer.streams[0]?.closedByClient === true);
    expect(breaker.getStats()).toMatchObject({ failure_count: 1, total_calls: 2, in_flight: 0 });
  });

  it('before the first event: the breaker timeout (timeoutMs), request closed, a failure', async () => {
    peer.script = () => undefined; // headers sent, no event
    const first = client.sendMessageStream(textRequest('nothing at all')).next();
    first.catch(() => undefined);
    await waitFor('the peer to answer with headers only', () => peer.streams.length === 1);
    clock.advance(TIMEOUT_MS - 1);
    expect(breaker.getStats().in_flight).toBe(1);
    clock.advance(1);
    expect(CircuitTimeoutError.isInstance(await rejection(first))).toBe(true);
    await waitFor('the peer to see the client close the stream', () => peer.streams[0]?.closedByClient === true);
    expect(breaker.getStats()).toMatchObject({ failure_count: 1, total_timeouts: 1, in_flight: 0 });
  });
});
