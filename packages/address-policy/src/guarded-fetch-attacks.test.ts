import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@phlow/test-helpers';
import { afterAll, describe, expect, it } from 'vitest';
import { AddressPolicy } from './address-policy.js';
import { addressRefusalOf } from './connection-spy.js';
import { createGuardedFetch } from './guarded-fetch.js';
import { abortWhileConnecting, CountingServer, SilentServer, sharedServersAndSpy } from './test-servers.test-util.js';

/**
 * An attacker's tries at a connection the policy refuses, or at the agent's sockets, through
 * createGuardedFetch. "Allowed" is 127.0.0.1 (listed by address, or a listed name resolving to it);
 * the forbidden target is 127.0.0.2 (loopback, never listed): a server there counts every
 * connection that reaches it, and a spy sees every socket undici creates or completes.
 */
const allowed = new CountingServer((url) => {
  if (url.startsWith('/loop')) return { status: 302, headers: { location: url } };
  const to = new URL(url, 'http://x').searchParams.get('to');
  const code = Number(new URL(url, 'http://x').searchParams.get('code') ?? 302);
  return to === null ? { status: 200, body: `hello ${url}` } : { status: code, headers: { location: to } };
});
const forbidden = new CountingServer();
const spy = sharedServersAndSpy([
  [allowed, '127.0.0.1'],
  [forbidden, '127.0.0.2'],
]);

const v4 = (address: string): { address: string; family: number } => ({ address, family: address.includes(':') ? 6 : 4 });
const forbiddenConnections = (): string[] => spy().connected.filter((c) => c.startsWith('127.0.0.2:'));

describe('host spellings the URL parser rewrites, and names that mean loopback (default policy)', () => {
  const guarded = createGuardedFetch({ lookup: async () => [v4('127.0.0.2')] });
  afterAll(() => guarded.close());

  it.each([
    ['fullwidth digits', '１２７.０.０.２'],
    ['circled digits', '①②⑦.0.0.②'],
    ['ideographic full stops', '127。0。0。2'],
    ['percent-encoded dots', '127%2e0%2e0%2e2'],
    ['fullwidth decimal', '２１３０７０６４３４'],
    ['IPv4-mapped, full', '[0:0:0:0:0:ffff:7f00:2]'],
    ['IPv4-mapped, dotted', '[::ffff:127.0.0.2]'],
    ['IPv4-compatible', '[::127.0.0.2]'],
    ['NAT64 well-known', '[64:ff9b::7f00:2]'],
    ['NAT64 local use', '[64:ff9b:1::7f00:2]'],
    ['6to4', '[2002:7f00:2::]'],
    ['Teredo', '[2001:0:4136:e378:8000:63bf:80ff:fffd]'],
    ['unspecified v6', '[::]'],
    ['bare 0', '0'],
  ])('%s (%s) is refused before any socket exists', async (_what, host) => {
    await addressRefusalOf(guarded(`http://${host}:${forbidden.port}/`));
    expect(spy().attempts).toEqual([]);
    expect(forbidden.accepted).toBe(0);
  });

  it.each(['LOCALHOST', 'localhost.', 'loc%61lhost', 'foo.localhost', 'ｌｏｃａｌｈｏｓｔ', 'did-host.test.'])('%s is judged on what it resolves to (RFC 6761: *.localhost is loopback)', async (host) => {
    const error = await addressRefusalOf(guarded(`http://${host}:${forbidden.port}/`));
    expect([error.address, error.category]).toEqual(['127.0.0.2', 'loopback']);
    expect(spy().connected).toEqual([]);
    expect(forbidden.accepted).toBe(0);
  });

  it('an IPv6 zone id is not a URL host: refused before any socket', async () => {
    await expect(guarded(`http://[fe80::1%25eth0]:${forbidden.port}/`)).rejects.toThrow(TypeError);
    expect(spy().attempts).toEqual([]);
  });
});

describe('DNS rebinding and pooled sockets', () => {
  it('every new connection is judged on a fresh lookup: a name that answered 127.0.0.1 and then 127.0.0.2 is refused the second time', async () => {
    const answers = ['127.0.0.1', '127.0.0.2'];
    let lookups = 0;
    const close = new CountingServer(() => ({ status: 200, headers: { connection: 'close' }, body: 'bye' }));
    await close.start('127.0.0.1');
    const forbiddenTwin = await new CountingServer().start('127.0.0.2');
    // Same port on both addresses is not guaranteed free: the attacker's second answer points at the twin's port by name.
    const guarded = createGuardedFetch({ allowPrivateAddresses: ['127.0.0.1'], lookup: async () => [v4(answers[Math.min(lookups++, 1)]!)] });
    expect((await guarded(`http://rebind.test:${close.port}/`)).status).toBe(200);
    // The server closed the connection: the next request needs a new one, and a new lookup.
    await waitFor('the server to close the first connection', () => close.open === 0);
    const error = await addressRefusalOf(guarded(`http://rebind.test:${close.port}/`));
    expect([error.host, error.address]).toEqual(['rebind.test', '127.0.0.2']);
    expect(lookups).toBe(2);
    expect(close.accepted).toBe(1);
    expect(forbiddenTwin.accepted).toBe(0);
    await guarded.close();
    await Promise.all([close.stop(), forbiddenTwin.stop()]);
  });

  it('a kept-alive socket of allowed host A is never used for host B at the same address', async () => {
    const guarded = createGuardedFetch({ allowPrivateAddresses: ['a.test'], lookup: async () => [v4('127.0.0.1')] });
    expect(await (await guarded(`http://a.test:${allowed.port}/a`)).text()).toBe('hello /a');
    const error = await addressRefusalOf(guarded(`http://b.test:${allowed.port}/b`));
    expect([error.host, error.address]).toEqual(['b.test', '127.0.0.1']);
    expect(allowed.requests).toBeGreaterThan(0);
    expect(allowed.accepted).toBe(1);
    await guarded.close();
  });

  it("two guarded fetches with different policies never share a socket: the strict one refuses the origin the lenient one keeps open", async () => {
    const lenient = createGuardedFetch({ allowPrivateAddresses: ['127.0.0.1'] });
    const strict = createGuardedFetch();
    expect((await lenient(`http://127.0.0.1:${allowed.port}/x`)).status).toBe(200);
    await addressRefusalOf(strict(`http://127.0.0.1:${allowed.port}/x`));
    expect(allowed.accepted).toBe(1);
    await Promise.all([lenient.close(), strict.close()]);
  });

  it('happy eyeballs: one refused address among allowed ones refuses the host, so no socket tries it', async () => {
    for (const answer of [['127.0.0.1', '127.0.0.2'], ['127.0.0.2', '127.0.0.1'], ['127.0.0.1', '::1']]) {
      const guarded = createGuardedFetch({ allowPrivateAddresses: ['127.0.0.1'], lookup: async () => answer.map(v4) });
      const error = await addressRefusalOf(guarded(`http://dual.test:${allowed.port}/`));
      expect(error.address).not.toBe('127.0.0.1');
      await guarded.close();
    }
    expect(spy().connected).toEqual([]);
    expect(allowed.accepted + forbidden.accepted).toBe(0);
  });
});

describe('redirects from an allowed host', () => {
  const guarded = createGuardedFetch({ allowPrivateAddresses: ['127.0.0.1'] });
  afterAll(() => guarded.close());
  const via = (location: string, code: number): string => `http://127.0.0.1:${allowed.port}/?code=${code}&to=${encodeURIComponent(location)}`;

  it.each([301, 302, 303, 307, 308])('%i to 127.0.0.2 in every spelling (userinfo, protocol-relative, backslashes, mapped, https) never connects there', async (code) => {
    const p = forbidden.port;
    const locations = [
      `http://127.0.0.2:${p}/`,
      `http://127.0.0.1@127.0.0.2:${p}/`,
      `//0x7f.0.0.2:${p}/`,
      `\\\\127.0.0.2:${p}/`,
      `/\\2130706434:${p}/`,
      `http://[::ffff:127.0.0.2]:${p}/`,
      `https://127.0.0.2:${p}/`,
      // Fullwidth digits `１２７.０.０.２`, percent-encoded (a header carries bytes): the URL parser maps them to 127.0.0.2.
      `http://%EF%BC%91%EF%BC%92%EF%BC%97.%EF%BC%90.%EF%BC%90.%EF%BC%92:${p}/`,
    ];
    for (const location of locations) await expect(guarded(via(location, code)), location).rejects.toThrow(TypeError);
    expect(forbidden.accepted).toBe(0);
    expect(forbiddenConnections()).toEqual([]);
  });

  it('to file: and data: is a network error, not a read', async () => {
    for (const location of ['file:///etc/passwd', 'data:text/plain,secret']) await expect(guarded(via(location, 302))).rejects.toThrow(/fetch failed/);
  });

  it('an endless redirect loop stops at fetch’s 20 redirects, on one reused connection', async () => {
    allowed.requests = 0;
    await expect(guarded(`http://127.0.0.1:${allowed.port}/loop`)).rejects.toThrow(/fetch failed/);
    expect(allowed.requests).toBe(21);
    expect(allowed.accepted).toBeLessThanOrEqual(2);
  });
});

describe('sockets an attacker makes the agent hold', () => {
  it('an abort destroys the connection still being set up for a redirect target on another origin', async () => {
    const guarded = createGuardedFetch({ allowPrivateAddresses: ['127.0.0.1'], connectTimeoutMs: 60_000 });
    const redirectTo = (port: number) => `http://127.0.0.1:${allowed.port}/?to=${encodeURIComponent(`https://127.0.0.1:${port}/`)}`;
    const { error, accepted } = await abortWhileConnecting(guarded, redirectTo);
    expect(String(error)).toMatch(/aborted/i);
    expect(accepted).toBe(1);
    await guarded.close();
  });

  it('an abort destroys a connection being set up for an origin the pool already evicted', async () => {
    const guarded = createGuardedFetch({ allowPrivateAddresses: ['127.0.0.1'], connectTimeoutMs: 60_000, maxOrigins: 1 });
    const evictIt = async () => {
      expect((await guarded(`http://127.0.0.1:${allowed.port}/evicts`)).status).toBe(200);
      expect(guarded.dispatcher.originCount).toBe(1);
    };
    const { error } = await abortWhileConnecting(guarded, (port) => `https://127.0.0.1:${port}/`, evictIt);
    expect(String(error)).toMatch(/aborted/i);
    await guarded.close();
  });

  it('a server that accepts TCP and never answers the TLS handshake: the connect timeout fails the request and frees the socket', async () => {
    const silent = await new SilentServer().start();
    const guarded = createGuardedFetch({ allowPrivateAddresses: ['127.0.0.1'], connectTimeoutMs: 200 });
    const error = await guarded(`https://127.0.0.1:${silent.port}/`).then(
      () => undefined,
      (caught: unknown) => caught as Error & { cause?: { code?: string } },
    );
    expect(error?.cause?.code).toBe('UND_ERR_CONNECT_TIMEOUT');
    await waitFor('the timed-out connection to be closed', () => silent.open.size === 0);
    expect(silent.accepted).toBe(1);
    await guarded.close();
    await silent.stop();
  });

  it('200 distinct host names: at most maxOrigins pools, and the evicted pools’ sockets are closed', async () => {
    const guarded = createGuardedFetch({ allowPrivateAddresses: ['127.0.0.1'], lookup: async () => [v4('127.0.0.1')], maxOrigins: 8 });
    for (let i = 0; i < 200; i++) expect(await (await guarded(`http://host-${i}.test:${allowed.port}/${i}`)).text()).toBe(`hello /${i}`);
    expect(guarded.dispatcher.originCount).toBe(8);
    await waitFor('the evicted pools to close their sockets', () => allowed.open <= 8);
    await guarded.close();
    await waitFor('close() to close the rest', () => allowed.open === 0);
  });
});

describe('the allow-list form', () => {
  it('an IPv6 range (::/0, ::/8) does not allow IPv4 addresses in their IPv4-mapped spelling', async () => {
    for (const range of ['::/0', '::/8']) {
      const guarded = createGuardedFetch({ allowPrivateAddresses: [range] });
      const error = await addressRefusalOf(guarded(`http://[::ffff:127.0.0.2]:${forbidden.port}/`));
      expect(error.category).toBe('loopback');
      await guarded.close();
    }
    expect(spy().attempts).toEqual([]);
    expect(forbidden.accepted).toBe(0);
  });

  it('an IPv4-mapped entry means its IPv4 address, in both spellings, and nothing next to it', async () => {
    const policy = new AddressPolicy({ allowPrivateAddresses: ['::ffff:127.0.0.1', '::ffff:10.0.0.0/104'] });
    expect(policy.verdict('x', '127.0.0.1')).toBeUndefined();
    expect(policy.verdict('x', '::ffff:7f00:1')).toBeUndefined();
    expect(policy.verdict('x', '10.200.0.1')).toBeUndefined();
    expect(policy.verdict('x', '127.0.0.2')).toBe('loopback');
    expect(policy.verdict('x', '::7f00:1')).toBe('reserved');
    expect(policy.verdict('x', '64:ff9b::7f00:1')).toBe('loopback');
    const guarded = createGuardedFetch({ policy });
    expect((await guarded(`http://127.0.0.1:${allowed.port}/`)).status).toBe(200);
    await addressRefusalOf(guarded(`http://127.1.0.1:${forbidden.port}/`));
    await guarded.close();
  });

  it('allowing 127.0.0.1 does not allow 127.0.0.2 written as 127.2, nor NAT64 and IPv4-compatible forms of 127.0.0.1', async () => {
    const guarded = createGuardedFetch({ allowPrivateAddresses: ['127.0.0.1'] });
    for (const host of ['127.2', '0x7f000002', '[64:ff9b::7f00:1]', '[::127.0.0.1]', '[2002:7f00:1::]']) await addressRefusalOf(guarded(`http://${host}:${forbidden.port}/`));
    expect(spy().attempts).toEqual([]);
    await guarded.close();
  });
});

describe('a fetch underneath that would go around the guard', () => {
  it('a fetch that drops init.dispatcher: its answer is refused, with the reason (the request itself went out: it is your fetch)', async () => {
    const dropping = ((input: string, init?: RequestInit) => fetch(input, { headers: init?.headers ?? {} })) as typeof fetch;
    const guarded = createGuardedFetch({ fetch: dropping });
    await expect(guarded(`http://localhost:${allowed.port}/secret`)).rejects.toThrow(/without using the guarded dispatcher, so the address policy was not applied/);
    await guarded.close();
    // With allowPrivateAddresses: true there is no policy to apply: a stand-in fetch (a test's) is fine.
    const stand = createGuardedFetch({ allowPrivateAddresses: true, fetch: (async () => new Response('stand-in')) as typeof fetch });
    expect(await (await stand('http://anything.test/')).text()).toBe('stand-in');
  });

  it('a guarded fetch as the fetch underneath is an error (it would replace this policy with its own)', () => {
    expect(() => createGuardedFetch({ fetch: createGuardedFetch({ allowPrivateAddresses: true }) })).toThrow(/fetch must not be a guarded fetch/);
  });

  it('proxy environment variables (HTTP_PROXY, NODE_USE_ENV_PROXY) do not apply: the guard connects directly, the proxy sees nothing', async () => {
    const proxy = await new CountingServer(() => ({ status: 200, body: 'proxied' })).start();
    const entry = fileURLToPath(new URL('../dist/index.js', import.meta.url));
    const script = `
      const { createGuardedFetch } = await import(${JSON.stringify(entry)});
      const lenient = createGuardedFetch({ allowPrivateAddresses: ['127.0.0.1'] });
      const strict = createGuardedFetch();
      const direct = await (await lenient('http://127.0.0.1:${allowed.port}/direct')).text();
      const refused = await strict('http://localhost:${forbidden.port}/').then(() => 'connected', (e) => e.code);
      console.log(JSON.stringify({ direct, refused }));
      await Promise.all([lenient.close(), strict.close()]);`;
    const proxyUrl = `http://127.0.0.1:${proxy.port}`;
    const env = { ...process.env, NODE_USE_ENV_PROXY: '1', HTTP_PROXY: proxyUrl, HTTPS_PROXY: proxyUrl, http_proxy: proxyUrl, NO_PROXY: '', no_proxy: '' };
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--input-type=module', '-e', script], { env }, (error, out, err) => (error ? reject(new Error(err || String(error))) : resolve(out))),
    );
    expect(JSON.parse(stdout)).toEqual({ direct: 'hello /direct', refused: 'ERR_ADDRESS_NOT_ALLOWED' });
    expect(proxy.accepted).toBe(0);
    expect(forbidden.accepted).toBe(0);
    await proxy.stop();
  });
});
