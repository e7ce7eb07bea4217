/**
 * The agent's HTTP server: an Express app behind what every request passes (security headers, the
 * Host allow-list against DNS rebinding), on a Node server bounded against slow clients.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import express, { type Express } from 'express';
import { HostAllowList, allowedHostsOnly } from './host-allow-list.js';
import { securityHeaders } from './security-headers.js';

/**
 * Slow clients (slowloris): headers must arrive within 10 s and a whole request (a body sent a byte at
 * a time) within 30 s, checked every second; Node's defaults (60 s and 5 min, checked every 30 s) let
 * a few hundred trickling connections hold the agent's sockets for minutes. Server-sent event streams
 * are answers, not requests: these bounds do not cut them.
 */
export const SERVER_TIMEOUTS = { headersTimeout: 10_000, requestTimeout: 30_000, connectionsCheckingInterval: 1_000 } as const;

export type ServerTimeouts = { readonly [K in keyof typeof SERVER_TIMEOUTS]: number };

export interface HttpServerOptions {
  readonly host: string;
  /** 0 takes a free port. */
  readonly port: number;
  /** The host names requests may carry in their `Host` header. */
  readonly allowedHosts: readonly string[];
  /** Default {@link SERVER_TIMEOUTS}. */
  readonly timeouts?: ServerTimeouts;
}

export interface HttpServer {
  /** Where routes go; requests reach them once past the guards. */
  readonly app: Express;
  /** `http://<host>:<port>` as listened on. */
  readonly url: string;
  /**
   * Stops accepting connections, lets requests in flight finish within `graceMs` (default 0), then closes
   * every connection left (open event streams too) and the listener.
   */
  close(graceMs?: number): Promise<void>;
}

export async function startHttpServer({ host, port, allowedHosts, timeouts = SERVER_TIMEOUTS }: HttpServerOptions): Promise<HttpServer> {
  const app = express();
  app.disable('x-powered-by');
  app.use(securityHeaders);
  // DNS rebinding: answer only requests addressed to one of our names.
  app.use(allowedHostsOnly(new HostAllowList(allowedHosts)));
  const server: Server = createServer(timeouts, app);
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    // headersTimeout starts with a request's first byte: a connection that never sends one would be
    // held for ever. Until its first request it gets as long as headers do (the server destroys a
    // socket that times out), then no socket timeout: requests and streams have their own bounds.
    socket.setTimeout(timeouts.headersTimeout);
  });
  let inFlight = 0;
  let drained: (() => void) | undefined;
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    req.socket.setTimeout(0);
    inFlight++;
    res.once('close', () => {
      inFlight--;
      if (inFlight === 0) drained?.();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    app,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`,
    close: async (graceMs = 0) => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inFlight > 0 && graceMs > 0) {
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => {
          drained = resolve;
          timer = setTimeout(resolve, graceMs);
        });
        clearTimeout(timer);
      }
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
