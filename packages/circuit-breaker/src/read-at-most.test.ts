import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAtMost } from './read-at-most.js';

const LIMIT = 10_000;
const CHUNK = Buffer.alloc(1_024, 'x');
/** A megabyte of zeros, gzipped to about a kilobyte. */
const GZIP_BOMB = gzipSync(Buffer.alloc(1_000_000));

/** Bodies a server of someone else's may send. The endless ones end only when the client hangs up. */
const routes: Record<string, (response: ServerResponse) => void> = {
  // Announces a megabyte, sends one chunk and never the rest: a reader that waited for it would hang.
  '/announced-too-large': (response) => {
    response.writeHead(200, { 'content-length': String(1_000_000) });
    response.write(CHUNK);
  },
  // No length at all, and no end: chunks for as long as the connection lives.
  '/chunked-endless': (response) => {
    response.writeHead(200, { 'content-type': 'application/octet-stream' });
    const more = () => {
      if (response.destroyed || response.writableEnded) return;
      if (response.write(CHUNK)) setImmediate(more);
      else response.once('drain', more);
    };
    more();
  },
  // A small Content-Length (the compressed size) that inflates to a megabyte.
  '/gzip-bomb': (response) => {
    response.writeHead(200, { 'content-encoding': 'gzip', 'content-length': String(GZIP_BOMB.length) });
    response.end(GZIP_BOMB);
  },
  '/exactly-the-limit': (response) => {
    response.writeHead(200, { 'content-length': String(LIMIT) });
    response.end(Buffer.alloc(LIMIT, 'y'));
  },
  '/exactly-the-limit-chunked': (response) => {
    response.writeHead(200, { 'content-type': 'application/octet-stream' });
    response.write(Buffer.alloc(LIMIT / 2, 'y'));
    setImmediate(() => response.end(Buffer.alloc(LIMIT / 2, 'y')));
  },
  '/empty': (response) => {
    response.writeHead(204);
    response.end();
  },
};
let server: Server;
let base = '';
/** The server side of each request's connection, by path. */
const sockets = new Map<string, Socket>();

beforeAll(async () => {
  server = createServer((request: IncomingMessage, response: ServerResponse) => {
    sockets.set(request.url!, request.socket);
    routes[request.url!]!(response);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await once(server, 'close');
});

/** Resolves when the server side of `path`'s connection has closed (the test's timeout bounds it). */
async function serverSawClose(path: string): Promise<void> {
  const socket = sockets.get(path)!;
  // Only 'close': Bun's and Deno's node:http report the client's hang-up as an 'error' first
  // (ECONNRESET, "aborted", EPIPE), which would make once() reject although the connection did close.
  if (!socket.destroyed) await new Promise((resolve) => socket.once('close', resolve));
}

/** The gzip bomb was counted as it inflated and cut past the limit, long before its megabyte. */
function expectBombCut(read: Awaited<ReturnType<typeof readAtMost>>): void {
  expect(read).toMatchObject({ ok: false, announced: false });
  const { bytes } = read as { bytes: number };
  expect(bytes).toBeGreaterThan(LIMIT);
  expect(bytes).toBeLessThan(1_000_000);
}

describe('readAtMost against a real HTTP server', () => {
  it('refuses an announced Content-Length above the limit before reading, and closes the connection', async () => {
    const read = await readAtMost(await fetch(`${base}/announced-too-large`), LIMIT);
    expect(read).toEqual({ ok: false, bytes: 1_000_000, announced: true });
    await serverSawClose('/announced-too-large');
  });

  it('stops a chunked body as soon as it passes the limit, and the server sees its connection closed', async () => {
    const read = await readAtMost(await fetch(`${base}/chunked-endless`), LIMIT);
    expect(read.ok).toBe(false);
    if (read.ok) return;
    expect(read.announced).toBe(false);
    expect(read.bytes).toBeGreaterThan(LIMIT);
    await serverSawClose('/chunked-endless');
  });

  it('counts a compressed body as it inflates: a small Content-Length does not let a gzip bomb through', async () => {
    expect(GZIP_BOMB.length).toBeLessThan(LIMIT);
    const response = await fetch(`${base}/gzip-bomb`);
    expect(response.headers.get('content-length')).toBe(String(GZIP_BOMB.length));
    expectBombCut(await readAtMost(response, LIMIT));
  });

  it('does not trust a Content-Length within the limit to end the body: a fetch that rebuilds responses is counted too', async () => {
    // A user's fetch that decodes and drops Content-Encoding but keeps the (compressed) Content-Length.
    const upstream = await fetch(`${base}/gzip-bomb`);
    const headers = new Headers(upstream.headers);
    headers.delete('content-encoding');
    const rebuilt = new Response(upstream.body, { status: upstream.status, headers });
    expect(rebuilt.headers.get('content-length')).toBe(String(GZIP_BOMB.length));
    expectBombCut(await readAtMost(rebuilt, LIMIT));
  });

  it.each([Number.NaN, -1, 1.5, '10' as unknown as number])('refuses a limit that bounds nothing (%s) before reading', async (limit) => {
    const response = await fetch(`${base}/exactly-the-limit`);
    await expect(readAtMost(response, limit)).rejects.toThrow(/maxBytes must be an integer >= 0 or Infinity; got/);
    await response.body?.cancel();
  });

  it.each(['/exactly-the-limit', '/exactly-the-limit-chunked'])('reads a body of exactly the limit whole (%s)', async (path) => {
    const read = await readAtMost(await fetch(`${base}${path}`), LIMIT);
    expect(read.ok).toBe(true);
    if (!read.ok) return;
    expect(read.bytes.byteLength).toBe(LIMIT);
    expect(read.bytes.every((byte) => byte === 'y'.charCodeAt(0))).toBe(true);
  });

  it('reads a response without a body as empty', async () => {
    expect(await readAtMost(await fetch(`${base}/empty`), LIMIT)).toEqual({ ok: true, bytes: new Uint8Array(0) });
  });
});
