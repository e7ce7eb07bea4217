import { createGuardedFetch } from '@phlow/address-policy';
import { Resolver } from 'did-resolver';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebDidDriver, getWebResolver } from './web-did-driver.js';
import { ProxiedDidHost } from './test-hosts.test-util.js';

describe('WebDidDriver against a real HTTPS did:web host', () => {
  const site = new ProxiedDidHost();
  /** A did-resolver Resolver on a driver trusting the host (allowing loopback unless told otherwise). */
  function resolverWith(options: ConstructorParameters<typeof WebDidDriver>[0] = {}): Resolver {
    return new Resolver({ web: new WebDidDriver({ ca: site.host.ca, allowPrivateAddresses: true, ...options }).resolve });
  }

  beforeAll(async () => {
    await site.start();
  });
  afterEach(async () => {
    await site.proxy.clearFaults();
  });
  afterAll(async () => {
    await site.stop();
  });

  it('resolves the root DID and a path DID', async () => {
    const resolver = resolverWith();
    const alice = site.serve('users/alice');
    const root = await resolver.resolve(site.did);
    expect(root.didResolutionMetadata).toEqual({ contentType: 'application/did+ld+json' });
    expect(root.didDocument?.id).toBe(site.did);
    const resolved = await resolver.resolve(`${alice}#key-1`);
    expect(resolved.didDocument?.id).toBe(alice);
    expect(resolved.didDocument?.verificationMethod?.[0]?.publicKeyJwk?.crv).toBe('Ed25519');
  });

  it('refuses a host on a private address by default, before any request reaches it', async () => {
    const requests = site.countRequests();
    const resolver = resolverWith({ allowPrivateAddresses: false });
    const result = await resolver.resolve(site.did);
    requests.dispose();
    expect(result.didDocument).toBeNull();
    expect(result.didResolutionMetadata).toMatchObject({ error: 'notAllowed', reason: 'address' });
    expect(result.didResolutionMetadata['message']).toMatch(/localhost resolves to (127\.0\.0\.1|::1) \(loopback\)/);
    expect(requests.count).toBe(0);
  });

  it('`await using` closes the driver at the end of the scope: its kept-alive connection goes, later resolutions fail', async () => {
    let closed: WebDidDriver | undefined;
    {
      await using driver = new WebDidDriver({ ca: site.host.ca, allowPrivateAddresses: true });
      closed = driver;
      using requests = site.countRequests();
      expect((await new Resolver({ web: driver.resolve }).resolve(site.did)).didDocument?.id).toBe(site.did);
      expect(requests.count).toBe(1);
    }
    const after = await new Resolver({ web: closed.resolve }).resolve(site.did);
    expect(after.didDocument).toBeNull();
    expect(after.didResolutionMetadata['message']).toMatch(/closed/);
  });

  it('checks every address of the host, at connect time, against the allow list', async () => {
    const mixed = resolverWith({
      allowPrivateAddresses: ['127.0.0.1'],
      lookup: async () => [
        { address: '127.0.0.1', family: 4 },
        { address: '10.20.30.40', family: 4 },
      ],
    });
    expect((await mixed.resolve(site.did)).didResolutionMetadata['message']).toMatch(/10\.20\.30\.40 \(private\)/);
    const metadata = resolverWith({ allowPrivateAddresses: false, lookup: async () => [{ address: '169.254.169.254', family: 4 }] });
    expect((await metadata.resolve(site.did)).didResolutionMetadata['message']).toMatch(/169\.254\.169\.254 \(metadata\)/);
    const listed = resolverWith({ allowPrivateAddresses: ['127.0.0.1'], lookup: async () => [{ address: '127.0.0.1', family: 4 }] });
    expect((await listed.resolve(site.did)).didDocument?.id).toBe(site.did);
  });

  it('DNS rebinding: a host that answered an allowed address and then a refused one is refused on its next connection (no cached answer)', async () => {
    let answer = '127.0.0.1';
    let lookups = 0;
    const requests = site.countRequests();
    const resolver = resolverWith({
      allowPrivateAddresses: ['127.0.0.1'],
      maxPooledHosts: 1,
      lookup: async () => (lookups++, [{ address: answer, family: 4 }]),
    });
    expect((await resolver.resolve(site.did)).didDocument?.id).toBe(site.did);
    answer = '127.0.0.2';
    // Another origin (the host's own port): refused at its lookup, and its pool evicts the first one's.
    const direct = await resolver.resolve(`did:web:localhost%3A${site.host.port}`);
    expect(direct.didResolutionMetadata).toMatchObject({ error: 'notAllowed', reason: 'address' });
    // The first host again: its kept-alive socket is gone, so a new connection, a new lookup, refused.
    const again = await resolver.resolve(site.did);
    requests.dispose();
    expect(again.didResolutionMetadata).toMatchObject({ error: 'notAllowed', reason: 'address' });
    expect(again.didResolutionMetadata['message']).toMatch(/localhost resolves to 127\.0\.0\.2 \(loopback\)/);
    expect(lookups).toBe(3);
    expect(requests.count).toBe(1);
  });

  it('a fetch option that skips the guarded dispatcher gets its answers refused while a policy is enforced; a guarded fetch is an error', async () => {
    const skipping = (async () => new Response(JSON.stringify({ id: site.did }), { headers: { 'content-type': 'application/did+json' } })) as typeof fetch;
    const result = await resolverWith({ allowPrivateAddresses: ['127.0.0.1'], fetch: skipping }).resolve(site.did);
    expect(result.didDocument).toBeNull();
    expect(result.didResolutionMetadata).toMatchObject({ error: 'internalError' });
    expect(result.didResolutionMetadata['message']).toMatch(/without using the guarded dispatcher, so the address policy was not applied/);
    expect((await resolverWith({ fetch: skipping }).resolve(site.did)).didDocument?.id).toBe(site.did);
    expect(() => new WebDidDriver({ fetch: createGuardedFetch() })).toThrow(/fetch must not be a guarded fetch/);
  });

  it('fetch: globalThis.fetch means the default (undici’s fetch, on every Node line): the policy still refuses, an allowed host resolves', async () => {
    const requests = site.countRequests();
    const refused = await resolverWith({ allowPrivateAddresses: false, fetch: globalThis.fetch }).resolve(site.did);
    requests.dispose();
    expect(refused.didResolutionMetadata).toMatchObject({ error: 'notAllowed', reason: 'address' });
    expect(requests.count).toBe(0);
    const allowed = await resolverWith({ allowPrivateAddresses: ['localhost'], fetch: globalThis.fetch }).resolve(site.did);
    expect(allowed.didDocument?.id).toBe(site.did);
    // With a dispatcher of the user's (undici 8, like the host's) the global fetch means undici's too.
    const own = new Resolver(getWebResolver({ dispatcher: site.host.dispatcher, allowPrivateAddresses: true, fetch: globalThis.fetch }));
    expect((await own.resolve(site.did)).didDocument?.id).toBe(site.did);
  });

  it('a fetch of yours handing the guarded dispatcher to an older undici is told which fetch to use', async () => {
    const wrapper = ((input: string, init?: RequestInit) => globalThis.fetch(input, init)) as typeof fetch;
    const result = await resolverWith({ allowPrivateAddresses: ['localhost'], fetch: wrapper }).resolve(site.did);
    if (Number(process.versions['undici']?.split('.')[0]) >= 8) {
      expect(result.didDocument?.id).toBe(site.did); // Node 26: its global fetch is undici 8 too
    } else {
      expect(result.didResolutionMetadata).toMatchObject({ error: 'internalError', reason: 'network' });
      expect(result.didResolutionMetadata['message']).toMatch(/must be undici 8's fetch/);
    }
  });

  it('checks the address before the request when given its own dispatcher', async () => {
    const guarded = new Resolver(getWebResolver({ dispatcher: site.host.dispatcher }));
    expect((await guarded.resolve(site.did)).didResolutionMetadata.error).toBe('notAllowed');
    const open = new Resolver(getWebResolver({ dispatcher: site.host.dispatcher, allowPrivateAddresses: true }));
    expect((await open.resolve(site.did)).didDocument?.id).toBe(site.did);
  });

  it('tells a real 404 from a 5xx and a network failure', async () => {
    const resolver = resolverWith();
    expect((await resolver.resolve(site.didFor('nobody'))).didResolutionMetadata).toMatchObject({
      error: 'notFound',
      reason: 'http_status',
      httpStatus: 404,
    });
    site.host.setRawResponse('flaky', { status: 503, body: 'busy' });
    expect((await resolver.resolve(site.didFor('flaky'))).didResolutionMetadata).toMatchObject({
      error: 'internalError',
      reason: 'http_status',
      httpStatus: 503,
    });
    site.host.setRawResponse('moved', { status: 301 });
    expect((await resolver.resolve(site.didFor('moved'))).didResolutionMetadata).toMatchObject({
      error: 'notFound',
      httpStatus: 301,
      message: expect.stringMatching(/redirects are not followed/),
    });
    await site.proxy.setFaults({ refuse: true });
    const unreachable = await resolver.resolve(site.did);
    await site.proxy.clearFaults();
    expect(unreachable.didResolutionMetadata).toMatchObject({ error: 'internalError', reason: 'network' });
    expect(unreachable.didResolutionMetadata['message']).toMatch(/ECONNREFUSED/);
  });

  it('rejects garbage, oversized, mistyped and wrong-id documents with a clear error', async () => {
    const resolver = resolverWith({ maxBytes: 4096 });
    site.host.setRawResponse('garbage', { body: '{"id": "did:web:', contentType: 'application/json' });
    site.host.setRawResponse('array', { body: '[1,2,3]' });
    site.host.setRawResponse('html', { body: '<html></html>', contentType: 'text/html' });
    site.host.setRawResponse('big', { body: JSON.stringify({ id: site.didFor('big'), pad: 'x'.repeat(10_000) }) });
    site.host.setDocument('wrong-id', { id: 'did:web:evil.example' });
    site.host.setDocument('bad-services', { id: site.didFor('bad-services'), service: { type: 'A2AService' } });
    const errors = await Promise.all(
      ['garbage', 'array', 'html', 'big', 'wrong-id', 'bad-services'].map(async (path) => (await resolver.resolve(site.didFor(path))).didResolutionMetadata),
    );
    expect(errors.map((m) => m.error)).toEqual([
      'invalidDidDocument',
      'invalidDidDocument',
      'representationNotSupported',
      'invalidDidDocument',
      'invalidDidDocument',
      'invalidDidDocument',
    ]);
    expect(errors[0]?.['message']).toMatch(/not JSON/);
    expect(errors[1]?.['message']).toMatch(/not a JSON object/);
    expect(errors[2]?.['message']).toMatch(/"text\/html"/);
    expect(errors[3]?.['message']).toMatch(/larger than maxBytes \(4096 bytes\)/);
    expect(errors[4]?.['message']).toMatch(/id "did:web:evil.example" is not the DID/);
    expect(errors[5]?.['message']).toMatch(/service is not an array/);
  });

  it('stops reading a body without content-length once it passes maxBytes', async () => {
    let pulls = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulls++;
        controller.enqueue(new TextEncoder().encode(' '.repeat(1024)));
      },
    });
    const resolver = new Resolver(
      getWebResolver({
        allowPrivateAddresses: true,
        maxBytes: 10_000,
        fetch: async () => new Response(endless, { headers: { 'content-type': 'application/did+json' } }),
      }),
    );
    const result = await resolver.resolve('did:web:example.com');
    expect(result.didResolutionMetadata).toMatchObject({ error: 'invalidDidDocument' });
    expect(pulls).toBeLessThan(20);
  });

  it('answers invalidDid for ids did:web does not allow, without a request', async () => {
    const resolver = resolverWith();
    for (const did of ['did:web:127.0.0.1%3A8443', 'did:web:example.com:..:admin', 'did:web:localhost%3A99999']) {
      expect((await resolver.resolve(did)).didResolutionMetadata.error, did).toBe('invalidDid');
    }
  });

  it("aborts on the caller's signal and on its own timeout", async () => {
    site.host.setRawResponse('hang', { hang: true });
    const controller = new AbortController();
    const pending = resolverWith().resolve(site.didFor('hang'), { signal: controller.signal });
    controller.abort();
    expect((await pending).didResolutionMetadata).toMatchObject({ error: 'internalError', reason: 'aborted' });
    const timed = await resolverWith({ timeoutMs: 50 }).resolve(site.didFor('hang'));
    expect(timed.didResolutionMetadata).toMatchObject({ error: 'internalError', reason: 'timeout' });
    expect(timed.didResolutionMetadata['message']).toMatch(/no answer within 50 ms/);
  });

  it('validates its options, naming the option', () => {
    expect(() => new WebDidDriver({ maxBytes: 0 })).toThrow(/maxBytes must be an integer >= 1; got 0/);
    expect(() => new WebDidDriver({ timeoutMs: -1 })).toThrow(RangeError);
    expect(() => new WebDidDriver({ allowPrivateAddresses: 'yes' as never })).toThrow(/allowPrivateAddresses/);
    expect(() => new WebDidDriver({ ca: 'not a pem' })).toThrow(/ca must be a PEM/);
    expect(() => new WebDidDriver({ timeout: 5 } as never)).toThrow(/unknown option "timeout"/);
  });
});
