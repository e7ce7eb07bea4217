import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { canonicalHost } from './canonical-host.js';
import { waitFor } from '@phlow/test-helpers';
import { GuardedDispatcher } from './guarded-dispatcher.js';
import { createGuardedFetch, isGuardedFetch, type GuardedFetch } from './guarded-fetch.js';
import { pickFrom, refusedAddress, spellHost } from './host-spellings.js';
import { addressRefusalOf, spyOnConnections, type ConnectionSpy } from './connection-spy.js';
import { abortWhileConnecting, CountingServer, sharedServersAndSpy } from './test-servers.test-util.js';

const server = new CountingServer((url) => (url.startsWith('/to/') ? { status: 302, headers: { location: decodeURIComponent(url.slice(4)) } } : { status: 200, body: `hello ${url}` }));
const other = new CountingServer();
const spy = sharedServersAndSpy([
  [server, '127.0.0.1'],
  [other, '127.0.0.1'],
]);

const refusal = addressRefusalOf;

describe('createGuardedFetch, default policy', () => {
  const guarded = createGuardedFetch();
  afterAll(() => guarded.close());

  it.each(['127.0.0.1', '0x7f.1', '2130706433', '0177.0.0.1', '127.1', '0x7F000001', '127.0.0.1.', '%31%32%37.0.0.1', '[::1]', '[::ffff:127.0.0.1]', '[0:0:0:0:0:0:0:1]'])(
    'refuses http://%s before any socket exists',
    async (host) => {
      const error = await refusal(guarded(`http://${host}:${server.port}/`));
      expect(error.category).toBe('loopback');
      expect(error.message).toMatch(/loopback address; refused to connect/);
      expect(spy().attempts).toEqual([]);
      expect(server.accepted).toBe(0);
    },
  );

  it('refuses a bare 0 (0.0.0.0, which reaches this machine) as unspecified', async () => {
    const error = await refusal(guarded(`http://0:${server.port}/`));
    expect([error.host, error.category]).toEqual(['0.0.0.0', 'unspecified']);
    expect(server.accepted).toBe(0);
  });

  it('refuses localhost by what it resolves to, inside the connection lookup, before TCP', async () => {
    const error = await refusal(guarded(`http://localhost:${server.port}/`));
    expect(error.message).toMatch(/^localhost resolves to (127\.0\.0\.1|::1) \(loopback\)/);
    expect(spy().connected).toEqual([]);
    expect(server.accepted).toBe(0);
  });
});

describe('names that resolve to refused addresses (injected lookup)', () => {
  it.each([
    ['metadata.google.internal', '169.254.169.254', 'metadata'],
    ['rebind.example', '10.1.2.3', 'private'],
    ['v6.example', 'fd00:ec2::254', 'metadata'],
    ['zone.example', 'fe80::1%eth0', 'link-local'],
    ['mapped.example', '::ffff:127.0.0.1', 'loopback'],
  ])('%s → %s is refused (%s)', async (name, address, category) => {
    const looked: string[] = [];
    const guarded = createGuardedFetch({ lookup: async (host) => (looked.push(host), [{ address, family: address.includes(':') ? 6 : 4 }]) });
    const error = await refusal(guarded(`http://${name.toUpperCase()}:${server.port}/`));
    expect([error.host, error.address, error.category]).toEqual([name, address, category]);
    expect(looked).toEqual([name]);
    expect(spy().connected).toEqual([]);
    await guarded.close();
  });

  it('one refused address among public ones refuses the host', async () => {
    const guarded = createGuardedFetch({ lookup: async () => [{ address: '93.184.215.14', family: 4 }, { address: '127.0.0.1', family: 4 }] });
    expect((await refusal(guarded(`http://mixed.example:${server.port}/`))).address).toBe('127.0.0.1');
    expect(server.accepted).toBe(0);
    await guarded.close();
  });
});

describe('allow-list', () => {
  it('allows a listed address and reuses the checked connections (sequential requests share them)', async () => {
    const guarded = createGuardedFetch({ allowPrivateAddresses: ['127.0.0.1'] });
    for (let i = 0; i < 20; i++) expect(await (await guarded(`http://127.0.0.1:${server.port}/${i}`)).text()).toBe(`hello /${i}`);
    // A socket goes back to the pool a moment after its body ends, so a second one may be opened.
    expect(server.accepted).toBeLessThanOrEqual(2);
    // The spy sees allowed connections (so its silence elsewhere means something).
    expect(spy().connected.length).toBe(server.accepted);
    expect(spy().attempts.length).toBe(server.accepted);
    expect(isGuardedFetch(guarded)).toBe(true);
    await guarded.close();
  });

  it('allowing host A lets A through and nothing else: not a rewritten spelling of loopback, not another name', async () => {
    const lookup = async (): Promise<{ address: string; family: number }[]> => [{ address: '127.0.0.1', family: 4 }];
    const guarded = createGuardedFetch({ allowPrivateAddresses: ['Did-Host.Test.'], lookup });
    expect((await guarded(`http://did-host.test:${server.port}/a`)).status).toBe(200);
    expect((await guarded(`http://DID-HOST.TEST.:${server.port}/b`)).status).toBe(200);
    const before = server.accepted;
    for (const host of ['0x7f.1', '2130706433', '127.0.0.1', '[::ffff:7f00:1]', 'other.test', 'did-host.test.evil']) {
      await refusal(guarded(`http://${host}:${server.port}/`));
    }
    expect(server.accepted).toBe(before);
    await guarded.close();
  });

  it('an allowed address does not allow another address written the same way', async () => {
    const guarded = createGuardedFetch({ allowPrivateAddresses: ['10.0.0.0/8'] });
    await refusal(guarded(`http://0x7f.1:${server.port}/`));
    await refusal(guarded(`http://[::127.0.0.1]:${server.port}/`));
    expect(server.accepted).toBe(0);
    await guarded.close();
  });
});

describe('redirects', () => {
  it('a redirect to a refused address is refused where the connection would be made', async () => {
    const lookup = async (): Promise<{ address: string; family: number }[]> => [{ address: '127.0.0.1', family: 4 }];
    const guarded = createGuardedFetch({ allowPrivateAddresses: ['allowed.test'], lookup });
    const target = encodeURIComponent(`http://0x7f.1:${other.port}/secret`);
    const error = await refusal(guarded(`http://allowed.test:${server.port}/to/${target}`));
    expect(error.host).toBe('127.0.0.1');
    expect(server.accepted).toBe(1);
    expect(other.accepted).toBe(0);
    await guarded.close();
  });
});

describe('connections', () => {
  it('an abort destroys the connection still being set up (TLS handshake never answered)', async () => {
    const guarded = createGuardedFetch({ allowPrivateAddresses: ['127.0.0.1'], connectTimeoutMs: 60_000 });
    const { error, accepted } = await abortWhileConnecting(guarded, (port) => `https://127.0.0.1:${port}/`);
    expect(String(error)).toMatch(/aborted/i);
    expect(accepted).toBe(1);
    await guarded.close();
  });

  it('the pool is bounded: at most maxOrigins origins, least recently used closed', async () => {
    const guarded = createGuardedFetch({ allowPrivateAddresses: true, maxOrigins: 2 });
    for (const port of [server.port, other.port]) await (await guarded(`http://127.0.0.1:${port}/`)).text();
    await (await guarded(`http://localhost:${server.port}/`)).text();
    expect(guarded.dispatcher.originCount).toBe(2);
    await guarded.close();
  });

  it('allowPrivateAddresses: true still connects through the given lookup (a user\'s own name resolution)', async () => {
    const looked: string[] = [];
    const guarded = createGuardedFetch({ allowPrivateAddresses: true, lookup: async (host) => (looked.push(host), [{ address: '127.0.0.1', family: 4 }]) });
    expect(await (await guarded(`http://agents.internal.example:${server.port}/dev`)).text()).toBe('hello /dev');
    expect(looked).toEqual(['agents.internal.example']);
    await guarded.close();
  });

  it('allowPrivateAddresses: true checks nothing (local development)', async () => {
    const guarded = createGuardedFetch({ allowPrivateAddresses: true });
    expect((await guarded(`http://0x7f.1:${server.port}/dev`)).status).toBe(200);
    await guarded.close();
  });
});

describe('`await using` / `using`', () => {
  it('a guarded fetch is closed at the end of the scope: its kept-alive connection goes', async () => {
    let closed: GuardedFetch | undefined;
    {
      await using guarded = createGuardedFetch({ allowPrivateAddresses: true });
      closed = guarded;
      expect(await (await guarded(`http://127.0.0.1:${server.port}/kept`)).text()).toBe('hello /kept');
      expect(server.open).toBe(1);
    }
    expect(closed.dispatcher.originCount).toBe(0);
    await waitFor('the kept-alive connection to close', () => server.open === 0);
    await expect(closed(`http://127.0.0.1:${server.port}/`)).rejects.toThrow();
  });

  it('a shared GuardedDispatcher is closed at the end of the scope', async () => {
    let closed: GuardedDispatcher | undefined;
    {
      await using dispatcher = new GuardedDispatcher({ allowPrivateAddresses: true });
      closed = dispatcher;
      const guarded = createGuardedFetch({ dispatcher });
      await (await guarded(`http://127.0.0.1:${server.port}/`)).text();
      expect(dispatcher.originCount).toBe(1);
    }
    expect(closed.originCount).toBe(0);
    await waitFor('the kept-alive connection to close', () => server.open === 0);
  });

  it('a connection spy stops spying at the end of the scope', async () => {
    const guarded = createGuardedFetch({ allowPrivateAddresses: true });
    let scoped: ConnectionSpy | undefined;
    {
      using inner = spyOnConnections();
      scoped = inner;
      await (await guarded(`http://127.0.0.1:${server.port}/`)).text();
    }
    await (await guarded(`http://127.0.0.1:${other.port}/`)).text();
    expect(scoped.attempts).toEqual([`127.0.0.1:${server.port}`]);
    expect(spy().attempts).toEqual([`127.0.0.1:${server.port}`, `127.0.0.1:${other.port}`]);
    await guarded.close();
  });
});

describe('property: every spelling of a refused address is refused before any connection', () => {
  it('2 000 generated hosts through a guarded fetch: no connect attempt, no accepted socket', async () => {
    const guarded = createGuardedFetch();
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { minLength: 64, maxLength: 64 }), async (values) => {
        const pick = pickFrom(values);
        const host = spellHost(refusedAddress(pick), pick);
        const error = await refusal(guarded(`http://${host}:${server.port}/`));
        expect(error.host).toBe(canonicalHost(`http://${host}/`).hostname);
      }),
      { numRuns: 2_000, seed: 2026 },
    );
    expect(spy().attempts).toEqual([]);
    expect(spy().connected).toEqual([]);
    expect(server.accepted).toBe(0);
    await guarded.close();
  });
});

describe('aborts without a policy check', () => {
  it('allowPrivateAddresses: true still destroys a connection being set up when its request is aborted', async () => {
    const guarded = createGuardedFetch({ allowPrivateAddresses: true, connectTimeoutMs: 60_000 });
    const { error } = await abortWhileConnecting(guarded, (port) => `https://localhost:${port}/`);
    expect(String(error)).toMatch(/aborted/i);
    await guarded.close();
  });
});
