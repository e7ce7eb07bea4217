import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CircuitBreakerRegistry } from '@phlow/circuit-breaker';
import { holdBody } from './held-body.js';
import { protectFetch } from './protect-fetch.js';

let server: Server;
let url: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/stream') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end('data: 1\n\n');
    } else if (req.url?.startsWith('/rest/v1/broken')) {
      // Headers and half a body, then the connection dies.
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('[{"id":"a1"},');
      setTimeout(() => res.socket?.destroy(), 20);
    } else if (req.url === '/chunked') {
      // Several chunks, no Content-Length: read chunk by chunk and joined.
      res.writeHead(200, { 'content-type': 'application/json' });
      const parts = ['[', '{"id":"a1"}', ',', '{"id":"a2"}', ']'];
      const next = (): void => {
        const part = parts.shift();
        if (part === undefined) return void res.end();
        res.write(part);
        setImmediate(next);
      };
      next();
    } else if (req.url === '/empty') {
      res.writeHead(204);
      res.end();
    } else {
      res.writeHead(200, { 'content-type': 'application/json', 'x-seen': 'yes' });
      res.end('{"id":"a1"}');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('holdBody: the body read inside the call, answered from memory', () => {
  it('keeps the response (status, headers, url) and answers each body method once, like any response', async () => {
    const original = await fetch(`${url}/json`);
    const held = await holdBody(original, 1_000_000, 'rest');
    expect(held).toBe(original);
    expect(held).toBeInstanceOf(Response);
    expect([held.status, held.ok, held.headers.get('x-seen'), held.url]).toEqual([200, true, 'yes', `${url}/json`]);
    expect(held.bodyUsed).toBe(false);
    const copy = held.clone();
    expect(await held.json()).toEqual({ id: 'a1' });
    expect(held.bodyUsed).toBe(true);
    await expect(held.text()).rejects.toThrow(new TypeError('Body is unusable: Body has already been read'));
    expect(() => held.clone()).toThrow(TypeError);
    expect(held.body).toBeNull();
    expect(await copy.text()).toBe('{"id":"a1"}');
  });

  it('answers text, arrayBuffer, blob and the body stream', async () => {
    expect(await (await holdBody(await fetch(`${url}/json`), 1_000_000, 'rest')).text()).toBe('{"id":"a1"}');
    expect(new TextDecoder().decode(await (await holdBody(await fetch(`${url}/json`), 1_000_000, 'rest')).arrayBuffer())).toBe('{"id":"a1"}');
    const blob = await (await holdBody(await fetch(`${url}/json`), 1_000_000, 'rest')).blob();
    expect([blob.type, await blob.text()]).toEqual(['application/json', '{"id":"a1"}']);
    const streamed = await holdBody(await fetch(`${url}/json`), 1_000_000, 'rest');
    expect(await new Response(streamed.body).text()).toBe('{"id":"a1"}');
    expect(streamed.bodyUsed).toBe(true);
  });

  it('through protectFetch, a connection broken mid-body is a failure, not a success with a truncated body', async () => {
    const registry = new CircuitBreakerRegistry({ logger: false });
    const protectedFetch = protectFetch(url, { registry });
    const error = await protectedFetch(`${url}/rest/v1/broken`).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(TypeError);
    expect(protectedFetch.breakerFor().getStats()).toMatchObject({ total_failures: 1, total_successes: 0 });
  });

  it('joins a chunked body read chunk by chunk, and cuts one past the limit', async () => {
    const held = await holdBody(await fetch(`${url}/chunked`), 1_000, 'rest');
    expect(await held.json()).toEqual([{ id: 'a1' }, { id: 'a2' }]);
    await expect(holdBody(await fetch(`${url}/chunked`), 20, 'functions')).rejects.toMatchObject({
      name: 'ResponseTooLargeError',
      service: 'functions',
      maxBodyBytes: 20,
    });
    // Exactly at the limit is fine.
    expect(await (await holdBody(await fetch(`${url}/chunked`), 27, 'rest')).text()).toBe('[{"id":"a1"},{"id":"a2"}]');
  });

  it('a response a protection underneath held already is not read again: passed on within the limit, refused past it', async () => {
    const inner = await holdBody(await fetch(`${url}/json`), 1_000_000, 'rest');
    expect(holdBody(inner, 1_000, 'rest')).toBe(inner);
    expect(await inner.json()).toEqual({ id: 'a1' });
    const large = await holdBody(await fetch(`${url}/json`), 1_000_000, 'rest');
    await expect(holdBody(large, 5, 'rest')).rejects.toMatchObject({ name: 'ResponseTooLargeError', maxBodyBytes: 5, bytes: 11 });
  });

  it('passes edge functions\' event streams and bodiless responses on untouched', async () => {
    const stream = await fetch(`${url}/stream`);
    expect(holdBody(stream, 1_000_000, 'functions')).toBe(stream);
    expect(await stream.text()).toBe('data: 1\n\n');
    const empty = await fetch(`${url}/empty`);
    expect(holdBody(empty, 1_000_000, 'rest')).toBe(empty);
  });
});
