/**
 * A client that opens the dashboard's event stream and never reads it. Real HTTP over loopback (an
 * Express app, raw sockets as clients, one of them paused so its kernel buffers fill).
 */
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { waitFor } from '@phlow/test-helpers';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStreams } from './event-streams.js';

let server: Server | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  server = undefined;
});

async function serve(streams: EventStreams): Promise<number> {
  const app = express();
  app.get('/events', (_req, res) => (streams.hasRoom ? streams.open(res, '"hello"') : void res.status(503).end()));
  server = createServer(app);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** Opens /events on a raw socket; `reading: false` pauses it once the answer's head is in. */
function client(port: number, reading: boolean): Promise<{ socket: Socket; received: () => number }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write('GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'));
    sockets.push(socket);
    let received = 0;
    socket.on('data', (chunk: Buffer) => {
      if (received === 0 && !reading) socket.pause();
      received += chunk.length;
      resolve({ socket, received: () => received });
    });
    socket.on('error', () => undefined);
  });
}

describe('EventStreams', () => {
  it('closes a stream whose client stops reading once its backlog passes the bound; readers keep theirs', async () => {
    const streams = new EventStreams({ maxStreams: 10, maxBacklogBytes: 256 * 1024 });
    const port = await serve(streams);
    const reader = await client(port, true);
    const stalled = await client(port, false);
    await waitFor('both streams open', () => streams.size === 2);
    const snapshot = JSON.stringify('x'.repeat(64 * 1024));
    // Without the bound, 400 snapshots (26 MB) would sit in the stalled stream's buffer.
    let broadcasts = 0;
    for (; broadcasts < 400 && streams.size === 2; broadcasts++) {
      streams.broadcast(snapshot);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(streams.size).toBe(1);
    expect(broadcasts).toBeLessThan(400);
    // Once it reads again, it finds its connection closed after what was buffered.
    const ended = new Promise<void>((resolve) => stalled.socket.once('close', () => resolve()));
    stalled.socket.resume();
    await ended;
    const before = reader.received();
    streams.broadcast('"still here"');
    await waitFor('the reader to get the next snapshot', () => reader.received() > before);
  });

  it('is bounded in number, and a closed stream frees its place', async () => {
    const streams = new EventStreams({ maxStreams: 2, maxBacklogBytes: 1024 });
    const port = await serve(streams);
    const first = await client(port, true);
    await client(port, true);
    await waitFor('two streams open', () => streams.size === 2);
    expect(streams.hasRoom).toBe(false);
    first.socket.destroy();
    await waitFor('a freed place', () => streams.hasRoom);
  });

  it('names a bound that is not a positive integer', () => {
    expect(() => new EventStreams({ maxStreams: 0, maxBacklogBytes: 1 })).toThrow('maxStreams must be an integer >= 1; got 0');
    expect(() => new EventStreams({ maxStreams: 1, maxBacklogBytes: 1.5 })).toThrow('maxBacklogBytes must be an integer >= 1; got 1.5');
  });
});
