import diagnostics from 'node:diagnostics_channel';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { AgentCard } from '@a2a-js/sdk';
import { ClientFactory, JsonRpcTransportFactory } from '@a2a-js/sdk/client';
import { createGuardedFetch } from '@phlow/address-policy';
import { addressRefusalOf, spyOnConnections, type ConnectionSpy } from '@phlow/address-policy/testing';
import { CircuitBreakerRegistry } from '@phlow/circuit-breaker';
import { A2A_JSONRPC_PATH, A2aPeer } from '@phlow/testkit';
import { waitFor } from '@phlow/test-helpers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_A2A_RESPONSE_BYTES, MAX_AGENT_CARD_BYTES } from './a2a-address-guard.js';
import { createA2aClient } from './create-a2a-client.js';
import { closeServer, listenOn, serveDuringFile } from './test-support.test-util.js';
import { textMessageRequest } from './text-message.js';

/**
 * A hostile peer (its URL came from a DID document or a registry row) against createA2aClient: an
 * endless or oversized agent card, a card dribbled byte by byte, redirect loops, transports
 * redirected to a refused address, interface URLs spelled to slip past a text check. The allowed
 * peer is 127.0.0.1 (listed by address); 127.0.0.2 is refused and counts every connection it gets.
 */
type Handler = (request: IncomingMessage, response: ServerResponse) => void;
class HostileServer {
  accepted = 0;
  requests = 0;
  bytesSent = 0;
  readonly sockets = new Set<Socket>();
  private handler: Handler = (_request, response) => response.end();
  private readonly server: Server = createServer((request, response) => {
    this.requests++;
    this.handler(request, response);
  });

  constructor(private readonly host: string) {
    this.server.on('connection', (socket) => {
      this.accepted++;
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  async start(): Promise<void> {
    await listenOn(this.server, this.host);
  }

  get url(): string {
    const { address, port } = this.server.address() as AddressInfo;
    return `http://${address}:${port}`;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  serve(handler: Handler): void {
    this.handler = handler;
    this.accepted = 0;
    this.requests = 0;
    this.bytesSent = 0;
  }

  /** Writes `chunk` whenever the client has taken the last one, until the client goes away or `limit` bytes. */
  stream(response: ServerResponse, chunk: Buffer, limit: number): void {
    const more = (): void => {
      while (this.bytesSent < limit && !response.destroyed) {
        this.bytesSent += chunk.byteLength;
        if (!response.write(chunk)) return void response.once('drain', more);
      }
      response.end();
    };
    more();
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await closeServer(this.server);
  }
}

const hostile = new HostileServer('127.0.0.1');
const forbidden = new HostileServer('127.0.0.2');
const peer = new A2aPeer({ name: 'real' });
const local = { allowPrivateAddresses: ['127.0.0.1'] };
let registry: CircuitBreakerRegistry;
let spy: ConnectionSpy;

forbidden.serve((_request, response) => response.end('{}'));
serveDuringFile(hostile, forbidden, peer);
beforeEach(() => {
  registry = new CircuitBreakerRegistry({ logger: false });
  forbidden.accepted = 0;
  spy = spyOnConnections();
});
afterEach(() => spy.dispose());

/** The sockets undici opened in this test (the server notices a client's close late while its writes are blocked). */
let clientSockets: Socket[] = [];
const onConnected = (message: unknown): void => void clientSockets.push((message as { socket: Socket }).socket);
beforeEach(() => {
  clientSockets = [];
  diagnostics.subscribe('undici:client:connected', onConnected);
});
afterEach(() => diagnostics.unsubscribe('undici:client:connected', onConnected));
const clientSocketsClosed = (): boolean => clientSockets.length > 0 && clientSockets.every((socket) => socket.destroyed);

function cardAt(url: string): AgentCard {
  const card = peer.agentCard;
  return { ...card, supportedInterfaces: [{ ...card.supportedInterfaces[0]!, url }] };
}

describe('the agent card download against a hostile peer', () => {
  it('an endless card (no Content-Length) is cut off past 1 MiB: the client stops reading and closes the connection', async () => {
    const limit = 512 * 1024 * 1024;
    hostile.serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"name":"');
      hostile.stream(response, Buffer.alloc(64 * 1024, 'a'), limit);
    });
    await expect(createA2aClient(hostile.url, { ...local, registry })).rejects.toThrow(`the agent card at ${hostile.url}/.well-known/agent-card.json is larger than ${MAX_AGENT_CARD_BYTES} bytes; refused`);
    await waitFor('the client to close the connection', clientSocketsClosed);
    // What the socket buffers held when the client stopped, not the half gigabyte on offer.
    expect(hostile.bytesSent).toBeLessThan(32 * 1024 * 1024);
  });

  it('a card declaring a huge Content-Length is refused before its body is read', async () => {
    hostile.serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': String(4 * 1024 ** 3) });
      response.write('{"name":"');
    });
    await expect(createA2aClient(hostile.url, { ...local, registry })).rejects.toThrow(/is larger than 1048576 bytes; refused/);
    await waitFor('the client to close the connection', clientSocketsClosed);
  });

  it('a card dribbled a byte at a time is cut off at the breaker timeout, and its socket closed', async () => {
    hostile.serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      const timer = setInterval(() => (response.destroyed ? clearInterval(timer) : response.write(' ')), 20);
      response.on('close', () => clearInterval(timer));
    });
    await expect(createA2aClient(hostile.url, { ...local, registry, breaker: { timeoutMs: 300 } })).rejects.toThrow(/timed out|timeout/i);
    await waitFor('the client to close the dribbling connection', () => hostile.sockets.size === 0);
  });

  it('a redirect loop stops at fetch’s 20 redirects', async () => {
    hostile.serve((request, response) => response.writeHead(302, { location: request.url ?? '/' }).end());
    await expect(createA2aClient(hostile.url, { ...local, registry })).rejects.toThrow(TypeError);
    expect(hostile.requests).toBe(21);
  });

  it('a fetch option that drops the guard’s dispatcher: the card it fetched is refused, with the reason', async () => {
    peer.clearRequests();
    const dropping = ((input: string, init?: RequestInit) => fetch(input, { headers: init?.headers ?? {} })) as typeof fetch;
    await expect(createA2aClient(peer.url, { ...local, registry, fetch: dropping })).rejects.toThrow(/without using the guarded dispatcher/);
  });
});

describe('transports and interface URLs', () => {
  it('an endless JSON-RPC answer is cut off past 32 MiB: the call fails against the peer, the connection is closed', async () => {
    hostile.serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"jsonrpc":"2.0","id":1,"result":"');
      hostile.stream(response, Buffer.alloc(256 * 1024, 'a'), 2 * 1024 ** 3);
    });
    const client = await createA2aClient(cardAt(`${hostile.url}${A2A_JSONRPC_PATH}`), { ...local, registry, peer: 'endless' });
    await expect(client.sendMessage(textMessageRequest('x'))).rejects.toThrow(`is larger than ${MAX_A2A_RESPONSE_BYTES} bytes; refused`);
    await waitFor('the client to close the connection', clientSocketsClosed);
    expect(hostile.bytesSent).toBeLessThan(MAX_A2A_RESPONSE_BYTES + 32 * 1024 * 1024);
    expect(registry.get('a2a/endless')?.getStats()).toMatchObject({ total_failures: 1 });
  });

  it.each([
    ['a non-streaming call answered as an event stream', 200],
    ['a streaming call refused with an endless event-stream error body', 500],
  ])('%s is capped too: the answer\'s own content type does not lift the cap, only a stream the client asked for', async (_, status) => {
    hostile.serve((_request, response) => {
      response.writeHead(status, { 'content-type': 'text/event-stream' });
      response.write('{"jsonrpc":"2.0","id":1,"result":"');
      hostile.stream(response, Buffer.alloc(256 * 1024, 'a'), 2 * 1024 ** 3);
    });
    const client = await createA2aClient(cardAt(`${hostile.url}${A2A_JSONRPC_PATH}`), { ...local, registry, peer: 'labelled', breaker: { timeoutMs: 0 } });
    const call = status === 200 ? client.sendMessage(textMessageRequest('x')) : client.sendMessageStream(textMessageRequest('x')).next();
    await expect(call).rejects.toThrow(`is larger than ${MAX_A2A_RESPONSE_BYTES} bytes; refused`);
    await waitFor('the client to close the connection', clientSocketsClosed);
    expect(hostile.bytesSent).toBeLessThan(MAX_A2A_RESPONSE_BYTES + 32 * 1024 * 1024);
  });

  it('a JSON-RPC call redirected (307, 308) to a refused address is refused at that connection', async () => {
    for (const code of [307, 308]) {
      hostile.serve((_request, response) => response.writeHead(code, { location: `${forbidden.url}${A2A_JSONRPC_PATH}` }).end());
      const client = await createA2aClient(cardAt(`${hostile.url}${A2A_JSONRPC_PATH}`), { ...local, registry, peer: `redirected-${code}` });
      const error = await addressRefusalOf(client.sendMessage(textMessageRequest('x')));
      expect(error.address).toBe('127.0.0.2');
      expect(hostile.requests).toBe(1);
    }
    expect(forbidden.accepted).toBe(0);
  });

  it.each([
    ['fullwidth digits', 'http://１２７.０.０.２'],
    ['ideographic full stops', 'http://127。0。0。2'],
    ['IPv4-compatible', 'http://[::127.0.0.2]'],
    ['NAT64', 'http://[64:ff9b::7f00:2]'],
    ['NAT64 local use', 'http://[64:ff9b:1::7f00:2]'],
    ['6to4', 'http://[2002:7f00:2::]'],
    ['Teredo', 'http://[2001:0:4136:e378:8000:63bf:80ff:fffd]'],
    ['userinfo', 'http://peer.example@127.0.0.2'],
  ])('an interface URL with %s (%s) is refused with no socket, even when 127.0.0.1 is allowed', async (_what, base) => {
    const client = await createA2aClient(cardAt(`${base}:${forbidden.port}${A2A_JSONRPC_PATH}`), { ...local, registry, peer: 'spelled' });
    await addressRefusalOf(client.sendMessage(textMessageRequest('x')));
    expect(spy.attempts).toEqual([]);
    expect(forbidden.accepted).toBe(0);
  });

  it('a factory whose guarded fetch allows every address is refused while the client refuses private ones', async () => {
    const open = createGuardedFetch({ allowPrivateAddresses: true });
    const factory = new ClientFactory({ transports: [new JsonRpcTransportFactory({ fetchImpl: open })] });
    await expect(createA2aClient(cardAt(`${forbidden.url}${A2A_JSONRPC_PATH}`), { registry, factory, peer: 'x' })).rejects.toThrow(
      /the factory's JSONRPC transport has a guarded fetch that allows every address/,
    );
    // Asked for explicitly, it is local development: allowed.
    await expect(createA2aClient(cardAt(`${forbidden.url}${A2A_JSONRPC_PATH}`), { registry, factory, peer: 'x', allowPrivateAddresses: true })).resolves.toBeDefined();
    expect(forbidden.accepted).toBe(0);
    await open.close();
  });
});
