import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A real HTTP server on 127.0.0.1 for tests: counts requests and the most it served at once. */
export interface LoopbackServer {
  readonly url: string;
  /** Requests received so far. */
  readonly requests: number;
  /** Requests being served now. */
  readonly active: number;
  close(): Promise<void>;
}

export async function startLoopbackServer(handle: (request: IncomingMessage, response: ServerResponse, active: number) => void | Promise<void>): Promise<LoopbackServer> {
  let requests = 0;
  let active = 0;
  const server = createServer((request, response) => {
    requests++;
    active++;
    response.on('close', () => active--);
    void Promise.resolve(handle(request, response, active)).catch(() => response.destroy());
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return requests;
    },
    get active() {
      return active;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
