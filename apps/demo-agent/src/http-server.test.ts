/**
 * The HTTP server's own bounds and guards, on a real server over loopback with short timeouts: a
 * connection that never sends a byte is closed, a request's answer is not cut by them, and a request
 * for another host is refused before any route.
 */
import { get } from 'node:http';
import { connect } from 'node:net';
import { waitFor } from '@phlow/test-helpers';
import { afterEach, describe, expect, it } from 'vitest';
import { detailBody, jsonErrors } from './http-errors.js';
import { startHttpServer, type HttpServer } from './http-server.js';

const TIMEOUTS = { headersTimeout: 300, requestTimeout: 2_000, connectionsCheckingInterval: 100 };
let server: HttpServer | undefined;
afterEach(() => server?.close());

async function start(): Promise<HttpServer> {
  server = await startHttpServer({ host: '127.0.0.1', port: 0, allowedHosts: ['127.0.0.1'], timeouts: TIMEOUTS });
  // An answer that takes longer than the headers may: it is not a slow client.
  server.app.get('/slow', (_req, res) => void setTimeout(() => res.json({ done: true }), TIMEOUTS.headersTimeout * 3));
  server.app.use(jsonErrors(() => detailBody));
  return server;
}

describe('startHttpServer', () => {
  it('closes a connection that never sends a byte (Node alone keeps it for ever)', async () => {
    const { url } = await start();
    const silent = connect(Number(new URL(url).port), '127.0.0.1');
    silent.on('error', () => undefined);
    // Read (nothing): a paused socket may never report the server's FIN as its end.
    silent.resume();
    await waitFor('the server to close the silent connection', () => silent.destroyed || silent.readableEnded, { everyMs: 50 });
    silent.destroy();
  });

  it("does not cut an answer that takes longer than the headers' bound", async () => {
    const { url } = await start();
    const response = await fetch(`${url}/slow`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ done: true });
  });

  it('refuses a request for another host (DNS rebinding) with 421, and sends the security headers', async () => {
    const { url } = await start();
    const ours = await fetch(`${url}/slow`);
    expect(ours.headers.get('x-content-type-options')).toBe('nosniff');
    const refused = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = get(`${url}/slow`, { headers: { host: 'rebound.example' } }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
    });
    expect(refused.status).toBe(421);
    expect(JSON.parse(refused.body)).toMatchObject({ detail: expect.stringContaining('does not answer for Host "rebound.example"') });
  });

  it('listens where it says, IPv6 addresses in brackets', async () => {
    server = await startHttpServer({ host: '::1', port: 0, allowedHosts: ['[::1]'] });
    expect(server.url).toMatch(/^http:\/\/\[::1\]:\d+$/);
  });

  it('close(graceMs): a request in flight finishes, new connections are refused; past the bound the rest are cut', async () => {
    const { url } = await start();
    let release: () => void = () => undefined;
    let arrived = 0;
    server!.app.get('/held', (_req, res) => {
      arrived++;
      void new Promise<void>((resolve) => (release = resolve)).then(() => res.json({ finished: true }));
    });
    server!.app.get('/forever', () => void arrived++);
    const held = fetch(`${url}/held`);
    const forever = fetch(`${url}/forever`).then(
      (r) => r.status,
      () => 'cut',
    );
    await waitFor('both requests to arrive', () => arrived === 2, { everyMs: 20 });
    const closing = server!.close(1_500);
    // Stopped accepting: a new connection is refused.
    await expect(fetch(`${url}/held`)).rejects.toThrow();
    release();
    const answer = await held;
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ finished: true });
    await closing;
    expect(await forever).toBe('cut');
    server = undefined;
  });
});
