import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { waitFor } from '@phlow/test-helpers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FaultProxy, type ConnectionCloseEvent } from './fault-proxy.js';
import { close, listen } from './listen.js';
import { fetchErrorCode, startRecordingServer, type RecordingServer } from './test-servers.test-util.js';

let target: RecordingServer;
let proxy: FaultProxy;

async function startProxy(options: Omit<ConstructorParameters<typeof FaultProxy>[0], 'target'> = {}): Promise<FaultProxy> {
  proxy = new FaultProxy({ target: target.url, ...options });
  await proxy.start();
  return proxy;
}

/** A started proxy with one raw client connection it has accepted and counts as active. */
async function proxyWithOpenConnection(): Promise<Socket> {
  await startProxy();
  const socket = connect(proxy.port, '127.0.0.1');
  await once(socket, 'connect');
  await waitFor('the proxy to count the open connection', () => proxy.stats().connections.active === 1);
  return socket;
}

beforeEach(async () => {
  target = await startRecordingServer();
});

afterEach(async () => {
  await proxy?.stop();
  await target.stop();
});

describe('FaultProxy in HTTP mode', () => {
  it('passes requests through and counts them', async () => {
    await startProxy();
    const response = await fetch(`${proxy.url}/hello?x=1`, { headers: { traceparent: '00-abc-def-01' } });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('hello from the target');
    expect(target.requests).toHaveLength(1);
    expect(target.requests[0]).toMatchObject({ method: 'GET', url: '/hello?x=1' });
    expect(target.requests[0]?.headers['traceparent']).toBe('00-abc-def-01');
    const stats = proxy.stats();
    expect(stats.requests).toMatchObject({ received: 1, forwarded: 1, completed: 1, injected: 0 });
    expect(stats.bytes.toClient).toBe('hello from the target'.length);
    expect(stats.connections.accepted).toBe(1);
  });

  it('forwards request bodies and reports each request to onRequest', async () => {
    await target.stop();
    target = await startRecordingServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => res.end(`echo:${body}`));
    });
    await startProxy();
    const seen: string[] = [];
    const subscription = proxy.onRequest((event) => seen.push(`${event.method} ${event.url} ${event.outcome}`));
    const response = await fetch(`${proxy.url}/echo`, { method: 'POST', body: 'ping' });
    expect(await response.text()).toBe('echo:ping');
    subscription.dispose();
    await fetch(`${proxy.url}/echo`, { method: 'POST', body: 'again' }).then((r) => r.text());
    expect(seen).toEqual(['POST /echo forwarded']);
  });

  it('injects an error status without reaching the target', async () => {
    await startProxy({ faults: { errorStatus: { status: 503, headers: { 'retry-after': '1' } } } });
    const response = await fetch(`${proxy.url}/x`);
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(response.headers.get('x-phlow-fault')).toBe('error-status');
    expect(await response.json()).toEqual({ message: expect.stringContaining('503') });
    expect(target.requests).toHaveLength(0);
    expect(proxy.stats().requests).toMatchObject({ received: 1, injected: 1, forwarded: 0 });
  });

  it('injects at the given rate, drawing from the injected random source', async () => {
    const draws = [0.1, 0.9, 0.4, 0.6];
    let i = 0;
    await startProxy({ random: () => draws[i++ % draws.length] ?? 0, faults: { errorStatus: { status: 500, rate: 0.5 } } });
    const statuses: number[] = [];
    for (let n = 0; n < 4; n++) {
      const response = await fetch(proxy.url);
      await response.arrayBuffer();
      statuses.push(response.status);
    }
    expect(statuses).toEqual([500, 200, 500, 200]);
    expect(target.requests).toHaveLength(2);
  });

  it('adds latency before forwarding (at least the configured delay)', async () => {
    await startProxy({ faults: { latency: { ms: 150 } } });
    const started = performance.now();
    const response = await fetch(proxy.url);
    await response.text();
    // A lower bound only: the proxy must not answer before the delay; upper bounds belong to benchmarks.
    expect(performance.now() - started).toBeGreaterThanOrEqual(145);
    expect(response.status).toBe(200);
  });

  it('applies jitter around the mean with the random source', async () => {
    await startProxy({ random: () => 0.999, faults: { latency: { ms: 50, jitterMs: 100 } } });
    const started = performance.now();
    await fetch(proxy.url).then((r) => r.text());
    // random 0.999 draws ≈ ms + jitterMs = 150 ms
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('black hole: the request hangs until the client times out, the target never sees it', async () => {
    await startProxy({ faults: { blackHole: true } });
    const closes: ConnectionCloseEvent[] = [];
    proxy.onConnectionClose((event) => closes.push(event));
    const code = await fetchErrorCode(fetch(proxy.url, { signal: AbortSignal.timeout(200) }));
    expect(code).toBe('TimeoutError');
    expect(target.requests).toHaveLength(0);
    expect(proxy.stats().requests.blackHoled).toBe(1);
    // undici closes the connection of an aborted request: the proxy sees the client hang up. (Node 24's
    // undici opens a second connection here and closes it too, so count at least one.)
    await waitFor('the proxy to see the client close the connection', () => closes.length >= 1);
    expect(closes.every((event) => event.closedBy === 'client')).toBe(true);
    expect(proxy.stats().connections.closedByClient).toBeGreaterThanOrEqual(1);
  });

  it('refuse: new connections get ECONNREFUSED; clearing it listens again on the same port', async () => {
    await startProxy();
    const port = proxy.port;
    await fetch(proxy.url).then((r) => r.text());
    await proxy.setFaults({ refuse: true });
    expect(await fetchErrorCode(fetch(proxy.url))).toBe('ECONNREFUSED');
    await proxy.clearFaults();
    expect(proxy.port).toBe(port);
    const response = await fetch(proxy.url);
    expect(response.status).toBe(200);
    await response.text();
  });

  it('refuse also closes connections already open (a crashed dependency)', async () => {
    const socket = await proxyWithOpenConnection();
    const closed = once(socket, 'close');
    await proxy.setFaults({ refuse: true });
    await closed;
    expect(proxy.stats().connections).toMatchObject({ active: 0, closedByProxy: 1 });
  });

  it('reset: the client gets ECONNRESET and the target sees nothing', async () => {
    await startProxy({ faults: { reset: true } });
    expect(await fetchErrorCode(fetch(proxy.url))).toBe('ECONNRESET');
    expect(target.requests).toHaveLength(0);
    expect(proxy.stats().connections.reset).toBeGreaterThanOrEqual(1);
  });

  it('reset switched on resets connections already open', async () => {
    const socket = await proxyWithOpenConnection();
    const error = once(socket, 'error');
    await proxy.setFaults({ reset: true });
    const [err] = (await error) as [NodeJS.ErrnoException];
    expect(err.code).toBe('ECONNRESET');
  });

  it('slow body: the response arrives in slices, intact', async () => {
    await startProxy({ faults: { slowBody: { bytesPerChunk: 5, intervalMs: 30 } } });
    const started = performance.now();
    const response = await fetch(proxy.url);
    const reader = response.body!.getReader();
    const parts: string[] = [];
    const decoder = new TextDecoder();
    for (let next = await reader.read(); !next.done; next = await reader.read()) parts.push(decoder.decode(next.value));
    expect(parts.join('')).toBe('hello from the target');
    expect(parts.length).toBeGreaterThan(1);
    // 21 bytes in 5-byte slices: 4 pauses of 30 ms at least.
    expect(performance.now() - started).toBeGreaterThanOrEqual(115);
  });

  it('a client abort closes the connection at the target', async () => {
    await target.stop();
    target = await startRecordingServer(() => {
      // never answers
    });
    await startProxy();
    const controller = new AbortController();
    const pending = fetch(proxy.url, { signal: controller.signal });
    await waitFor('the request to reach the target', () => target.requests.length === 1);
    const targetSocketClosed = target.nextSocketClose();
    controller.abort();
    expect(await fetchErrorCode(pending)).toBe('AbortError');
    await targetSocketClosed;
    expect(target.socketsClosed).toBe(1);
    await waitFor('the proxy to count the abort by the client', () => proxy.stats().requests.abortedByClient === 1);
    expect(proxy.stats().connections.closedByClient).toBe(1);
  });

  it('answers 502 when the target is down', async () => {
    await startProxy();
    await target.stop();
    const response = await fetch(proxy.url);
    expect(response.status).toBe(502);
    expect(response.headers.get('x-phlow-proxy-error')).toBe('upstream');
    expect(((await response.json()) as { message: string }).message).toContain('ECONNREFUSED');
    expect(proxy.stats().requests.upstreamFailed).toBe(1);
  });

  it('patchFaults merges and switches single faults off', async () => {
    await startProxy({ faults: { latency: { ms: 1 } } });
    await proxy.patchFaults({ errorStatus: { status: 429 } });
    expect(proxy.faults).toEqual({ latency: { ms: 1, jitterMs: 0 }, errorStatus: { status: 429, rate: 1 } });
    await proxy.patchFaults({ latency: undefined, errorStatus: false });
    expect(proxy.faults).toEqual({});
  });
});

describe('FaultProxy control endpoint', () => {
  it('switches faults and reads stats over HTTP', async () => {
    await startProxy();
    const control = proxy.controlUrl!;
    const put = await fetch(`${control}/faults`, { method: 'PUT', body: JSON.stringify({ errorStatus: { status: 503 } }) });
    expect(put.status).toBe(200);
    expect(await put.json()).toEqual({ errorStatus: { status: 503, rate: 1 } });
    expect((await fetch(proxy.url)).status).toBe(503);

    const patch = await fetch(`${control}/faults`, { method: 'PATCH', body: JSON.stringify({ errorStatus: null }) });
    expect(await patch.json()).toEqual({});
    expect((await fetch(proxy.url)).status).toBe(200);

    const stats = (await (await fetch(`${control}/stats`)).json()) as { requests: { injected: number; forwarded: number } };
    expect(stats.requests).toMatchObject({ injected: 1, forwarded: 1 });
    await fetch(`${control}/stats`, { method: 'DELETE' });
    expect(proxy.stats().requests.received).toBe(0);
  });

  it('stays reachable while the proxy refuses, and rejects invalid faults with 400', async () => {
    await startProxy();
    const control = proxy.controlUrl!;
    await fetch(`${control}/faults`, { method: 'PUT', body: JSON.stringify({ refuse: true }) });
    expect(await fetchErrorCode(fetch(proxy.url))).toBe('ECONNREFUSED');
    const bad = await fetch(`${control}/faults`, { method: 'PUT', body: JSON.stringify({ latency: { ms: -5 } }) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toBe('FaultProxy: option "latency.ms" must be a finite number >= 0, got -5');
    expect(proxy.faults).toEqual({ refuse: true });
    const cleared = await fetch(`${control}/faults`, { method: 'DELETE' });
    expect(await cleared.json()).toEqual({});
    expect((await fetch(proxy.url)).status).toBe(200);
  });
});

describe('FaultProxy in TCP mode', () => {
  let echo: ReturnType<typeof createServer>;
  let echoPort: number;
  const echoSockets = new Set<Socket>();

  beforeEach(async () => {
    echo = createServer((socket) => {
      echoSockets.add(socket);
      socket.on('close', () => echoSockets.delete(socket));
      socket.pipe(socket);
    });
    echoPort = await listen(echo, 0, '127.0.0.1');
  });
  afterEach(async () => {
    for (const socket of echoSockets) socket.destroy();
    await close(echo);
  });

  async function roundTrip(port: number, text: string): Promise<string> {
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    socket.setEncoding('utf8');
    socket.write(text);
    let received = '';
    for await (const chunk of socket) {
      received += chunk as string;
      if (received.length >= text.length) break;
    }
    socket.destroy();
    return received;
  }

  it('moves bytes both ways and counts them', async () => {
    proxy = new FaultProxy({ target: { host: '127.0.0.1', port: echoPort } });
    await proxy.start();
    expect(proxy.mode).toBe('tcp');
    expect(proxy.url).toBe(`tcp://127.0.0.1:${proxy.port}`);
    expect(await roundTrip(proxy.port, 'ping')).toBe('ping');
    await waitFor('the proxy to count the connection closed', () => proxy.stats().connections.active === 0);
    expect(proxy.stats().bytes).toEqual({ toUpstream: 4, toClient: 4 });
    expect(proxy.stats().connections.closedByClient).toBe(1);
  });

  it('delays every chunk by the latency and trickles towards the client', async () => {
    proxy = new FaultProxy({ target: `tcp://127.0.0.1:${echoPort}`, faults: { latency: { ms: 60 }, slowBody: { bytesPerChunk: 2, intervalMs: 20 } } });
    await proxy.start();
    const started = performance.now();
    expect(await roundTrip(proxy.port, 'abcdef')).toBe('abcdef');
    // 60 ms each way + 2 pauses of 20 ms, as a lower bound.
    expect(performance.now() - started).toBeGreaterThanOrEqual(155);
  });

  it('black hole swallows data of open connections', async () => {
    proxy = new FaultProxy({ target: `tcp://127.0.0.1:${echoPort}` });
    await proxy.start();
    const socket = connect(proxy.port, '127.0.0.1');
    await once(socket, 'connect');
    await proxy.setFaults({ blackHole: true });
    socket.write('lost');
    const timeout = AbortSignal.timeout(150);
    await expect(once(socket, 'data', { signal: timeout })).rejects.toThrow(/aborted/);
    expect(proxy.stats().bytes.toUpstream).toBe(0);
    socket.destroy();
  });

  it('refuse and reset give the real socket errors', async () => {
    proxy = new FaultProxy({ target: `tcp://127.0.0.1:${echoPort}`, faults: { refuse: true } });
    await proxy.start();
    const refused = connect(proxy.port, '127.0.0.1');
    const [refusedError] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
    expect(refusedError.code).toBe('ECONNREFUSED');
    await proxy.setFaults({ reset: true });
    const reset = connect(proxy.port, '127.0.0.1');
    const [resetError] = (await once(reset, 'error')) as [NodeJS.ErrnoException];
    expect(resetError.code).toBe('ECONNRESET');
  });

  it('closes the client when the target closes', async () => {
    const closing = createServer((socket) => socket.end('bye'));
    const port = await listen(closing, 0, '127.0.0.1');
    proxy = new FaultProxy({ target: { host: '127.0.0.1', port } });
    await proxy.start();
    const socket = connect(proxy.port, '127.0.0.1');
    socket.setEncoding('utf8');
    let text = '';
    socket.on('data', (chunk: string) => (text += chunk));
    await once(socket, 'close');
    expect(text).toBe('bye');
    await waitFor('the proxy to count the close by the upstream', () => proxy.stats().connections.closedByUpstream === 1);
    await close(closing);
  });
});

describe('FaultProxy options', () => {
  it('rejects bad options naming option, value and what is allowed', () => {
    expect(() => new FaultProxy({ target: 'nope' })).toThrow(
      new TypeError('FaultProxy: option "target" must be a URL such as "http://127.0.0.1:8080" or "tcp://127.0.0.1:5432", or { host, port }, got "nope"'),
    );
    expect(() => new FaultProxy({ target: 'http://127.0.0.1:1', port: 70000 })).toThrow(
      new RangeError('FaultProxy: option "port" must be an integer from 0 to 65535 (0 for any free port), got 70000'),
    );
    expect(() => new FaultProxy({ target: 'tcp://127.0.0.1:1', faults: { errorStatus: { status: 503 } } })).toThrow(/"errorStatus" must be absent in mode "tcp"/);
    expect(() => new FaultProxy({ target: 'http://127.0.0.1:1', faults: { errorStatus: { status: 503, rate: 2 } } })).toThrow(
      new RangeError('FaultProxy: option "errorStatus.rate" must be a number from 0 to 1, got 2'),
    );
    expect(() => new FaultProxy({ target: 'http://127.0.0.1:1', faults: { errorStatus: { status: 200 } } })).toThrow(/errorStatus.status.*400 to 599, got 200/);
    expect(() => new FaultProxy({ target: 'https://localhost:1', mode: 'http' })).toThrow(/"mode" must be "tcp" for an https target/);
    expect(() => new FaultProxy({ target: 'http://127.0.0.1:1', faults: { slowBody: { bytesPerChunk: 0, intervalMs: 1 } } })).toThrow(/slowBody.bytesPerChunk/);
    expect(() => new FaultProxy({ target: 'http://127.0.0.1:1', faults: { latecy: { ms: 1 } } as never })).toThrow(/"latecy" must be absent: known faults are/);
  });

  it('keeps the current faults when a new set is invalid', async () => {
    await startProxy({ faults: { blackHole: true } });
    expect(() => proxy.setFaults({ latency: { ms: Number.NaN } })).toThrow(RangeError);
    expect(proxy.faults).toEqual({ blackHole: true });
  });
});
