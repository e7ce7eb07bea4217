import { createServer, type Server } from 'node:http';
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

/** Waits until `condition()` holds, polling; fails after `timeoutMs` (a bound, not a timed assertion). */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
