import { SpanStatusCode, context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CircuitBreakerRegistry, isTransient, ManualClock } from '@phlow/circuit-breaker';
import { waitFor } from '@phlow/test-helpers';
import { FaultProxy, generateLoopbackCertificate } from '@phlow/testkit';
import { Resolver, type DIDResolutionResult, type ResolverRegistry } from 'did-resolver';
import { getResolver as getWebDidResolverRegistry } from 'web-did-resolver';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CircuitBreakerResolver, type CircuitBreakerResolverOptions } from './circuit-breaker-resolver.js';
import { ProxiedDidHost, memoryTracing } from './test-hosts.test-util.js';
import { WebDidDriver, type WebDidDriverOptions } from './web-did-driver.js';

describe('CircuitBreakerResolver with did-resolver, against HTTPS did:web hosts behind TCP fault proxies', () => {
  let a: ProxiedDidHost;
  let b: ProxiedDidHost;
  const { exporter, provider } = memoryTracing();
  const tracer = provider.getTracer('test');
  const tracerProvider = provider;

  /** A driver trusting both hosts, loopback allowed unless told otherwise. */
  function driver(options: WebDidDriverOptions = {}): WebDidDriver {
    return new WebDidDriver({ ca: a.host.ca, allowPrivateAddresses: true, ...options });
  }

  /** An in-process driver that resolves every DID it is given (a did:key-style method, no network). */
  const answering = async (did: string): Promise<DIDResolutionResult> => ({ didDocument: { id: did }, didDocumentMetadata: {}, didResolutionMetadata: {} });

  function resolverWith(
    options: CircuitBreakerResolverOptions = {},
    driverOptions: WebDidDriverOptions = {},
  ): { resolver: CircuitBreakerResolver; registry: CircuitBreakerRegistry } {
    const registry = new CircuitBreakerRegistry({ logger: false });
    const resolver = new CircuitBreakerResolver({ web: driver(driverOptions).resolve }, { registry, tracerProvider, ...options });
    return { resolver, registry };
  }

  beforeAll(async () => {
    const certificate = await generateLoopbackCertificate();
    a = new ProxiedDidHost(certificate);
    b = new ProxiedDidHost(certificate);
    await Promise.all([a.start(), b.start()]);
  });
  afterEach(async () => {
    exporter.reset();
    await Promise.all([a.proxy.clearFaults(), b.proxy.clearFaults()]);
  });
  afterAll(async () => {
    await Promise.all([a.stop(), b.stop()]);
  });

  it('resolves through the breaker, caches, and finds A2A service endpoints', async () => {
    const { resolver, registry } = resolverWith();
    expect(resolver).toBeInstanceOf(Resolver);
    const did = a.serve('agents/bob', [
      { id: '#agent', type: ['AgentService', 'LinkedDomains'], serviceEndpoint: ['https://bob.example/agent'] },
      { id: '#a2a', type: 'A2AService', serviceEndpoint: 'https://bob.example/a2a' },
    ]);
    const requests = a.countRequests();
    const first = await resolver.resolve(did);
    expect(first.didDocument?.id).toBe(did);
    expect(first.didResolutionMetadata).toMatchObject({ cache: 'miss', contentType: 'application/did+ld+json' });
    const lookup = await resolver.resolveServiceEndpoint(did, ['A2AService', 'AgentService']);
    expect(lookup.url).toBe('https://bob.example/a2a');
    expect(lookup.services.map((s) => s.id)).toEqual(['#a2a', '#agent']);
    expect(lookup.resolution.didResolutionMetadata['cache']).toBe('hit');
    expect((await resolver.resolveServiceEndpoint(`${did}#a2a`, 'AgentService')).url).toBe('https://bob.example/agent');
    expect((await resolver.resolveServiceEndpoint(did, 'DIDCommMessaging')).url).toBeUndefined();
    expect(requests.count).toBe(1);
    requests.dispose();
    expect(registry.get(`did/web:${a.authority}`)?.getStats()).toMatchObject({ state: 'closed', total_successes: 1 });

    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => [s.name, s.attributes['phlow.did.cache']])).toEqual([
      ['resolve did:web', 'miss'],
      ['resolve did:web', 'hit'],
      ['resolve did:web', 'hit'],
      ['resolve did:web', 'hit'],
    ]);
    expect(spans[0]?.attributes).toMatchObject({
      'phlow.did': did,
      'phlow.did.method': 'web',
      'server.address': 'localhost',
      'server.port': a.proxy.port,
      'phlow.circuit_breaker.name': `did/web:${a.authority}`,
      'phlow.circuit_breaker.state': 'closed',
    });
  });

  it('shares one request among concurrent resolutions of a DID; callers with their own signal do not join', async () => {
    const { resolver, registry } = resolverWith();
    const did = a.serve('agents/popular');
    const requests = a.countRequests();
    const results = await Promise.all(Array.from({ length: 20 }, () => resolver.resolve(did)));
    expect(requests.count).toBe(1);
    expect(results.every((r) => r.didDocument?.id === did && r.didResolutionMetadata['cache'] === 'miss')).toBe(true);
    expect(new Set(results.map((r) => r.didDocument)).size).toBe(20); // each caller its own copy
    expect(registry.get(`did/web:${a.authority}`)?.getStats().total_calls).toBe(1);
    const spans = exporter.getFinishedSpans();
    expect(spans.filter((s) => s.attributes['phlow.did.coalesced'] === true)).toHaveLength(19);

    const withSignals = await Promise.all(
      Array.from({ length: 3 }, () => resolver.resolve(a.didFor('agents/popular'), { signal: new AbortController().signal, cache: false })),
    );
    expect(withSignals.every((r) => r.didDocument?.id === did)).toBe(true);
    expect(requests.count).toBe(4);
    requests.dispose();
  });

  it('opens only the failing host’s breaker: 503s and refused connections on B, A keeps resolving', async () => {
    const { resolver, registry } = resolverWith({ cache: false, clock: new ManualClock() });
    b.host.setRawResponse('', { status: 503, body: 'overloaded' });
    const requests = b.countRequests();
    for (let i = 0; i < 3; i++) {
      const unavailable = await resolver.resolve(b.did);
      expect(unavailable.didResolutionMetadata).toMatchObject({ error: 'internalError', httpStatus: 503 });
      expect(isTransient(unavailable)).toBe(true); // worth a retry policy's second try
    }
    await b.proxy.setFaults({ refuse: true });
    for (let i = 0; i < 2; i++) {
      const refused = await resolver.resolve(b.did);
      expect(refused.didResolutionMetadata).toMatchObject({ error: 'internalError', reason: 'network' });
      expect(isTransient(refused)).toBe(true);
    }
    await b.proxy.clearFaults();
    const rejected = await resolver.resolve(b.did);
    expect(rejected.didResolutionMetadata).toMatchObject({ error: 'internalError', reason: 'circuit_open', retryAfterMs: 60_000 });
    expect(isTransient(rejected)).toBe(false); // our own refusal: retrying meets it again
    expect(requests.count).toBe(3); // the rejected call never reached B
    requests.dispose();
    expect(registry.get(`did/web:${b.authority}`)?.state).toBe('open');

    expect((await resolver.resolve(a.did)).didDocument?.id).toBe(a.did);
    expect(registry.get(`did/web:${a.authority}`)?.state).toBe('closed');
    expect(resolver.breakerFor(a.did).name).toBe(`did/web:${a.authority}`);

    const spans = exporter.getFinishedSpans().filter((s) => s.attributes['server.port'] === b.proxy.port);
    expect(spans.map((s) => s.attributes['error.type'])).toEqual(['internalError', 'internalError', 'internalError', 'internalError', 'internalError', 'CircuitOpenError']);
    expect(spans.map((s) => s.status.code)).toEqual(Array(6).fill(SpanStatusCode.ERROR));
    expect(spans.at(-1)?.attributes['phlow.circuit_breaker.state']).toBe('open');
    expect(spans.at(-1)?.events.map((e) => e.name)).toEqual(['phlow.circuit_breaker.rejected']);
    expect(spans[0]?.attributes).toMatchObject({ 'phlow.did.resolution.error': 'internalError', 'phlow.did.resolution.reason': 'http_status' });
    b.host.setDocument('', { id: b.did });
  });

  it('never trips on 404s, invalid DIDs, unsupported methods or bad documents (the host answered)', async () => {
    const { resolver, registry } = resolverWith({ cache: false }, { maxBytes: 2048 });
    a.host.setRawResponse('garbage', { body: 'not json at all' });
    a.host.setRawResponse('big', { body: JSON.stringify({ id: a.didFor('big'), pad: 'x'.repeat(5000) }) });
    a.host.setDocument('wrong-id', { id: 'did:web:evil.example' });
    const answers: (string | undefined)[] = [];
    for (let round = 0; round < 6; round++) {
      for (const did of [
        a.didFor('missing'),
        a.didFor('garbage'),
        a.didFor('big'),
        a.didFor('wrong-id'),
        'did:web:127.0.0.1%3A8443',
        'did:web:',
        'not a did',
        'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK',
      ]) {
        const answer = await resolver.resolve(did);
        answers.push(answer.didResolutionMetadata.error);
        expect(isTransient(answer), did).toBe(false); // a permanent answer: repeating it gets the same
      }
    }
    expect(new Set(answers)).toEqual(new Set(['notFound', 'invalidDidDocument', 'invalidDid', 'unsupportedDidMethod']));
    expect(registry.get(`did/web:${a.authority}`)?.getStats()).toMatchObject({ state: 'closed', failure_count: 0, total_failures: 0 });
    expect(exporter.getFinishedSpans().every((s) => s.status.code !== SpanStatusCode.ERROR)).toBe(true);
  });

  it('aborts a hanging host at the breaker timeout: the proxy sees the client close the socket', async () => {
    const clock = new ManualClock();
    // The driver's own timeout is off: the abort below can only come from the breaker's timeout.
    const { resolver, registry } = resolverWith({ clock }, { timeoutMs: 0 });
    await a.proxy.setFaults({ blackHole: true });
    const closedByClient: number[] = [];
    const subscription = a.proxy.onConnectionClose((event) => {
      if (event.closedBy === 'client') closedByClient.push(event.id);
    });
    const accepted = a.proxy.stats().connections.accepted;
    const pending = resolver.resolve(a.didFor('hangs'));
    await waitFor('the resolver to connect', () => a.proxy.stats().connections.accepted > accepted);
    clock.advance(16_000); // past the guide's 15 s timeout
    const result = await pending;
    expect(result.didResolutionMetadata).toMatchObject({ error: 'internalError', reason: 'timeout' });
    expect(result.didResolutionMetadata['message']).toMatch(/timed out after 15000 ms/);
    // Connection ids count from 1: the resolution's own connection is the one accepted after `accepted`.
    await waitFor('the client to close its connection', () => closedByClient.includes(accepted + 1));
    subscription.dispose();
    expect(registry.get(`did/web:${a.authority}`)?.getStats()).toMatchObject({ total_timeouts: 1, failure_count: 1 });
    const span = exporter.getFinishedSpans().at(-1);
    expect(span?.events.map((e) => e.name)).toContain('phlow.circuit_breaker.timeout');
  });

  it('serves a recent document, marked stale, while the host fails and while its breaker is open', async () => {
    const clock = new ManualClock();
    const { resolver, registry } = resolverWith({ clock, cache: { ttlMs: 1_000, staleIfErrorMs: 120_000 } });
    const did = a.serve('stale/agent', [{ id: '#a2a', type: 'A2AService', serviceEndpoint: 'https://agent.example/a2a' }]);
    expect((await resolver.resolve(did)).didResolutionMetadata['cache']).toBe('miss');
    clock.advance(1_001);
    await a.proxy.setFaults({ refuse: true });
    for (let i = 0; i < 5; i++) {
      const stale = await resolver.resolve(did);
      expect(stale.didDocument?.id).toBe(did);
      expect(stale.didResolutionMetadata).toMatchObject({ cache: 'stale', stale: true, staleBecause: { error: 'internalError', reason: 'network' } });
    }
    const breaker = registry.get(`did/web:${a.authority}`);
    expect(breaker?.state).toBe('open');
    const whileOpen = await resolver.resolveServiceEndpoint(did, 'A2AService');
    expect(whileOpen.url).toBe('https://agent.example/a2a');
    expect(whileOpen.resolution.didResolutionMetadata).toMatchObject({
      stale: true,
      staleAgeMs: 1_001,
      staleBecause: { reason: 'circuit_open' },
    });
    expect(exporter.getFinishedSpans().at(-1)?.attributes['phlow.did.cache']).toBe('stale');

    // No stale copy for a DID never resolved: the open breaker's answer comes through.
    expect((await resolver.resolve(a.didFor('never-seen'))).didResolutionMetadata).toMatchObject({ reason: 'circuit_open', cache: 'miss' });

    await a.proxy.clearFaults();
    clock.advance(60_000); // the guide's recovery timeout: the next call is the probe
    const recovered = await resolver.resolve(did);
    expect(recovered.didResolutionMetadata).toEqual({ contentType: 'application/did+ld+json', cache: 'miss' });
    expect(breaker?.state).toBe('closed');

    clock.advance(1_001 + 120_000); // past the stale window: a failure is a failure again
    await a.proxy.setFaults({ refuse: true });
    expect((await resolver.resolve(did)).didResolutionMetadata).toMatchObject({ error: 'internalError', cache: 'miss' });
  });

  it('refuses did:web hosts on private addresses by default; the refusal never trips the breaker', async () => {
    const { resolver, registry } = resolverWith({}, { allowPrivateAddresses: false });
    const requests = a.countRequests();
    for (let i = 0; i < 6; i++) {
      const refused = await resolver.resolve(a.did);
      expect(refused.didResolutionMetadata).toMatchObject({ error: 'notAllowed', reason: 'address' });
      expect(refused.didResolutionMetadata['message']).toMatch(/localhost resolves to (127\.0\.0\.1|::1) \(loopback\); refused/);
    }
    expect(requests.count).toBe(0);
    requests.dispose();
    expect(registry.get(`did/web:${a.authority}`)?.getStats()).toMatchObject({ state: 'closed', total_ignored: 6 });
  });

  it("treats the caller's abort as no failure and no error", async () => {
    const { resolver, registry } = resolverWith({ cache: false });
    a.host.setRawResponse('slow', { hang: true });
    const controller = new AbortController();
    const pending = resolver.resolve(a.didFor('slow'), { signal: controller.signal });
    await waitFor('the call to start', () => registry.get(`did/web:${a.authority}`)?.inFlight === 1);
    controller.abort();
    expect((await pending).didResolutionMetadata).toMatchObject({ error: 'internalError', reason: 'aborted' });
    expect(registry.get(`did/web:${a.authority}`)?.getStats().failure_count).toBe(0);
    expect(exporter.getFinishedSpans().at(-1)?.status.code).not.toBe(SpanStatusCode.ERROR);
  });

  it('keeps web-did-resolver usable: its 5xx and network errors count, its 404s do not', async () => {
    const trust = a.host.trustGlobalAgent();
    try {
      const registry = new CircuitBreakerRegistry({ logger: false });
      const clock = new ManualClock();
      // web-did-resolver nests did-resolver 4: same registry shape, different types.
      const resolver = new CircuitBreakerResolver(getWebDidResolverRegistry() as unknown as ResolverRegistry, { registry, cache: false, tracerProvider, clock });
      expect((await resolver.resolve(a.did)).didDocument?.id).toBe(a.did);
      // It cannot be aborted, but the breaker's timeout still answers the caller (its request stays open).
      a.host.setRawResponse('hangs-legacy', { hang: true });
      const pending = resolver.resolve(a.didFor('hangs-legacy'));
      await waitFor('the call to start', () => registry.get(`did/web:${a.authority}`)?.inFlight === 1);
      clock.advance(16_000);
      expect((await pending).didResolutionMetadata).toMatchObject({ error: 'internalError', reason: 'timeout' });
      registry.get(`did/web:${a.authority}`)?.reset();
      for (let i = 0; i < 6; i++) expect((await resolver.resolve(a.didFor('absent'))).didResolutionMetadata.error).toBe('notFound');
      const breaker = registry.get(`did/web:${a.authority}`);
      expect(breaker?.getStats()).toMatchObject({ state: 'closed', failure_count: 0 });
      a.host.setRawResponse('down', { status: 502 });
      for (let i = 0; i < 3; i++) await resolver.resolve(a.didFor('down'));
      await a.proxy.setFaults({ refuse: true });
      for (let i = 0; i < 2; i++) await resolver.resolve(a.did);
      expect(breaker?.state).toBe('open');
      expect((await resolver.resolve(a.did)).didResolutionMetadata).toMatchObject({ reason: 'circuit_open' });
    } finally {
      trust.dispose();
    }
  });

  it('gives other methods one breaker per method: a throwing driver trips it, did:web hosts are unaffected', async () => {
    const registry = new CircuitBreakerRegistry({ logger: false });
    let calls = 0;
    const resolver = new CircuitBreakerResolver(
      {
        web: driver().resolve,
        example: async () => {
          calls++;
          throw new Error('ledger node unreachable');
        },
      },
      { registry, tracerProvider, name: 'agents', breaker: { failureThreshold: 2 } },
    );
    for (let i = 0; i < 2; i++) {
      expect((await resolver.resolve(`did:example:${i}`)).didResolutionMetadata).toMatchObject({
        error: 'internalError',
        reason: 'driver_error',
        message: expect.stringMatching(/the driver threw Error: ledger node unreachable/),
      });
    }
    expect((await resolver.resolve('did:example:2')).didResolutionMetadata['reason']).toBe('circuit_open');
    expect(calls).toBe(2);
    expect(registry.get('agents/example')?.state).toBe('open');
    expect((await resolver.resolve(a.did)).didDocument?.id).toBe(a.did);
    expect(registry.get(`agents/web:${a.authority}`)?.state).toBe('closed');
  });

  it("makes the resolve span the active span inside the driver, under the caller's span", async () => {
    const contextManager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(contextManager);
    try {
      const registry = new CircuitBreakerRegistry({ logger: false });
      const resolver = new CircuitBreakerResolver(
        {
          example: async (did) => {
            tracer.startSpan('driver work').end();
            return { didDocument: { id: did }, didDocumentMetadata: {}, didResolutionMetadata: {} };
          },
        },
        { registry, tracerProvider },
      );
      await tracer.startActiveSpan('agent task', async (parent) => {
        await resolver.resolve('did:example:123');
        parent.end();
      });
      const spans = exporter.getFinishedSpans();
      const byName = (name: string) => spans.find((s) => s.name === name);
      expect(byName('driver work')?.parentSpanContext?.spanId).toBe(byName('resolve did:example')?.spanContext().spanId);
      expect(byName('resolve did:example')?.parentSpanContext?.spanId).toBe(byName('agent task')?.spanContext().spanId);
      expect(byName('resolve did:example')?.attributes).toMatchObject({ 'phlow.did.method': 'example', 'phlow.circuit_breaker.name': 'did/example' });
    } finally {
      context.disable();
    }
  });

  it('a family full of open host breakers still admits a new host: an open host called once makes room', async () => {
    const { resolver, registry } = resolverWith({ cache: false, maxKeys: 1, breaker: { failureThreshold: 1 }, clock: new ManualClock() });
    await b.proxy.setFaults({ refuse: true });
    await resolver.resolve(b.did);
    expect(registry.get(`did/web:${b.authority}`)?.state).toBe('open');
    const admitted = await resolver.resolve(a.did);
    expect(admitted.didResolutionMetadata.error).toBeUndefined();
    expect(admitted.didDocument?.id).toBe(a.did);
    expect(registry.get(`did/web:${a.authority}`)?.state).toBe('closed');
    expect(registry.get(`did/web:${b.authority}`)).toBeUndefined();
  });

  it('takes a failure policy of the user’s in place of the default threshold', async () => {
    const registry = new CircuitBreakerRegistry({ logger: false });
    const failurePolicy = { type: 'count-window', size: 4, minimumCalls: 2, failureRateThreshold: 0.5 } as const;
    const resolver = new CircuitBreakerResolver({ web: driver().resolve }, { registry, breaker: { failurePolicy } });
    const result = await resolver.resolve(a.did);
    expect(result.didResolutionMetadata.error).toBeUndefined();
    expect(registry.get(`did/web:${a.authority}`)?.options.failurePolicy).toEqual(failurePolicy);
    expect(() => new CircuitBreakerResolver({ web: driver().resolve }, { registry, breaker: 3 as never })).toThrow(
      /^CircuitBreakerResolver options: breaker must be an object of circuit breaker options; got 3$/,
    );
  });

  it('validates its options, naming the option', async () => {
    const registry = new CircuitBreakerRegistry({ logger: false });
    const web = driver().resolve;
    expect(() => new CircuitBreakerResolver({ web }, { registry, breaker: { classifyResult: () => 'success' } as never })).toThrow(
      /breaker.classifyResult is not accepted/,
    );
    expect(() => new CircuitBreakerResolver({ web }, { registry, breaker: { clock: new ManualClock() } as never })).toThrow(
      /breaker.clock is not accepted: pass clock to the resolver/,
    );
    expect(() => new CircuitBreakerResolver({ web }, { registry, cache: { ttlMs: -1 } })).toThrow(/cache.ttlMs must be a number >= 0/);
    expect(() => new CircuitBreakerResolver({ web }, { registry, maxKeys: 0 })).toThrow(/^CircuitBreakerResolver options: maxKeys must be an integer >= 1; got 0$/);
    expect(() => new CircuitBreakerResolver({ web }, { registry, idleTtlMs: -5 })).toThrow(/^CircuitBreakerResolver options: idleTtlMs must be/);
    expect(() => new CircuitBreakerResolver({ web }, { registry, name: 'did/web' })).toThrow(/^CircuitBreakerResolver options: name must be a non-empty string without "\/"/);
    expect(() => new CircuitBreakerResolver({ web }, { registry, tracerProvider: {} as never })).toThrow(/^CircuitBreakerResolver options: tracerProvider must be/);
    // The names this option had before are refused with the list of today's.
    for (const old of ['maxHosts', 'hostIdleTtlMs', 'tracer']) {
      expect(() => new CircuitBreakerResolver({ web }, { registry, [old]: 1 } as never)).toThrow(
        new RegExp(`^CircuitBreakerResolver options: unknown option "${old}"; allowed: name, registry, breaker, maxKeys, idleTtlMs, tracerProvider, cache, classifyResult, clock$`),
      );
    }
    expect(() => new CircuitBreakerResolver({ web: 'nope' } as never, { registry })).toThrow(/registry.web must be a function/);
    await expect(resolverWith().resolver.resolveServiceEndpoint(a.did, [])).rejects.toThrow(/types must be/);
  });

  it('names every breaker in one family: did/web:<host[:port]> per did:web host, did/<method> per other method', async () => {
    const registry = new CircuitBreakerRegistry({ logger: false });
    const resolver = new CircuitBreakerResolver({ web: answering, key: answering }, { registry, tracerProvider });
    expect(resolver.name).toBe('did');
    expect(resolver.breakerFor('did:web:Agents.Example.COM').name).toBe('did/web:agents.example.com');
    expect(resolver.breakerFor('did:web:agents.example.com%3A8443:users:alice#key-1').name).toBe('did/web:agents.example.com:8443');
    expect(resolver.breakerFor('did:web:agents.example.com%3A443').name).toBe('did/web:agents.example.com');
    expect(resolver.breakerFor('did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK').name).toBe('did/key');
    // The breaker a resolution goes through is the one breakerFor names (and asking did not replace it).
    const keyBreaker = resolver.breakerFor('did:key:z6Mk1');
    await resolver.resolve('did:key:z6Mk1');
    expect(keyBreaker.getStats().total_successes).toBe(1);
    expect(registry.get('did/key')).toBe(keyBreaker);
    const named = new CircuitBreakerResolver({ web: answering }, { registry, name: 'strangers' });
    expect(named.name).toBe('strangers');
    expect(named.breakerFor('did:web:agents.example.com').name).toBe('strangers/web:agents.example.com');
  });

  it('breakerFor refuses, naming itself and the reason, a DID that resolve() answers without a breaker', () => {
    const resolver = new CircuitBreakerResolver({ web: answering, key: answering }, { registry: new CircuitBreakerRegistry({ logger: false }) });
    expect(() => resolver.breakerFor('not a did')).toThrow(new TypeError('breakerFor: "not a did" is not a DID (did:<method>:<id>)'));
    expect(() => resolver.breakerFor(42 as never)).toThrow(/^breakerFor: 42 is not a DID/);
    expect(() => resolver.breakerFor('did:example:1')).toThrow(/^breakerFor: did:example:1 goes through no breaker: no driver for did:example/);
    expect(() => resolver.breakerFor('did:constructor:1')).toThrow(/no driver for did:constructor/);
    expect(() => resolver.breakerFor('did:web:127.0.0.1%3A8443')).toThrow(/^breakerFor: did:web:127.0.0.1%3A8443: the did:web host "127.0.0.1" is an IP address/);
    expect(() => resolver.breakerFor('did:web:agents.example.com:..')).toThrow(/^breakerFor: .*path segment "\.\."/);
  });

  it('a method breaker never meets a did:web host breaker: `:` ends a method, registry keys must be method names', async () => {
    const registry = new CircuitBreakerRegistry({ logger: false });
    const resolver = new CircuitBreakerResolver({ web: answering, key: answering }, { registry, cache: false });
    // A did:key id spelling a web key, and a did:web host spelling a method: each stays on its own path.
    await resolver.resolve('did:key:web:agents.example.com');
    await resolver.resolve('did:web:key');
    await resolver.resolve('did:web%3Aagents.example.com:1'); // not a DID: the method stops at the first `:`
    expect((await resolver.resolve('did:constructor:1')).didResolutionMetadata.error).toBe('unsupportedDidMethod');
    expect(Object.keys(registry.getStats()).sort()).toEqual(['did/key', 'did/web:key']);
    expect(() => new CircuitBreakerResolver({ 'web:agents.example.com': answering }, { registry })).toThrow(
      /^the resolver registry's keys must be DID method names \(lower-case letters and digits\); got "web:agents.example.com"$/,
    );
  });

  it('a flood of one-off hostile did:web hosts at maxKeys makes room among themselves: methods and hosts in regular use keep their breakers', async () => {
    // Every hostile name resolves to a loopback listener that resets each connection: a network failure.
    const sink = new FaultProxy({ target: 'tcp://127.0.0.1:9', mode: 'tcp', faults: { reset: true }, control: false });
    await sink.start();
    try {
      const lookup = async (): Promise<{ address: string; family: number }[]> => [{ address: '127.0.0.1', family: 4 }];
      const registry = new CircuitBreakerRegistry({ logger: false });
      const resolver = new CircuitBreakerResolver(
        { web: driver({ lookup, allowPrivateAddresses: ['127.0.0.1'] }).resolve, key: answering },
        { registry, tracerProvider, cache: false, maxKeys: 4, breaker: { failureThreshold: 1 }, clock: new ManualClock() },
      );
      const keyDid = 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK';
      for (let i = 0; i < 2; i++) {
        expect((await resolver.resolve(keyDid)).didDocument?.id).toBe(keyDid);
        expect((await resolver.resolve(a.did)).didDocument?.id).toBe(a.did);
      }
      const keyBreaker = registry.get('did/key');
      const hostBreaker = registry.get(`did/web:${a.authority}`);
      const hostile = Array.from({ length: 40 }, (_, i) => `did:web:h${i}.attacker.example%3A${sink.port}`);
      for (const did of hostile) {
        expect((await resolver.resolve(did)).didResolutionMetadata).toMatchObject({ error: 'internalError', reason: 'network' });
      }
      expect(sink.stats().connections.accepted).toBe(40);
      // Each hostile host opened its breaker and was then evicted by the next one; the regulars stayed.
      expect(registry.get(`did/web:h39.attacker.example:${sink.port}`)?.state).toBe('open');
      expect(registry.get(`did/web:h0.attacker.example:${sink.port}`)).toBeUndefined();
      expect(Object.keys(registry.getStats()).filter((name) => name.includes('attacker'))).toHaveLength(2);
      expect(registry.get('did/key')).toBe(keyBreaker);
      expect(registry.get(`did/web:${a.authority}`)).toBe(hostBreaker);
      expect((await resolver.resolve(keyDid)).didDocument?.id).toBe(keyDid);
      expect((await resolver.resolve(a.did)).didDocument?.id).toBe(a.did);
      expect(keyBreaker?.getStats()).toMatchObject({ state: 'closed', total_successes: 3 });
      expect(hostBreaker?.getStats()).toMatchObject({ state: 'closed', total_successes: 3 });
    } finally {
      await sink.stop();
    }
  });
});
