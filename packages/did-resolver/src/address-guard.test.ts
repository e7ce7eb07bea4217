import { isIP } from 'node:net';
import { pickFrom, refusedAddress, spellHost, spyOnConnections, type ConnectionSpy } from '@phlow/address-policy/testing';
import { CircuitBreakerRegistry } from '@phlow/circuit-breaker';
import { FaultProxy } from '@phlow/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CircuitBreakerResolver } from './circuit-breaker-resolver.js';
import { getWebResolver } from './web-did-driver.js';

/**
 * The address guard, attacked through `resolve()` (CircuitBreakerResolver with the did:web driver):
 * generated spellings of refused addresses as did:web hosts, and host names whose lookup answers
 * with them. A loopback listener (the testkit's fault proxy, resetting every connection) counts the TCP
 * connections that actually reach it; a spy counts every socket the driver creates and every
 * connection undici completes.
 */
const sink = new FaultProxy({ target: 'tcp://127.0.0.1:9', mode: 'tcp', faults: { reset: true }, control: false });
let port = 0;
const accepted = (): number => sink.stats().connections.accepted;

beforeAll(async () => {
  await sink.start();
  port = sink.port;
});
afterAll(async () => {
  await sink.stop();
});

/** did:web's id characters are letters, digits, `.`, `-`, `_` and percent-encoding: `[`, `]`, `:` get encoded. */
function asDidHost(spelling: string): string {
  return spelling.replace(/\[/g, '%5B').replace(/\]/g, '%5D').replace(/:/g, '%3A');
}

const NAMES = ['metadata.google.internal', 'rebind.example', 'internal.example.com', 'allowed.example.evil', 'localhost'];

describe('did:web address guard, property over generated hosts (10 000 cases)', () => {
  const registry = new CircuitBreakerRegistry({ logger: false });
  let answer = '127.0.0.1';
  const looked: string[] = [];
  const lookup = async (hostname: string): Promise<{ address: string; family: number }[]> => {
    looked.push(hostname);
    const address = hostname === 'allowed.example' ? '127.0.0.1' : answer;
    return [{ address, family: address.includes(':') ? 6 : 4 }];
  };
  const strict = new CircuitBreakerResolver({ ...getWebResolver({ lookup }) }, { registry, name: 'strict', cache: false });
  // The allow-list form: a listed host name and a listed address let nothing else through.
  const listed = new CircuitBreakerResolver({ ...getWebResolver({ lookup, allowPrivateAddresses: ['allowed.example', '192.0.2.1'] }) }, { registry, name: 'listed', cache: false });
  let spy: ConnectionSpy;

  beforeAll(() => {
    spy = spyOnConnections();
  });
  afterAll(() => spy.dispose());

  it('refuses every spelling of a refused address, and every name resolving to one, without a connection', async () => {
    let spelled = 0;
    let named = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { minLength: 64, maxLength: 64 }), fc.boolean(), fc.boolean(), async (values, byName, useList) => {
        const pick = pickFrom(values);
        const resolver = useList ? listed : strict;
        const address = refusedAddress(pick);
        if (byName) {
          named++;
          answer = address;
          const name = NAMES[pick(NAMES.length)]!;
          const written = pick(2) === 0 ? name : name.toUpperCase();
          const result = await resolver.resolve(`did:web:${written}%3A${port}`);
          expect(result.didResolutionMetadata, `${written} → ${address}`).toMatchObject({ error: 'notAllowed', reason: 'address' });
          expect(result.didResolutionMetadata['message']).toContain(`${name} resolves to ${address.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '::ffff:$1')}`);
        } else {
          spelled++;
          const did = `did:web:${asDidHost(spellHost(address, pick))}%3A${port}`;
          const result = await resolver.resolve(did);
          expect(result.didResolutionMetadata, did).toMatchObject({ error: 'invalidDid' });
          expect(result.didResolutionMetadata['message'], did).toMatch(/is an IP address|is not a valid domain name/);
        }
      }),
      { numRuns: Number(process.env['GUARD_RUNS'] ?? 10_000), seed: 1729 },
    );
    expect(spelled + named).toBe(Number(process.env['GUARD_RUNS'] ?? 10_000));
    expect(Math.min(spelled, named)).toBeGreaterThan((spelled + named) / 3);
    // Sockets were created only for host names (whose lookup the guard then refused); none connected.
    expect(spy.attempts.filter((attempt) => isIP(attempt.slice(0, attempt.lastIndexOf(':'))) !== 0)).toEqual([]);
    expect(spy.connected).toEqual([]);
    expect(accepted()).toBe(0);
    // A refusal is the policy's, not the host's failure: the breakers counted none.
    const stats = strict.breakerFor(`did:web:rebind.example%3A${port}`).getStats();
    expect(stats.total_failures).toBe(0);
    expect(stats.total_ignored).toBeGreaterThan(0);
    expect(stats.state).toBe('closed');
  });

  it('the spy and the server do see a connection the policy allows (the listed host name)', async () => {
    const before = accepted();
    const result = await listed.resolve(`did:web:allowed.example%3A${port}`);
    expect(result.didResolutionMetadata).toMatchObject({ error: 'internalError', reason: 'network' });
    expect(accepted()).toBe(before + 1);
    expect(spy.attempts.some((attempt) => attempt === `allowed.example:${port}`)).toBe(true);
  });
});
