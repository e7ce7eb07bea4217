import { createServer, isIP } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import type { AgentCard, Message } from '@a2a-js/sdk';
import { ClientFactory, JsonRpcTransportFactory, RestTransportFactory } from '@a2a-js/sdk/client';
import { createGuardedFetch } from '@phlow/address-policy';
import { addressRefusalOf, pickFrom, refusedAddress, spellHost, spyOnConnections, type ConnectionSpy } from '@phlow/address-policy/testing';
import { CircuitBreakerRegistry } from '@phlow/circuit-breaker';
import { A2A_JSONRPC_PATH, A2aPeer } from '@phlow/testkit';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createA2aClient } from './create-a2a-client.js';
import { a2aProtectionOf } from './protect-a2a-client.js';
import { closeServer, listenOn } from './test-support.test-util.js';
import { messageText, textMessageRequest } from './text-message.js';

/**
 * The address policy of @phlow/a2a, attacked where an agent learns URLs from data: a URL from a DID
 * document or registry row, an agent card's `supportedInterfaces[].url`, a redirect. A loopback
 * server counts the TCP connections that reach it; a spy counts sockets created and connections
 * completed.
 */
let sinkAccepted = 0;
let sinkPort = 0;
/** Counts the TCP connections that reach it, and closes each at once: none should ever come. */
const sink = createServer((socket) => {
  sinkAccepted++;
  socket.destroy();
});
const peer = new A2aPeer({ name: 'real' });
/** Answers every request with a redirect to the URL in its query: `/?to=http://...`. */
const redirector = createHttpServer((request, response) => {
  const to = new URL(request.url ?? '/', 'http://x').searchParams.get('to') ?? '/';
  response.writeHead(302, { location: to }).end();
});
let redirectorPort = 0;
let spy: ConnectionSpy;
let registry: CircuitBreakerRegistry;

beforeAll(async () => {
  [sinkPort, redirectorPort] = await Promise.all([listenOn(sink), listenOn(redirector), peer.start()]);
});
afterAll(() => Promise.all([closeServer(sink), closeServer(redirector), peer.stop()]));
beforeEach(() => {
  registry = new CircuitBreakerRegistry({ logger: false });
  sinkAccepted = 0;
  spy = spyOnConnections();
});
afterEach(() => spy.dispose());

function cardAt(url: string): AgentCard {
  const card = peer.agentCard;
  return { ...card, supportedInterfaces: [{ ...card.supportedInterfaces[0]!, url }] };
}

const refusal = addressRefusalOf;

const ipAttempts = (): string[] => spy.attempts.filter((attempt) => isIP(attempt.slice(0, attempt.lastIndexOf(':')).replace(/^\[|\]$/g, '')) !== 0);

describe('createA2aClient refuses private addresses by default', () => {
  it('a URL of a loopback peer is refused before its breaker is asked (nothing reached the peer)', async () => {
    const error = await refusal(createA2aClient(peer.url, { registry }));
    expect(error.message).toMatch(/^127\.0\.0\.1 is a loopback address; refused to connect/);
    expect(peer.requests).toEqual([]);
    expect(registry.getStats()).toEqual({});
  });

  it("an agent card's interface URL is guarded where the transport connects; the refusal does not count against the peer", async () => {
    const client = await createA2aClient(cardAt(`http://0x7f.1:${sinkPort}${A2A_JSONRPC_PATH}`), { registry, peer: 'card' });
    for (let i = 0; i < 5; i++) await refusal(client.sendMessage(textMessageRequest('hi')));
    expect(a2aProtectionOf(client)!.breaker.getStats()).toMatchObject({ state: 'closed', total_failures: 0, total_ignored: 5 });
    expect(sinkAccepted).toBe(0);
    expect(ipAttempts()).toEqual([]);
  });

  it('a redirect of the card download to a refused address is refused at its connection', async () => {
    const fetchLooking = createGuardedFetch({ allowPrivateAddresses: ['redirector.test'], lookup: async () => [{ address: '127.0.0.1', family: 4 }] });
    const target = `http://2130706433:${sinkPort}/.well-known/agent-card.json`;
    const error = await refusal(createA2aClient(`http://redirector.test:${redirectorPort}/?to=${encodeURIComponent(target)}`, { registry, fetch: fetchLooking, agentCardPath: '' }));
    expect(error.host).toBe('127.0.0.1');
    expect(sinkAccepted).toBe(0);
    await fetchLooking.close();
  });

  it('a name that resolves to a private address is refused inside the connection lookup', async () => {
    const guarded = createGuardedFetch({ lookup: async () => [{ address: '169.254.169.254', family: 4 }] });
    const error = await refusal(createA2aClient(`http://metadata.google.internal:${sinkPort}`, { registry, fetch: guarded }));
    expect([error.host, error.address, error.category]).toEqual(['metadata.google.internal', '169.254.169.254', 'metadata']);
    expect(registry.get(`a2a/metadata.google.internal:${sinkPort}`)?.getStats()).toMatchObject({ total_failures: 0, total_ignored: 1 });
    expect(spy.connected).toEqual([]);
    await guarded.close();
  });

  it('an IPv6 zone id is not a URL host: refused before any connection', async () => {
    await expect(createA2aClient(`http://[fe80::1%25eth0]:${sinkPort}`, { registry })).rejects.toThrow(/must be an absolute URL/);
    const client = await createA2aClient(cardAt(`http://[fe80::1%25lo]:${sinkPort}${A2A_JSONRPC_PATH}`), { registry, peer: 'zone' });
    await expect(client.sendMessage(textMessageRequest('x'))).rejects.toThrow(TypeError);
    expect(spy.attempts).toEqual([]);
  });

  it('a factory of your own must guard its transports, or createA2aClient refuses it', async () => {
    const bare = new ClientFactory({ transports: [new JsonRpcTransportFactory()] });
    await expect(createA2aClient(peer.agentCard, { registry, factory: bare, peer: 'x' })).rejects.toThrow(
      /the factory's JSONRPC transport has no guarded fetchImpl, so its requests would skip the address policy/,
    );
    const guarded = createGuardedFetch({ allowPrivateAddresses: ['127.0.0.1'] });
    const factory = new ClientFactory({ transports: [new RestTransportFactory({ fetchImpl: guarded }), new JsonRpcTransportFactory({ fetchImpl: guarded })], preferredTransports: ['HTTP+JSON'] });
    const client = await createA2aClient(peer.agentCard, { registry, factory, peer: 'own-factory' });
    expect(messageText((await client.sendMessage(textMessageRequest('over rest'))) as Message)).toBe('echo: over rest');
    await guarded.close();
  });
});

describe('allowPrivateAddresses (local development), the same option as @phlow/did-resolver', () => {
  it('an allow-list lets the listed peer through, and nothing spelled differently', async () => {
    const client = await createA2aClient(peer.url, { registry, allowPrivateAddresses: ['127.0.0.1'] });
    expect(messageText((await client.sendMessage(textMessageRequest('hi'))) as Message)).toBe('echo: hi');
    expect(spy.connected.length).toBeGreaterThan(0);
    await refusal(createA2aClient(`http://[::ffff:7f00:1]:${sinkPort}`, { registry, allowPrivateAddresses: ['127.0.0.2'] }));
    await refusal(createA2aClient(`http://localhost:${sinkPort}`, { registry, allowPrivateAddresses: ['peer.test'] }));
    expect(sinkAccepted).toBe(0);
  });

  it('fetch: globalThis.fetch means the default: the policy still refuses a loopback peer, and a listed one answers on every Node line', async () => {
    await refusal(createA2aClient(`http://0x7f.1:${sinkPort}`, { registry, fetch: globalThis.fetch }));
    expect(sinkAccepted).toBe(0);
    const client = await createA2aClient(peer.url, { registry, fetch: globalThis.fetch, allowPrivateAddresses: ['127.0.0.1'] });
    expect(messageText((await client.sendMessage(textMessageRequest('hi'))) as Message)).toBe('echo: hi');
  });

  it('a fetch of yours handing the guard’s dispatcher to an older undici (Node 22’s, 24’s global fetch) is told which fetch to use', async () => {
    const wrapper = ((input: string, init?: RequestInit) => globalThis.fetch(input, init)) as typeof fetch;
    const created = createA2aClient(peer.url, { registry, fetch: wrapper, allowPrivateAddresses: ['127.0.0.1'] });
    if (Number(process.versions['undici']?.split('.')[0]) >= 8) {
      expect(messageText((await (await created).sendMessage(textMessageRequest('hi'))) as Message)).toBe('echo: hi'); // Node 26
    } else {
      await expect(created).rejects.toThrow(/could not use the guarded dispatcher .*: it must be undici 8's fetch/);
    }
  });

  it('names the option and the value when it is wrong', async () => {
    await expect(createA2aClient(peer.url, { registry, allowPrivateAddresses: ['0x7f.1'] })).rejects.toThrow(
      'createA2aClient: option "allowPrivateAddresses"[0] "0x7f.1" is read as the IP address 127.0.0.1 by URL parsers; write "127.0.0.1"',
    );
    await expect(createA2aClient(peer.url, { registry, allowPrivateAddresses: 'yes' as never })).rejects.toThrow(/allowPrivateAddresses" must be true, false or a list/);
    await expect(createA2aClient(peer.url, { registry, allowPrivateAddresses: true, fetch: createGuardedFetch() })).rejects.toThrow(/give either allowPrivateAddresses or a guarded fetch/);
  });
});

describe('property: 10 000 generated hosts through the A2A client', () => {
  it('every spelling of a refused address (URL source, card interface) and every name resolving to one is refused, no connection made', async () => {
    let answer = '127.0.0.1';
    const guarded = createGuardedFetch({ lookup: async () => [{ address: answer, family: answer.includes(':') ? 6 : 4 }] });
    const runs = Number(process.env['GUARD_RUNS'] ?? 10_000);
    const seen = { url: 0, card: 0, name: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { minLength: 64, maxLength: 64 }), fc.constantFrom('url', 'card', 'name'), async (values, kind) => {
        const pick = pickFrom(values);
        const address = refusedAddress(pick);
        seen[kind]++;
        if (kind === 'name') {
          answer = address;
          await refusal(createA2aClient(`http://peer-${pick(4)}.example:${sinkPort}`, { registry, fetch: guarded, peer: 'attacker' }));
          return;
        }
        const url = `http://${spellHost(address, pick)}:${sinkPort}`;
        if (kind === 'url') {
          await refusal(createA2aClient(url, { registry, peer: 'attacker' }));
        } else {
          const client = await createA2aClient(cardAt(`${url}${A2A_JSONRPC_PATH}`), { registry, fetch: guarded, peer: 'attacker' });
          await refusal(client.sendMessage(textMessageRequest('x')));
        }
      }),
      { numRuns: runs, seed: 4242 },
    );
    expect(seen.url + seen.card + seen.name).toBe(runs);
    expect(Math.min(seen.url, seen.card, seen.name)).toBeGreaterThan(runs / 4);
    expect(ipAttempts()).toEqual([]);
    expect(spy.connected).toEqual([]);
    expect(sinkAccepted).toBe(0);
    expect(registry.get('a2a/attacker')?.getStats()).toMatchObject({ state: 'closed', total_failures: 0 });
    await guarded.close();
  });
});
