// The README's examples, kept here so they compile (typecheck) and run. Keep the two in step.
import { readFile } from 'node:fs/promises';
import { CircuitBreakerRegistry } from '@phlow/circuit-breaker';
import { DidWebHost, basicDidDocument } from '@phlow/testkit';
import type { DIDResolutionResult, ResolverRegistry } from 'did-resolver';
import { getResolver } from 'web-did-resolver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CircuitBreakerResolver, getWebResolver } from './index.js';
import { VERSION } from './version.js';

describe('README examples', () => {
  const host = new DidWebHost();
  beforeAll(async () => {
    await host.start();
    host.setDocument('', {
      ...basicDidDocument(host.did),
      service: [{ id: `${host.did}#a2a`, type: 'A2AService', serviceEndpoint: 'https://agent.example/a2a' }],
    });
  });
  afterAll(async () => {
    await host.stop();
  });

  it('Usage', async () => {
    const did = host.did;
    const warnings: unknown[] = [];
    // The README warns on the console; here the warnings are kept to be checked.
    const console = { warn: (...args: unknown[]) => warnings.push(args) };
    const registry = new CircuitBreakerRegistry({ logger: false });
    // --- README: usage (the README drops the test host's ca/allow options, the registry and the DID) ---
    const resolver = new CircuitBreakerResolver(
      { ...getWebResolver({ ca: host.ca, allowPrivateAddresses: ['127.0.0.1', '::1'] }) },
      { registry },
    );

    const { didDocument, didResolutionMetadata } = await resolver.resolve(did);
    if (didResolutionMetadata.error !== undefined) throw new Error(`${did}: ${didResolutionMetadata.error}`);
    if (didResolutionMetadata.stale === true) console.warn('cached DID document', didResolutionMetadata.staleBecause);

    const { url } = await resolver.resolveServiceEndpoint(did, ['A2AService', 'AgentService']);
    // --- end ---
    expect(didDocument?.id).toBe(did);
    expect(url).toBe('https://agent.example/a2a');
    expect(warnings).toEqual([]);
  });

  it('web-did-resolver through the wrapper', async () => {
    const trust = host.trustGlobalAgent();
    const registry = new CircuitBreakerRegistry({ logger: false });
    // --- README: web-did-resolver (the README drops the registry) ---
    // web-did-resolver nests did-resolver 4: same registry shape, other types.
    const resolver = new CircuitBreakerResolver(getResolver() as unknown as ResolverRegistry, { registry });
    // --- end ---
    expect((await resolver.resolve(host.did)).didDocument?.id).toBe(host.did);
    trust.dispose();
  });

  it('Breaker names', async () => {
    const registry = new CircuitBreakerRegistry({ logger: false });
    // A stand-in for key-did-resolver's getResolver(), imported as getKeyResolver (not a dependency here).
    const getKeyResolver = () => ({
      key: async (did: string): Promise<DIDResolutionResult> => ({ didDocument: { id: did }, didDocumentMetadata: {}, didResolutionMetadata: {} }),
    });
    // --- README: breaker names (the README drops the registry) ---
    const resolver = new CircuitBreakerResolver({ ...getWebResolver(), ...getKeyResolver() }, {
      registry,
      name: 'did', // the default
      maxKeys: 500,
      breaker: { timeoutMs: 5_000 },
    });
    resolver.breakerFor('did:web:agents.example.com').getStats(); // did/web:agents.example.com
    resolver.breakerFor('did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK').state; // did/key
    // --- end ---
    expect(Object.keys(registry.getStats()).sort()).toEqual(['did/key', 'did/web:agents.example.com']);
    expect(registry.get('did/key')?.options.timeoutMs).toBe(5_000);
    expect(resolver.name).toBe('did');
  });

  it('VERSION matches package.json', async () => {
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
  });
});
