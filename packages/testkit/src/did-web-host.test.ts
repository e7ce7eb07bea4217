import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { Resolver } from 'did-resolver';
import { getResolver } from 'web-did-resolver';
import { fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DidWebHost, basicDidDocument } from './did-web-host.js';
import { FaultProxy } from './fault-proxy.js';
import { fetchErrorCode } from './test-servers.test-util.js';

const run = promisify(execFile);
// web-did-resolver nests did-resolver 4, whose types differ from did-resolver 6: the registry is the same shape.
const resolver = new Resolver(getResolver() as ConstructorParameters<typeof Resolver>[0]);

describe('DidWebHost', () => {
  const aliceKey = { kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' };
  const host = new DidWebHost({
    documents: {
      '': (did) => basicDidDocument(did),
      'users/alice': (did) => basicDidDocument(did, aliceKey),
    },
  });
  let trust: { dispose(): void };

  beforeAll(async () => {
    await host.start();
    trust = host.trustGlobalAgent();
  });
  afterAll(async () => {
    trust.dispose();
    await host.stop();
  });

  it('names its DIDs after its port', () => {
    expect(host.did).toBe(`did:web:localhost%3A${host.port}`);
    expect(host.didFor('users/alice')).toBe(`did:web:localhost%3A${host.port}:users:alice`);
    expect(host.url).toBe(`https://localhost:${host.port}`);
  });

  it('serves the root DID document over HTTPS to a client trusting its CA', async () => {
    const response = await host.fetch(`${host.url}/.well-known/did.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/did+json');
    const document = (await response.json()) as { id: string; verificationMethod: { publicKeyJwk: { crv: string } }[] };
    expect(document.id).toBe(host.did);
    expect(document.verificationMethod[0]?.publicKeyJwk.crv).toBe('Ed25519');
  });

  it("undici's fetch works with the host's dispatcher, and Node's global fetch fails without it", async () => {
    const trusted = await undiciFetch(`${host.url}/users/alice/did.json`, { dispatcher: host.dispatcher });
    expect(((await trusted.json()) as { id: string }).id).toBe(host.didFor('users/alice'));
    expect(await fetchErrorCode(fetch(`${host.url}/.well-known/did.json`))).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
  });

  it(`Node's global fetch takes the dispatcher only where Node bundles undici 8 (this Node: undici ${process.versions['undici']})`, async () => {
    const attempt = fetch(`${host.url}/.well-known/did.json`, { dispatcher: host.dispatcher } as unknown as RequestInit);
    if (Number(process.versions['undici']?.split('.')[0]) >= 8) {
      expect((await attempt).status).toBe(200);
    } else {
      // What the README tells users of Node 22 and 24: use undici's fetch (or host.fetch) instead.
      expect(await fetchErrorCode(attempt)).toBe('UND_ERR_INVALID_ARG');
    }
  });

  it('has 127.0.0.1 in the certificate too', async () => {
    const response = await host.fetch(`https://127.0.0.1:${host.port}/.well-known/did.json`);
    expect(response.status).toBe(200);
    await response.arrayBuffer();
  });

  it('did-resolver with web-did-resolver resolves the root and a path-based DID', async () => {
    const root = await resolver.resolve(host.did);
    expect(root.didResolutionMetadata.error).toBeUndefined();
    expect(root.didDocument?.id).toBe(host.did);
    const alice = await resolver.resolve(host.didFor('users/alice'));
    expect(alice.didDocument?.id).toBe(host.didFor('users/alice'));
    expect(alice.didDocument?.verificationMethod?.[0]?.publicKeyJwk).toEqual(aliceKey);
  });

  it('changes documents at runtime', async () => {
    const did = host.didFor('agents/bob');
    expect((await resolver.resolve(did)).didResolutionMetadata.error).toBe('notFound');
    host.setDocument('agents/bob', { id: did, service: [{ id: `${did}#a2a`, type: 'A2A', serviceEndpoint: 'http://127.0.0.1:1' }] });
    expect((await resolver.resolve(did)).didDocument?.service?.[0]?.type).toBe('A2A');
    expect(host.deleteDocument('agents/bob')).toBe(true);
    expect((await resolver.resolve(did)).didResolutionMetadata.error).toBe('notFound');
  });

  it('serves raw statuses and bodies for negative tests', async () => {
    host.setRawResponse('broken', { status: 500, body: 'boom', contentType: 'text/plain' });
    const failed = await resolver.resolve(host.didFor('broken'));
    // web-did-resolver reports every failure as notFound; only the message tells a 500 apart.
    expect(failed.didResolutionMetadata).toMatchObject({ error: 'notFound', message: expect.stringContaining('Bad response Internal Server Error') });
    host.setRawResponse('broken', { body: '{ not json' });
    const badJson = await resolver.resolve(host.didFor('broken'));
    expect(badJson.didResolutionMetadata).toMatchObject({ error: 'notFound', message: expect.stringContaining('JSON') });
    host.deleteDocument('broken');
  });

  it('can hang a request until the client gives up', async () => {
    host.setRawResponse('slow', { hang: true });
    const events: (number | 'hang')[] = [];
    const subscription = host.onRequest((event) => events.push(event.status));
    const code = await fetchErrorCode(host.fetch(`${host.url}/slow/did.json`, { signal: AbortSignal.timeout(100) }));
    subscription.dispose();
    expect(code).toBe('TimeoutError');
    expect(events).toEqual(['hang']);
    host.deleteDocument('slow');
  });

  it('writes the CA to a file that NODE_EXTRA_CA_CERTS accepts in a new Node process', async () => {
    expect(await readFile(host.caFile, 'utf8')).toBe(host.ca);
    const script = `fetch(${JSON.stringify(`${host.url}/.well-known/did.json`)}).then(async (r) => console.log(r.status, (await r.json()).id))`;
    const { stdout } = await run(process.execPath, ['-e', script], { env: { ...process.env, NODE_EXTRA_CA_CERTS: host.caFile } });
    expect(stdout.trim()).toBe(`200 ${host.did}`);
  });

  it('works behind a FaultProxy in TCP mode (TLS passes through), and resolution fails when it refuses', async () => {
    const proxy = new FaultProxy({ target: { host: '127.0.0.1', port: host.port } });
    await proxy.start();
    try {
      const did = `did:web:localhost%3A${proxy.port}`;
      const viaProxy = await resolver.resolve(did);
      // The host serves its documents whatever the port in the DID; the id names the host's own port.
      expect(viaProxy.didDocument?.id).toBe(host.did);
      await proxy.setFaults({ refuse: true });
      const refused = await resolver.resolve(did);
      expect(refused.didResolutionMetadata).toMatchObject({ error: 'notFound', message: expect.stringContaining('ECONNREFUSED') });
    } finally {
      await proxy.stop();
    }
  });

  it('rejects bad options and paths naming option, value and what is allowed', () => {
    expect(() => new DidWebHost({ port: 1.5 })).toThrow(new RangeError('DidWebHost: option "port" must be an integer from 0 to 65535 (0 for any free port), got 1.5'));
    expect(() => host.setDocument('/users/x', {})).toThrow(/option "path" must be a DID path/);
    expect(() => host.setDocument('x', [] as never)).toThrow(/option "document" must be a DID document object/);
    expect(() => host.setRawResponse('x', { status: 42 })).toThrow(/"response.status" must be an HTTP status code from 100 to 599, got 42/);
  });
});
