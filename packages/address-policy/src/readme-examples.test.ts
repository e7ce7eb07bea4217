// The README's examples, kept here so they compile (typecheck) and run. Keep the two in step.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AddressNotAllowedError, AddressPolicy, GuardedDispatcher, canonicalHost, classifyAddress, createGuardedFetch } from './index.js';
import { CountingServer } from './test-servers.test-util.js';

const server = new CountingServer();
beforeAll(async () => {
  await server.start();
});
afterAll(async () => {
  await server.stop();
});

describe('README examples', () => {
  it('Usage', async () => {
    const urlFromADocument = `http://0x7f.1:${server.port}/`;
    const signal = AbortSignal.timeout(10_000);
    const warnings: string[] = [];
    // The README warns on the console; here the warnings are kept to be checked.
    const console = { warn: (message: string) => warnings.push(message) };

    // --- README: usage ---
    const guardedFetch = createGuardedFetch(); // refuse private addresses (the default)
    try {
      const response = await guardedFetch(urlFromADocument, { signal });
      void response;
    } catch (error) {
      if (AddressNotAllowedError.isInstance(error)) console.warn(error.message); // "127.0.0.1 is a loopback address; refused to connect. ..."
      else throw error;
    }

    // Local development: allow this machine (by address, range or host name).
    const devFetch = createGuardedFetch({ allowPrivateAddresses: ['localhost', '127.0.0.1', '::1'] });
    // --- end ---

    expect(warnings).toEqual([expect.stringMatching(/^127\.0\.0\.1 is a loopback address; refused to connect\./)]);
    expect((await devFetch(`http://localhost:${server.port}/`)).status).toBe(200);
    expect(server.accepted).toBe(1);
    await Promise.all([guardedFetch.close(), devFetch.close()]);
  });

  it('The parts', async () => {
    // --- README: parts ---
    classifyAddress('64:ff9b::a9fe:a9fe'); // 'metadata' (NAT64 of 169.254.169.254)
    canonicalHost('http://2130706433/'); // { hostname: '127.0.0.1', address: '127.0.0.1' }
    const policy = new AddressPolicy({ allowPrivateAddresses: ['10.0.0.0/8'] });
    policy.verdict('db.internal', '10.1.2.3'); // undefined: allowed (listed range)
    const dispatcher = new GuardedDispatcher({ policy }); // fetch(url, { dispatcher })
    // --- end ---

    expect(classifyAddress('64:ff9b::a9fe:a9fe')).toBe('metadata');
    expect(canonicalHost('http://2130706433/')).toEqual({ hostname: '127.0.0.1', address: '127.0.0.1' });
    expect(policy.verdict('db.internal', '10.1.2.3')).toBeUndefined();
    await dispatcher.close();
  });
});
