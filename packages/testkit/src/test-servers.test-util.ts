// Helpers shared by this package's tests only (excluded from the build).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { rejection } from '@phlow/test-helpers';
import { close, listen } from './listen.js';

/** A real HTTP server on a loopback port that records what reached it. */
export interface RecordingServer {
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  /** Requests that reached the server, in order. */
  readonly requests: { method: string; url: string; headers: IncomingMessage['headers'] }[];
  /** Server-side sockets closed so far. */
  socketsClosed: number;
  /** Resolves when the next server-side socket closes. */
  nextSocketClose(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRecordingServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('hello from the target');
  },
): Promise<RecordingServer> {
  const sockets = new Set<Socket>();
  const waiters: (() => void)[] = [];
  const server = createServer((req, res) => {
    recording.requests.push({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers });
    handler(req, res);
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      recording.socketsClosed += 1;
      for (const waiter of waiters.splice(0)) waiter();
    });
  });
  const port = await listen(server, 0, '127.0.0.1');
  const recording: RecordingServer = {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    requests: [],
    socketsClosed: 0,
    nextSocketClose: () => new Promise((resolve) => waiters.push(resolve)),
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await close(server);
    },
  };
  return recording;
}

/** The `cause.code` of a fetch failure (`TypeError: fetch failed`), e.g. ECONNREFUSED; else the error's name. */
export async function fetchErrorCode(promise: Promise<unknown>): Promise<string | undefined> {
  const error = (await rejection(promise)) as { name?: string; cause?: { code?: string } };
  return error.cause?.code ?? error.name;
}

/** Counts of the process's active TCP handles, to check that stop() leaves none behind. */
export function tcpHandles(): number {
  return process.getActiveResourcesInfo().filter((name) => name.startsWith('TCP')).length;
}
