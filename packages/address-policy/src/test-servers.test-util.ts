import { createServer, type Server } from 'node:http';
import { rejection, waitFor } from '@phlow/test-helpers';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { spyOnConnections, type ConnectionSpy } from './connection-spy.js';
import net from 'node:net';
import type { AddressInfo, Socket } from 'node:net';

/** A loopback HTTP server that counts the TCP connections it accepted (the connections actually opened). */
export class CountingServer {
  accepted = 0;
  requests = 0;
  readonly server: Server;
  private readonly sockets = new Set<Socket>();

  constructor(handler: (url: string) => { status: number; headers?: Record<string, string>; body?: string } = () => ({ status: 200, body: 'ok' })) {
    this.server = createServer((request, response) => {
      this.requests++;
      const answer = handler(request.url ?? '/');
      response.writeHead(answer.status, answer.headers ?? {});
      response.end(answer.body ?? '');
    });
    this.server.on('connection', (socket) => {
      this.accepted++;
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  async start(host = '127.0.0.1'): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, host, resolve));
    return this;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Connections open now. */
  get open(): number {
    return this.sockets.size;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A TCP server that accepts and then never says a word: a TLS handshake with it never completes. */
export class SilentServer {
  readonly open = new Set<Socket>();
  accepted = 0;
  private readonly server = net.createServer((socket) => {
    this.accepted++;
    this.open.add(socket);
    socket.on('close', () => this.open.delete(socket));
    socket.on('error', () => {});
    // Read (and drop) what the client sends: a paused socket would never see the client's FIN.
    socket.resume();
  });

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const socket of this.open) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * The hooks of a file whose tests share `servers` (each on its loopback address) and watch connections:
 * the servers start before the file's tests and stop after them; before each test their counts are
 * zeroed and a new spy is set (disposed after it). Returns the current test's spy.
 */
export function sharedServersAndSpy(servers: readonly (readonly [CountingServer, string])[]): () => ConnectionSpy {
  let spy: ConnectionSpy | undefined;
  beforeAll(async () => {
    await Promise.all(servers.map(([server, host]) => server.start(host)));
  });
  afterAll(async () => {
    await Promise.all(servers.map(([server]) => server.stop()));
  });
  beforeEach(() => {
    for (const [server] of servers) server.accepted = 0;
    spy = spyOnConnections();
  });
  afterEach(() => spy?.dispose());
  return () => spy!;
}

/**
 * A request through `fetch` to a server that accepts TCP and never says a word (a TLS handshake that
 * never ends), aborted once its connection is open and `meanwhile` is done. Resolves once the client
 * has destroyed the half-set-up connection, with the request's error and the connections accepted.
 */
export async function abortWhileConnecting(
  fetch: (url: string, init: { signal: AbortSignal }) => Promise<unknown>,
  urlOf: (silentPort: number) => string,
  meanwhile: () => Promise<void> = async () => {},
): Promise<{ error: unknown; accepted: number }> {
  const silent = await new SilentServer().start();
  try {
    const controller = new AbortController();
    const pending = fetch(urlOf(silent.port), { signal: controller.signal });
    await waitFor('the TCP connection', () => silent.open.size === 1);
    await meanwhile();
    controller.abort();
    const error = await rejection(pending);
    await waitFor('the client to destroy the half-set-up connection', () => silent.open.size === 0);
    return { error, accepted: silent.accepted };
  } finally {
    await silent.stop();
  }
}
