/**
 * What a hostile client or web page sends the demo agent, over raw HTTP (node:http, so any Host,
 * Origin or body can be sent): unreadable, null, huge, compressed-huge, deeply nested and mistyped
 * bodies; cross-site form posts to the chaos controls; a rebound DNS name in Host. Every answer must be
 * a clear 4xx in JSON, with nothing of the agent's insides (no stack frames, no file paths).
 */
import { request, type ClientRequest } from 'node:http';
import { connect, createServer, type Server } from 'node:net';
import { gzipSync } from 'node:zlib';
import { waitFor } from '@phlow/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type DemoProcess } from './demo-process.js';
import { getJson, rawRequest, type ChaosState, type RawResponse } from './helpers.js';

let demo: DemoProcess;
let host: string;

beforeAll(async () => {
  demo = await startDemo();
  host = new URL(demo.url).host;
});
afterAll(async () => {
  await demo?.stop();
});

/** The answer is JSON of the expected status, and says nothing about the agent's code or files. */
function expectCleanJson(response: RawResponse, status: number): Record<string, unknown> {
  expect(response.status, response.text).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/(a2a\+)?json/);
  for (const internal of [/\bat /, '/work/', 'node_modules', 'file:', '.js:', '.ts:', '<html', '<pre>', 'Error:']) {
    if (typeof internal === 'string') expect(response.text).not.toContain(internal);
    else expect(response.text).not.toMatch(internal);
  }
  return JSON.parse(response.text) as Record<string, unknown>;
}

const post = (path: string, body: string | Buffer, headers: Record<string, string> = {}) =>
  rawRequest(`${demo.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
const nested = (depth: number, inner = '1') => `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`;
const jsonRpc = (message: string) => `{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":${message}}}`;
const A2A = { 'a2a-version': '1.0' };
const faultsOf = async (dependency: string) => (await getJson<ChaosState>(`${demo.url}/chaos`)).dependencies.find((d) => d.name === dependency)!.faults;

describe('POST /relay with hostile bodies', () => {
  it('malformed JSON, null, non-objects and mistyped fields: 400 naming what is expected', async () => {
    expect(expectCleanJson(await post('/relay', '{"to": "alpha", '), 400)).toEqual({ detail: 'the body is not valid JSON' });
    const expected = 'the body must be a JSON object { "to": "<agent id or DID>", "text": "<message>" }';
    expect(expectCleanJson(await post('/relay', 'null'), 400)).toEqual({ detail: `${expected}; got null` });
    expect(expectCleanJson(await post('/relay', '[{"to":"alpha","text":"x"}]'), 400)).toEqual({ detail: `${expected}; got an array` });
    expect(expectCleanJson(await post('/relay', '"alpha hello"'), 400)).toEqual({ detail: `${expected}; got string` });
    expect(expectCleanJson(await post('/relay', '{"to":["alpha"],"text":{"a":1}}'), 400)).toEqual({ detail: `${expected}: both non-empty strings` });
    const target = expectCleanJson(await post('/relay', '{"to":"did:web:evil.example/../../agents/alpha","text":"x"}'), 400);
    expect(target['detail']).toMatch(/^"did:web:evil\.example\/\.\.\/\.\.\/agents\/alpha" is not a peer: expected an agent id/);
    expect(expectCleanJson(await post('/relay', `{"to":"alpha","text":"x","extra":${nested(20)}}`), 400)).toEqual({ detail: 'the body is nested deeper than 8 levels' });
  });

  it('a chunked body with no length is capped as it streams; prototype keys are just keys', async () => {
    const chunked = await new Promise<RawResponse>((resolve, reject) => {
      const req = request(`${demo.url}/relay`, { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      });
      req.on('error', reject);
      req.write('{"to":"alpha","text":"');
      // 16 MB announced by nobody: the agent must stop reading long before.
      const chunk = 'x'.repeat(64 * 1024);
      let sent = 0;
      const pump = () => {
        while (sent < 256 && !req.destroyed) {
          sent++;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end('"}');
      };
      pump();
    }).catch((error: Error) => ({ status: 0, headers: {}, text: error.message }) as RawResponse);
    // Either the 413 arrived, or the agent cut the connection while we were still sending (also a refusal).
    if (chunked.status !== 0) expect(expectCleanJson(chunked, 413)).toEqual({ detail: 'the body is larger than 65536 bytes' });
    else expect(chunked.text).toMatch(/EPIPE|ECONNRESET|socket hang up/);
    const proto = '{"__proto__":{"to":"alpha","text":"x"},"constructor":{"prototype":{"to":"beta"}},"to":"alpha","text":"proto"}';
    expect(expectCleanJson(await post('/relay', proto), 200)).toMatchObject({ ok: true, peer: 'alpha', reply: 'echo: proto' });
    expect(expectCleanJson(await post('/relay', '{"__proto__":{"to":"alpha","text":"x"}}'), 400)['detail']).toMatch(/both non-empty strings$/);
    const rpc = '{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"__proto__":{"message":{}},"constructor":{"prototype":{"x":1}},"message":{"messageId":"m","role":"ROLE_USER","parts":[{"text":"alpha proto"}]}}}';
    expect(expectCleanJson(await post('/a2a/jsonrpc', rpc, A2A), 200)).toMatchObject({ jsonrpc: '2.0', id: 1 });
    expect(expectCleanJson(await post('/relay', '{"to":"alpha","text":"after"}'), 200)).toMatchObject({ ok: true, reply: 'echo: after' });
  });

  it('too large, also when compressed: 413; not JSON: 415', async () => {
    const big = JSON.stringify({ to: 'alpha', text: 'x'.repeat(70_000) });
    expect(expectCleanJson(await post('/relay', big), 413)).toEqual({ detail: 'the body is larger than 65536 bytes' });
    // 10 MB of JSON in a 10 KB gzip: the cap holds on what the body inflates to.
    const bomb = gzipSync(JSON.stringify({ to: 'alpha', text: 'x'.repeat(10_000_000) }));
    expect(bomb.length).toBeLessThan(20_000);
    expect(expectCleanJson(await post('/relay', bomb, { 'content-encoding': 'gzip' }), 413)).toEqual({ detail: 'the body is larger than 65536 bytes' });
    expect(expectCleanJson(await post('/relay', 'to=alpha&text=x', { 'content-type': 'application/x-www-form-urlencoded' }), 415)).toEqual({
      detail: 'Content-Type must be application/json; got "application/x-www-form-urlencoded"',
    });
    expect(expectCleanJson(await post('/relay', '{"to":"alpha","text":"x"}', { 'content-type': 'text/plain' }), 415)['detail']).toMatch(/^Content-Type must be application\/json/);
    expect(expectCleanJson(await post('/relay', '{}', { 'content-encoding': 'compress' }), 415)['detail']).toMatch(/^unsupported Content-Encoding/);
  });

  it('a well-formed relay still works, and unknown routes answer JSON too', async () => {
    expect(expectCleanJson(await post('/relay', '{"to":"alpha","text":"fine"}'), 200)).toMatchObject({ ok: true, peer: 'alpha', reply: 'echo: fine' });
    expect(expectCleanJson(await rawRequest(`${demo.url}/no/such/page`), 404)).toEqual({ detail: 'no route GET /no/such/page' });
    expect(expectCleanJson(await post('/health/circuit-breakers', '{}'), 404)).toEqual({ detail: 'no route POST /health/circuit-breakers' });
    // A malformed %-escape in a path parameter: the router's URIError was a 500.
    const token = { authorization: `Bearer ${demo.adminToken}` };
    expect(expectCleanJson(await post('/chaos/%E0%A4%A/down', '{}', token), 400)).toEqual({ detail: 'the URL is not valid percent-encoding' });
    expect(expectCleanJson(await rawRequest(`${demo.url}/a2a/rest/tasks/%E0%A4%A`, { headers: A2A }), 400)).toMatchObject({ error: { code: 400, message: 'the URL is not valid percent-encoding' } });
  });
});

describe('the A2A endpoints with hostile bodies', () => {
  it('JSON-RPC: unreadable, null, too large, too deep → 4xx with a JSON-RPC error; mistyped params → the protocol\'s error', async () => {
    expect(expectCleanJson(await post('/a2a/jsonrpc', '{"jsonrpc":', A2A), 400)).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'the body is not valid JSON' } });
    expect(expectCleanJson(await post('/a2a/jsonrpc', 'null', A2A), 400)).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32600, message: expect.stringMatching(/^the body must be a JSON-RPC request object/) } });
    expect(expectCleanJson(await post('/a2a/jsonrpc', '[1,2]', A2A), 400)).toMatchObject({ error: { code: -32600 } });
    const big = jsonRpc(JSON.stringify({ messageId: 'm', role: 'ROLE_USER', parts: [{ text: `alpha ${'x'.repeat(200_000)}` }] }));
    expect(expectCleanJson(await post('/a2a/jsonrpc', big, A2A), 413)).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32600, message: 'the body is larger than 102400 bytes' } });
    // 40 000 levels fit in 80 KB; the SDK's protobuf conversion overflowed the stack on them (a 500).
    const deep = jsonRpc(`{"messageId":"m","role":"ROLE_USER","parts":[{"text":"alpha hi"}],"metadata":{"a":${nested(40_000)}}}`);
    expect(expectCleanJson(await post('/a2a/jsonrpc', deep, A2A), 400)).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32600, message: 'the body is nested deeper than 32 levels' } });
    const mistyped = expectCleanJson(await post('/a2a/jsonrpc', jsonRpc('42'), A2A), 200);
    expect(mistyped).toMatchObject({ jsonrpc: '2.0', id: 1, error: { code: -32602 } });
  });

  it('REST: too large, too deep, null → 4xx in the binding\'s error shape', async () => {
    const big = JSON.stringify({ message: { messageId: 'm', role: 'ROLE_USER', parts: [{ text: 'x'.repeat(200_000) }] } });
    expect(expectCleanJson(await post('/a2a/rest/message:send', big, A2A), 413)).toEqual({ error: { code: 413, status: 'RESOURCE_EXHAUSTED', message: 'the body is larger than 102400 bytes', details: [] } });
    const deep = `{"message":{"messageId":"m","role":"ROLE_USER","parts":[{"text":"alpha hi"}],"metadata":{"a":${nested(40_000)}}}}`;
    expect(expectCleanJson(await post('/a2a/rest/message:send', deep, A2A), 400)).toMatchObject({ error: { code: 400, status: 'INVALID_ARGUMENT', message: 'the body is nested deeper than 32 levels' } });
    expect(expectCleanJson(await post('/a2a/rest/message:send', 'null', A2A), 400)).toMatchObject({ error: { code: 400, message: 'the body must be a JSON object (an A2A HTTP+JSON request); got null' } });
    expect(expectCleanJson(await post('/a2a/rest/message:send', '{"message":', A2A), 400)).toMatchObject({ error: { code: 400, message: 'the body is not valid JSON' } });
  });
});

describe('the chaos and admin controls against a hostile page', () => {
  it('a cross-site form post (any enctype) is refused and changes nothing', async () => {
    const evil = { origin: 'http://evil.example' };
    for (const type of ['application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'text/plain']) {
      const answer = expectCleanJson(await post('/chaos/peer-alpha/down', 'a=b', { ...evil, 'content-type': type }), 415);
      expect(answer['detail']).toMatch(/^chaos controls need Content-Type: application\/json from this agent's own page, or the admin token/);
    }
    // No body, no content type (a form-less POST, or fetch with mode: no-cors).
    expectCleanJson(await rawRequest(`${demo.url}/chaos/peer-alpha/down`, { method: 'POST', headers: evil }), 415);
    expect(expectCleanJson(await post('/admin/reset', 'a=b', { ...evil, 'content-type': 'application/x-www-form-urlencoded' }), 401)['detail']).toMatch(/^admin token required/);
    expect(await faultsOf('peer-alpha')).toEqual({});
  });

  it('JSON from another origin (or origin null) is refused; from our own page, a script without Origin, or with the token it works', async () => {
    for (const origin of ['http://evil.example', `http://${host}.evil.example`, 'http://localhost:1', 'null']) {
      expect(expectCleanJson(await post('/chaos/peer-alpha/down', '{}', { origin }), 403)['detail']).toMatch(/^cross-origin request refused/);
    }
    expect(await faultsOf('peer-alpha')).toEqual({});
    expect(expectCleanJson(await post('/chaos/peer-alpha/slow', '{}', { origin: demo.url }), 200)).toMatchObject({ dependency: 'peer-alpha', action: 'slow' });
    expect(expectCleanJson(await post('/chaos/peer-alpha/heal', '{}'), 200)).toMatchObject({ action: 'heal' });
    const withToken = await rawRequest(`${demo.url}/chaos/peer-alpha/heal`, { method: 'POST', headers: { authorization: `Bearer ${demo.adminToken}`, origin: 'http://evil.example' } });
    expectCleanJson(withToken, 200);
    expect(expectCleanJson(await post('/chaos/peer-alpha/down', '{}', { authorization: 'Bearer wrong' }), 401)['detail']).toMatch(/^wrong admin token/);
    expect(await faultsOf('peer-alpha')).toEqual({});
  });

  it('fetch metadata from another site is refused even without Origin; a CORS preflight is never granted', async () => {
    for (const site of ['cross-site', 'same-site']) {
      expect(expectCleanJson(await post('/chaos/peer-alpha/down', '{}', { 'sec-fetch-site': site }), 403)['detail']).toMatch(/^cross-origin request refused: Sec-Fetch-Site/);
    }
    expect(await faultsOf('peer-alpha')).toEqual({});
    expectCleanJson(await post('/chaos/peer-alpha/heal', '{}', { 'sec-fetch-site': 'same-origin', origin: demo.url }), 200);
    for (const method of ['OPTIONS', 'HEAD', 'GET', 'PUT']) {
      const answer = await rawRequest(`${demo.url}/chaos/peer-alpha/down`, {
        method,
        headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type', 'x-http-method-override': 'POST' },
      });
      expect(answer.status, method).toBe(404);
      expect(Object.keys(answer.headers).filter((name) => name.startsWith('access-control-')), method).toEqual([]);
    }
    expect(await faultsOf('peer-alpha')).toEqual({});
  });

  it('a request for another Host (DNS rebinding) is answered 421 on every route; our names work', async () => {
    const port = new URL(demo.url).port;
    for (const name of ['evil.example', 'localhost.evil.example', '127.0.0.1.nip.io', 'evil@127.0.0.1']) {
      const state = expectCleanJson(await rawRequest(`${demo.url}/api/state`, { headers: { host: `${name}:${port}` } }), 421);
      expect(state['detail']).toMatch(/^misdirected request: this agent does not answer for Host/);
      expectCleanJson(await post('/chaos/peer-alpha/down', '{}', { host: `${name}:${port}`, origin: `http://${name}:${port}` }), 421);
      expectCleanJson(await post('/relay', '{"to":"alpha","text":"x"}', { host: `${name}:${port}` }), 421);
      expectCleanJson(await post('/a2a/jsonrpc', jsonRpc('{"messageId":"m","role":"ROLE_USER","parts":[{"text":"alpha x"}]}'), { ...A2A, host: `${name}:${port}` }), 421);
    }
    expect(await faultsOf('peer-alpha')).toEqual({});
    for (const name of [`localhost:${port}`, `[::1]:${port}`, `127.0.0.1:${port}`, 'LOCALHOST']) {
      expect((await rawRequest(`${demo.url}/health/circuit-breakers`, { headers: { host: name } })).status, name).toBe(200);
    }
  });
});

describe('the dashboard\'s event streams', () => {
  it('are bounded: past 100 open streams the next is refused with 503 JSON, and a closed one frees its place', async () => {
    const open: ClientRequest[] = [];
    const openStream = () =>
      new Promise<number>((resolve, reject) => {
        const req = request(`${demo.url}/events`, { agent: false }, (res) => {
          resolve(res.statusCode ?? 0);
          res.resume();
        });
        req.on('error', (error) => (req.destroyed ? undefined : reject(error)));
        req.end();
        open.push(req);
      });
    try {
      const statuses = await Promise.all(Array.from({ length: 100 }, openStream));
      expect(statuses.every((status) => status === 200)).toBe(true);
      expect(expectCleanJson(await rawRequest(`${demo.url}/events`), 503)).toEqual({ detail: 'too many dashboards open (100); close one and reload' });
      open.shift()!.destroy();
      await waitFor('a freed stream place', async () => (await openStream()) === 200, { timeoutMs: 10_000, everyMs: 50 });
    } finally {
      for (const req of open) req.destroy();
    }
  });
});

describe('charsets, response headers and slow clients', () => {
  it('JSON in any charset but UTF-8 is refused (utf-7 would let "+ADw-" through filters as "<"), on every JSON route', async () => {
    const relayBody = '{"to":"alpha","text":"+ADw-script+AD4-"}';
    for (const charset of ['utf-7', 'UTF-16LE', '"utf-7"', 'utf-8; charset=utf-7']) {
      const answer = expectCleanJson(await post('/relay', relayBody, { 'content-type': `application/json; charset=${charset}` }), 415);
      expect(answer['detail']).toMatch(/^unsupported charset "utf-(7|16le)": send JSON in UTF-8$/);
    }
    expect(expectCleanJson(await post('/a2a/jsonrpc', jsonRpc('{"messageId":"m","role":"ROLE_USER","parts":[{"text":"alpha x"}]}'), { ...A2A, 'content-type': 'application/json; charset=utf-7' }), 415)).toMatchObject({ jsonrpc: '2.0', id: null, error: { message: 'unsupported charset "utf-7": send JSON in UTF-8' } });
    expectCleanJson(await post('/a2a/rest/message:send', '{}', { ...A2A, 'content-type': 'application/a2a+json; charset=utf-7' }), 415);
    expect(expectCleanJson(await post('/relay', '{"to":"alpha","text":"utf8"}', { 'content-type': 'application/json; charset="UTF-8"' }), 200)).toMatchObject({ ok: true, reply: 'echo: utf8' });
  });

  it('every answer forbids framing and sniffing; the dashboard runs only its own script', async () => {
    for (const response of [await rawRequest(`${demo.url}/`), await rawRequest(`${demo.url}/health/circuit-breakers`), await rawRequest(`${demo.url}/%3Cscript%3E`), await post('/relay', '{'), await rawRequest(`${demo.url}/api/state`, { headers: { host: 'evil.example' } })]) {
      expect(response.headers['x-frame-options']).toBe('DENY');
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(response.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    }
    const page = await rawRequest(`${demo.url}/`);
    expect(page.headers['content-security-policy']).toMatch(/^default-src 'none'; script-src 'sha256-[A-Za-z0-9+/=]+';/);
  });

  it('a client that trickles its headers is cut off with 408 (Node\'s default waits a minute, checked every 30 s); one that sends nothing is closed too', async () => {
    const silent = connect(Number(new URL(demo.url).port), '127.0.0.1');
    silent.on('error', () => undefined).resume();
    const socket = connect(Number(new URL(demo.url).port), '127.0.0.1');
    let answer = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (answer += chunk));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write(`GET /health/circuit-breakers HTTP/1.1\r\nHost: ${host}\r\n`);
    const trickle = setInterval(() => socket.writable && socket.write('x-slow: 1\r\n'), 1_000);
    try {
      // A bound, not a timing: the agent promises 10 s (+1 s checking); Node's default would take 60-90 s.
      await waitFor('the agent to close a trickling connection', () => socket.destroyed, { timeoutMs: 20_000, everyMs: 200 });
      await closed;
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
      // Opened at the same time and never sent a byte: Node alone would keep it open for ever.
      await waitFor('the agent to close a silent connection', () => silent.destroyed || silent.readableEnded, { timeoutMs: 10_000, everyMs: 200 });
    } finally {
      clearInterval(trickle);
      socket.destroy();
      silent.destroy();
    }
  }, 30_000);
});

describe('a stranger\'s DID and the machine the agent runs on', () => {
  it('a DID naming a loopback port (any spelling) makes the agent open no connection to it', async () => {
    let connections = 0;
    const listener: Server = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const port = (listener.address() as { port: number }).port;
    try {
      for (const did of [`did:web:localhost%3A${port}:agents:alpha`, `did:web:127.0.0.1%3A${port}`, `did:web:127.1%3A${port}`, `did:web:%5B%3A%3A1%5D%3A${port}`, `did:web:0x7f000001%3A${port}`]) {
        const answer = await post('/relay', JSON.stringify({ to: did, text: 'scan' }));
        expect([404, 502, 503], `${did}: ${answer.text}`).toContain(answer.status);
        expectCleanJson(answer, answer.status);
      }
      expect(connections).toBe(0);
      // The operator's own DID host (also on loopback) still resolves: gamma is known only by DID.
      expect(expectCleanJson(await post('/relay', '{"to":"gamma","text":"own host"}'), 200)).toMatchObject({ ok: true, peer: 'gamma', via: 'did', reply: 'echo: own host' });
    } finally {
      await new Promise<void>((resolve) => listener.close(() => resolve()));
    }
  });
});
