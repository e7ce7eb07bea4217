import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Agent } from 'undici';
import { addressRefusalOf, spyOnConnections, type ConnectionSpy } from './connection-spy.js';
import { createGuardedFetch } from './guarded-fetch.js';
import { undiciFetch } from './undici-fetch.js';

/**
 * The guarded fetch performs requests with undici's own fetch (the major of its dispatcher), also when
 * given Node's global fetch: on Node 22 and 24 the global fetch bundles an older undici that refuses the
 * dispatcher. These tests run on every Node line the package supports; what Node's global fetch does
 * with the dispatcher is read from `process.versions.undici`, the undici Node bundles.
 */
const bundledUndiciMajor = Number(process.versions['undici']?.split('.')[0]);

/** Echoes what arrived: method, content type, content length (or chunked), body. */
const echo = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    if (request.url === '/moved') {
      response.writeHead(302, { location: '/' }).end();
      return;
    }
    response.setHeader('content-type', 'application/json');
    response.end(
      JSON.stringify({
        method: request.method,
        type: request.headers['content-type'] ?? null,
        length: request.headers['content-length'] ?? null,
        marker: request.headers['x-marker'] ?? null,
        body: Buffer.concat(chunks).toString('utf8'),
      }),
    );
  });
});
let base = '';
let spy: ConnectionSpy;
beforeAll(async () => {
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(echo.address() as AddressInfo).port}`;
});
afterAll(async () => {
  echo.closeAllConnections();
  await new Promise<void>((resolve) => echo.close(() => resolve()));
});
beforeEach(() => {
  spy = spyOnConnections();
  return () => spy.dispose();
});

interface Echo {
  method: string;
  type: string | null;
  length: string | null;
  marker: string | null;
  body: string;
}

describe('fetch: globalThis.fetch means the default (undici’s fetch)', () => {
  it('the policy still applies: every spelling of a private address is refused before any socket', async () => {
    const guarded = createGuardedFetch({ fetch: globalThis.fetch });
    const port = new URL(base).port;
    for (const host of ['127.0.0.1', '2130706433', '[::ffff:127.0.0.1]', 'localhost']) {
      const error = await addressRefusalOf(guarded(`http://${host}:${port}/`));
      expect(error.category).toBe('loopback');
    }
    expect(spy.connected).toEqual([]);
    await guarded.close();
  });

  it('an allowed address is reached through the guarded pool, on every Node line', async () => {
    const guarded = createGuardedFetch({ fetch: globalThis.fetch, allowPrivateAddresses: ['127.0.0.1'] });
    const answer = (await (await guarded(`${base}/`)).json()) as Echo;
    expect(answer.method).toBe('GET');
    // The guard's connector made the connection (a fetch that skipped the dispatcher would be refused).
    expect(guarded.dispatcher.originCount).toBe(1);
    expect(spy.connected).toEqual([`127.0.0.1:${new URL(base).port}`]);
    await guarded.close();
  });
});

describe('a fetch of yours that hands the dispatcher to Node’s global fetch', () => {
  it(`says which fetch to use where Node's bundled undici (${process.versions['undici']}) refuses the dispatcher, and works where it takes it`, async () => {
    const wrapper = ((input: string, init?: RequestInit) => globalThis.fetch(input, init)) as typeof fetch;
    const guarded = createGuardedFetch({ fetch: wrapper, allowPrivateAddresses: ['127.0.0.1'] });
    if (bundledUndiciMajor < 8) {
      const error = (await guarded(`${base}/`).catch((e: unknown) => e)) as TypeError & { cause: { cause?: { code?: string } } };
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toMatch(/could not use the guarded dispatcher \(invalid on\w+ method\): it must be undici 8's fetch \(import \{ fetch \} from 'undici'\)/);
      expect(error.cause.cause?.code).toBe('UND_ERR_INVALID_ARG');
      expect(spy.connected).toEqual([]);
    } else {
      expect(((await (await guarded(`${base}/`)).json()) as Echo).method).toBe('GET');
      expect(guarded.dispatcher.originCount).toBe(1);
    }
    await guarded.close();
  });

  it('an unrelated InvalidArgumentError of your fetch is passed on as it is', async () => {
    const invalid = Object.assign(new Error('invalid method'), { code: 'UND_ERR_INVALID_ARG' });
    const guarded = createGuardedFetch({ fetch: (async () => Promise.reject(invalid)) as typeof fetch, allowPrivateAddresses: true });
    await expect(guarded(`${base}/`)).rejects.toBe(invalid);
    await guarded.close();
  });
});

describe('what Node’s fetch takes, through the guarded fetch', () => {
  const guarded = createGuardedFetch({ allowPrivateAddresses: ['127.0.0.1'] });
  afterAll(() => guarded.close());

  it('a Request of Node’s own fetch: its method, headers and body are sent (not "[object Request]")', async () => {
    const request = new Request(`${base}/`, { method: 'PUT', headers: { 'x-marker': 'from-request', 'content-type': 'text/plain' }, body: 'payload' });
    const answer = (await (await guarded(request)).json()) as Echo;
    expect(answer).toMatchObject({ method: 'PUT', marker: 'from-request', type: 'text/plain', body: 'payload' });
  });

  it('init overrides what the Request says, as fetch(request, init) does', async () => {
    const request = new Request(`${base}/`, { method: 'POST', headers: { 'x-marker': 'request' }, body: 'a' });
    const answer = (await (await guarded(request, { headers: { 'x-marker': 'init' } })).json()) as Echo;
    expect(answer).toMatchObject({ method: 'POST', marker: 'init', body: 'a' });
  });

  it('a Request keeps its redirect mode: "manual" hands the 302 back instead of following it', async () => {
    const response = await guarded(new Request(`${base}/moved`, { redirect: 'manual' }));
    expect([response.status, response.headers.get('location')]).toEqual([302, '/']);
  });

  it('a Request to a private address is refused on its URL; its signal aborts it', async () => {
    const strict = createGuardedFetch();
    expect((await addressRefusalOf(strict(new Request(`http://0x7f.1:${new URL(base).port}/`)))).address).toBe('127.0.0.1');
    const aborted = new Request(`${base}/`, { signal: AbortSignal.abort() });
    await expect(guarded(aborted)).rejects.toMatchObject({ name: 'AbortError' });
    expect(spy.connected).toEqual([]);
    await strict.close();
  });

  it('a FormData body of Node’s own fetch arrives as multipart form data (not the text "[object FormData]")', async () => {
    const form = new FormData();
    form.set('name', 'alice');
    form.set('file', new File(['file content'], 'a.txt', { type: 'text/plain' }));
    const answer = (await (await guarded(`${base}/`, { method: 'POST', body: form })).json()) as Echo;
    expect(answer.type).toMatch(/^multipart\/form-data; boundary=/);
    expect(answer.body).toContain('name="name"\r\n\r\nalice');
    expect(answer.body).toContain('filename="a.txt"');
    expect(answer.body).toContain('file content');
  });

  it('headers, URLSearchParams, Blob and stream bodies of Node’s classes are sent as they are', async () => {
    const send = async (body: NonNullable<RequestInit['body']>, extra: RequestInit = {}): Promise<Echo> =>
      (await (await guarded(`${base}/`, { method: 'POST', headers: new Headers({ 'x-marker': 'm' }), body, ...extra })).json()) as Echo;
    expect(await send(new URLSearchParams({ a: '1' }))).toMatchObject({ marker: 'm', type: 'application/x-www-form-urlencoded;charset=UTF-8', body: 'a=1' });
    expect(await send(new Blob(['blob'], { type: 'x/y' }))).toMatchObject({ type: 'x/y', length: '4', body: 'blob' });
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('streamed'));
        controller.close();
      },
    });
    expect(await send(stream, { duplex: 'half' } as RequestInit)).toMatchObject({ body: 'streamed' });
  });
});

describe('undiciFetch alone', () => {
  it('takes an undici 8 Agent (the dispatcher Node 22’s and 24’s global fetch refuse)', async () => {
    const agent = new Agent();
    const response = await undiciFetch(`${base}/`, { dispatcher: agent } as unknown as RequestInit);
    expect(((await response.json()) as Echo).method).toBe('GET');
    expect(response instanceof Response).toBe(false); // undici's class: documented
    await agent.close();
  });
});
