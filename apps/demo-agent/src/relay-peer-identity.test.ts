/**
 * A hostile DID cannot speak for a real peer. Everything here is real: the registry is the testkit's
 * PostgREST stand-in (PGlite) read through @phlow/supabase, both did:web hosts are real HTTPS hosts
 * resolved through @phlow/did-resolver, the peers are real @a2a-js/sdk servers (one behind a fault
 * proxy that answers 503). Only time is a ManualClock, so the recovery timeout passes without sleeping.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { DIDResolver } from 'did-resolver';
import { CircuitBreakerRegistry, ManualClock } from '@phlow/circuit-breaker';
import { CircuitBreakerResolver, getWebResolver } from '@phlow/did-resolver';
import { breakerFor, createClient } from '@phlow/supabase';
import { A2aPeer, DidWebHost, FaultProxy, SupabaseStandIn, basicDidDocument, generateLoopbackCertificate } from '@phlow/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageOutbox } from './outbox.js';
import { Relay, type RelayFailure, type RelayOptions, type RelaySuccess } from './relay.js';
import { SCHEMA_SQL } from './stand-ins.js';

const RECOVERY_MS = 10_000;
const clock = new ManualClock();
const registryDb = new SupabaseStandIn({ schemaSql: SCHEMA_SQL });
const alpha = new A2aPeer({ name: 'alpha' });
const gamma = new A2aPeer({ name: 'gamma' });
const bogus = new A2aPeer({ name: 'bogus' });
let failing: FaultProxy;
let alphaLink: FaultProxy;
let trusted: DidWebHost;
let hostile: DidWebHost;
let registry: CircuitBreakerRegistry;
let outbox: MessageOutbox | undefined;
let outboxFiles = 0;
const outboxDir = mkdtempSync(join(tmpdir(), 'phlow-demo-outbox-'));

const agentDid = (id: string) => trusted.didFor(`agents/${id}`);
const hostileDid = (id: string) => hostile.didFor(`agents/${id}`);
const a2aDocument = (did: string, url: string) => ({ ...basicDidDocument(did), service: [{ id: `${did}#a2a`, type: 'A2AService', serviceEndpoint: url }] });

beforeAll(async () => {
  // Both hosts on loopback with one certificate (SAN localhost): the relay trusts it, as it would a public CA.
  const certificate = await generateLoopbackCertificate();
  trusted = new DidWebHost({ certificate });
  hostile = new DidWebHost({ certificate });
  await Promise.all([registryDb.start(), alpha.start(), gamma.start(), bogus.start(), trusted.start(), hostile.start()]);
  failing = new FaultProxy({ target: bogus.url });
  alphaLink = new FaultProxy({ target: alpha.url });
  await Promise.all([failing.start(), alphaLink.start()]);
  await failing.setFaults({ errorStatus: { status: 503 } });
  await registryDb.query('insert into agent_cards (id, name, did, url) values ($1, $2, $3, $4)', ['alpha', 'Alpha', agentDid('alpha'), alphaLink.url]);
  trusted.setDocument('agents/alpha', a2aDocument(agentDid('alpha'), alphaLink.url));
  trusted.setDocument('agents/gamma', a2aDocument(agentDid('gamma'), gamma.url));
  // The attacker's host claims agents alpha and gamma, with endpoints on a server that fails.
  hostile.setDocument('agents/alpha', a2aDocument(hostileDid('alpha'), failing.url));
  hostile.setDocument('agents/gamma', a2aDocument(hostileDid('gamma'), failing.url));
}, 120_000);
afterAll(async () => {
  await outbox?.close();
  rmSync(outboxDir, { recursive: true, force: true });
  await Promise.all([failing?.stop(), alphaLink?.stop()]);
  await Promise.all([registryDb.stop(), alpha.stop(), gamma.stop(), bogus.stop(), trusted?.stop(), hostile?.stop()]);
});

function relayWith(
  drivers: Record<string, DIDResolver>,
  peerAddresses: RelayOptions['peerAddresses'] = ['127.0.0.1', '::1'],
  // The attacker's endpoints are on loopback here: strangers get loopback too unless a test says otherwise.
  didPeerAddresses: RelayOptions['didPeerAddresses'] | 'relay default' = peerAddresses,
  didPeerDrivers?: Record<string, DIDResolver>,
  maxDidPeers?: number,
): Relay {
  registry = new CircuitBreakerRegistry();
  const supabase = createClient(registryDb.url, 'anon', {
    protection: { registry, breaker: { failureThreshold: 3, recoveryTimeoutMs: RECOVERY_MS } },
    auth: { persistSession: false, autoRefreshToken: false },
  });
  void outbox?.close();
  outbox = new MessageOutbox(supabase, { path: join(outboxDir, `outbox-${outboxFiles++}.sqlite`), breaker: () => breakerFor(supabase) });
  const resolver = new CircuitBreakerResolver(drivers, { registry, cache: false });
  const didPeerResolver = didPeerDrivers === undefined ? undefined : new CircuitBreakerResolver(didPeerDrivers, { registry, name: 'foreign-did', cache: false });
  return new Relay({
    registry,
    supabase,
    resolver,
    ...(didPeerResolver === undefined ? {} : { didPeerResolver }),
    ...(maxDidPeers === undefined ? {} : { maxDidPeers }),
    didWebHost: trusted.did.slice('did:web:'.length),
    breaker: { failureThreshold: 3, recoveryTimeoutMs: RECOVERY_MS, timeoutMs: 10_000, clock },
    peerAddresses,
    ...(didPeerAddresses === 'relay default' ? {} : { didPeerAddresses }),
    outbox: outbox!,
  });
}

const guardedDrivers = () => getWebResolver({ ca: trusted.ca, allowPrivateAddresses: ['127.0.0.1', '::1'] });

describe('a DID on another host claiming a real peer', () => {
  it('gets a breaker of its own: failures through it never open the real peer\'s, and the real peer keeps working', async () => {
    const relay = relayWith(guardedDrivers());
    expect(await relay.relay('alpha', 'warm')).toMatchObject({ ok: true, breaker: 'a2a/alpha' });
    const target = hostileDid('alpha');
    for (let i = 0; i < 3; i++) {
      const answer = (await relay.relay(target, `attack ${i}`)) as RelayFailure;
      expect(answer).toMatchObject({ ok: false, status: 502, peer: target, breaker: `a2a-did/${target}` });
    }
    expect((await relay.relay(target, 'attack 4')) as RelayFailure).toMatchObject({ ok: false, status: 503, breaker: `a2a-did/${target}` });
    expect(registry.get(`a2a-did/${target}`)?.state).toBe('open');
    expect(failing.stats().requests.received).toBeGreaterThanOrEqual(3);

    expect(registry.get('a2a/alpha')?.getStats()).toMatchObject({ state: 'closed', failure_count: 0 });
    const real = (await relay.relay('alpha', 'still you?')) as RelaySuccess;
    expect(real).toMatchObject({ ok: true, peer: 'alpha', breaker: 'a2a/alpha', via: 'registry', url: alphaLink.url, reply: 'echo: still you?' });
    // Recorded under the DID, never as alpha.
    const rows = await registryDb.query("select peer_id from messages where request like 'attack%'");
    expect(rows.every((row) => row['peer_id'] === target)).toBe(true);
  });

  it('cannot change where the real peer is reached: the probe after an outage goes to the registry\'s address', async () => {
    const relay = relayWith(guardedDrivers());
    // The attacker's DID for alpha is relayed to before and during alpha's outage.
    await relay.relay(hostileDid('alpha'), 'overwrite?');
    expect(await relay.relay('alpha', 'warm')).toMatchObject({ ok: true, url: alphaLink.url });
    await relay.relay(hostileDid('alpha'), 'overwrite?');
    // alpha really fails: its breaker opens.
    await alphaLink.setFaults({ refuse: true });
    for (let i = 0; i < 3; i++) expect(await relay.relay('alpha', `down ${i}`)).toMatchObject({ ok: false, status: 502, peer: 'alpha' });
    expect(registry.get('a2a/alpha')?.state).toBe('open');
    await relay.relay(hostileDid('alpha'), 'overwrite?');
    await alphaLink.clearFaults();
    const before = failing.stats().requests.received;
    clock.advance(RECOVERY_MS);
    // The first relay after the recovery timeout is the probe: to alpha's address, never the attacker's.
    const probe = (await relay.relay('alpha', 'probe')) as RelaySuccess;
    expect(probe).toMatchObject({ ok: true, url: alphaLink.url, reply: 'echo: probe' });
    expect(registry.get('a2a/alpha')?.state).toBe('closed');
    expect(failing.stats().requests.received).toBe(before);
    expect(await registryDb.query("select url from agent_cards where id = 'alpha'")).toEqual([{ url: alphaLink.url }]);
  });

  it('an agent DID on the configured host keeps its agent id; the same id on another host, or another path on our host, does not', async () => {
    const relay = relayWith(guardedDrivers());
    expect(await relay.relay(agentDid('gamma'), 'by DID')).toMatchObject({ ok: true, peer: 'gamma', breaker: 'a2a/gamma', via: 'did', reply: 'echo: by DID' });
    expect(await relay.relay('gamma', 'by id')).toMatchObject({ ok: true, peer: 'gamma', breaker: 'a2a/gamma', via: 'did' });
    expect(await relay.relay(hostileDid('gamma'), 'claim')).toMatchObject({ ok: false, peer: hostileDid('gamma'), breaker: `a2a-did/${hostileDid('gamma')}` });
    // Another path on the configured host that ends in agents:gamma is not agent gamma.
    trusted.setDocument('x/agents/gamma', a2aDocument(trusted.didFor('x/agents/gamma'), failing.url));
    expect(await relay.relay(trusted.didFor('x/agents/gamma'), 'claim')).toMatchObject({ ok: false, breaker: `a2a-did/${trusted.didFor('x/agents/gamma')}` });
    expect(registry.get('a2a/gamma')?.getStats()).toMatchObject({ state: 'closed', failure_count: 0 });
  });

  it('a document whose id is another DID is refused, even from a driver that does not check it (as web-did-resolver does not)', async () => {
    // The attacker's document for "beta" says it is our agent alpha's DID, with the failing endpoint.
    hostile.setDocument('agents/beta', a2aDocument(agentDid('alpha'), failing.url));
    const checked = relayWith(guardedDrivers());
    expect(await checked.relay(hostileDid('beta'), 'x')).toMatchObject({ ok: false, status: 502, peer: hostileDid('beta') });

    // A lax driver: fetches the document over real HTTPS and returns it whatever its id says.
    const lax: DIDResolver = async (did) => {
      const path = did.split(':').slice(3).join('/');
      const response = await hostile.fetch(`${hostile.url}/${path}/did.json`);
      return { didDocument: (await response.json()) as never, didDocumentMetadata: {}, didResolutionMetadata: {} };
    };
    const relay = relayWith({ web: lax });
    const before = failing.stats().requests.received;
    const answer = (await relay.relay(hostileDid('beta'), 'x')) as RelayFailure;
    expect(answer).toMatchObject({ ok: false, status: 502, peer: hostileDid('beta') });
    expect(answer.message).toContain(`its id "${agentDid('alpha')}" is not the DID`);
    expect(failing.stats().requests.received).toBe(before);
    expect(registry.get('a2a/alpha')).toBeUndefined();
  });

  it('refuses targets that are neither an agent id nor a DID, before any lookup', async () => {
    const relay = relayWith(guardedDrivers());
    let lookups = 0;
    const counting = registryDb.onRequest(() => lookups++);
    for (const target of ['did:web:evil.example/agents/alpha', 'did:web:evil.example:agents:alpha#frag', 'alpha/../beta', `did:web:${'a'.repeat(300)}`, 'al pha', '']) {
      expect(await relay.relay(target, 'x')).toMatchObject({ ok: false, status: 400 });
    }
    counting.dispose();
    expect(lookups).toBe(0);
  });

  it('by default an endpoint on a private address is not contacted at all, and counts against no breaker', async () => {
    const relay = relayWith(guardedDrivers(), false);
    const before = failing.stats().requests.received;
    for (let i = 0; i < 4; i++) {
      const answer = (await relay.relay(hostileDid('alpha'), 'to loopback?')) as RelayFailure;
      expect(answer).toMatchObject({ ok: false, status: 502, peer: hostileDid('alpha') });
      expect(answer.message).toBe(`Peer ${hostileDid('alpha')} is not reachable here: 127.0.0.1 is a loopback address (A2A_ALLOW_PRIVATE=1 allows private addresses)`);
    }
    expect(failing.stats().requests.received).toBe(before);
    // Refused before its breaker is even made, or counted as nothing by it.
    const stats = registry.get(`a2a-did/${hostileDid('alpha')}`)?.getStats();
    expect(stats === undefined || (stats.state === 'closed' && stats.total_failures === 0)).toBe(true);
  });
  it('strangers\' endpoints get no private address even when the operator\'s peers may use loopback (the default)', async () => {
    const relay = relayWith(guardedDrivers(), ['127.0.0.1', '::1'], 'relay default');
    const before = failing.stats().requests.received;
    for (let i = 0; i < 4; i++) {
      const answer = (await relay.relay(hostileDid('alpha'), 'to loopback?')) as RelayFailure;
      expect(answer).toMatchObject({ ok: false, status: 502, peer: hostileDid('alpha') });
      expect(answer.message).toMatch(/is not reachable here: 127\.0\.0\.1 is a loopback address/);
    }
    expect(failing.stats().requests.received).toBe(before);
    // The operator's peers on loopback still work: the registry's alpha, the configured host's gamma.
    expect(await relay.relay('alpha', 'operator')).toMatchObject({ ok: true, breaker: 'a2a/alpha', reply: 'echo: operator' });
    expect(await relay.relay(agentDid('gamma'), 'operator')).toMatchObject({ ok: true, breaker: 'a2a/gamma', reply: 'echo: operator' });
  });
  it('a DID of a method nobody resolves is a 400, not a 503 that tells clients to retry', async () => {
    const relay = relayWith(guardedDrivers());
    for (const did of ['did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK', 'did:example:123']) {
      const answer = (await relay.relay(did, 'x')) as RelayFailure;
      expect(answer).toMatchObject({ ok: false, status: 400, peer: did });
      expect(answer.message).toBe(`Peer ${did}: DID method "${did.split(':')[1]}" is not supported; use did:web or an agent id`);
      expect(answer.retryAfterMs).toBeUndefined();
    }
  });
  it('strangers\' DIDs go to their own resolver (no private address, a family of their own); only the operator\'s exact agent DIDs reach its host', async () => {
    const strict = getWebResolver({ ca: trusted.ca, allowPrivateAddresses: false });
    const relay = relayWith(guardedDrivers(), ['127.0.0.1', '::1'], 'relay default', strict);
    let ownRequests = 0;
    let strangerRequests = 0;
    const a = trusted.onRequest(() => ownRequests++);
    const b = hostile.onRequest(() => strangerRequests++);
    try {
      expect(await relay.relay(agentDid('gamma'), 'own')).toMatchObject({ ok: true, breaker: 'a2a/gamma', reply: 'echo: own' });
      expect(ownRequests).toBe(1);
      // The attacker's host is on loopback: a stranger's DID never connects there.
      for (let i = 0; i < 20; i++) expect(await relay.relay(hostile.didFor(`agents/x${i}`), 'x')).toMatchObject({ ok: false });
      expect(strangerRequests).toBe(0);
      // Other spellings of our own host are strangers' DIDs too: resolved without the loopback exception.
      const authority = trusted.did.slice('did:web:'.length);
      for (const spelling of [authority.toUpperCase(), authority.replace('%3A', '%3a'), authority.replace('localhost', '127.0.0.1')]) {
        // A stranger keyed by the whole DID, never `gamma`; its DID does not resolve here, so no peer breaker is made.
        const did = `did:web:${spelling}:agents:gamma`;
        const answer = (await relay.relay(did, 'x')) as RelayFailure;
        expect(answer).toMatchObject({ ok: false, peer: did });
        expect(answer.breaker).toBeUndefined();
        expect(relay.breakerOf({ family: 'a2a-did', key: did })).toBeUndefined();
      }
      expect(ownRequests).toBe(1);
      const names = Object.keys(registry.getStats());
      expect(names.filter((name) => name.startsWith('did/'))).toEqual([`did/web:${decodeURIComponent(authority)}`]);
      expect(names.some((name) => name.startsWith('foreign-did/web:'))).toBe(true);
    } finally {
      a.dispose();
      b.dispose();
    }
  });
  it('a stranger\'s document naming the real peer\'s own origin (another path) trips only the stranger\'s breaker', async () => {
    const relay = relayWith(guardedDrivers());
    expect(await relay.relay('alpha', 'warm')).toMatchObject({ ok: true, breaker: 'a2a/alpha' });
    const did = hostileDid('delta');
    for (const endpoint of [`${alphaLink.url}/no/such/agent`, `${alphaLink.url.replace('http://', 'http://user:secret@')}/x`]) {
      hostile.setDocument('agents/delta', a2aDocument(did, endpoint));
      for (let i = 0; i < 3; i++) await relay.relay(did, 'x');
    }
    expect(registry.get(`a2a-did/${did}`)?.getStats().total_failures).toBeGreaterThanOrEqual(3);
    expect(registry.get('a2a/alpha')?.getStats()).toMatchObject({ state: 'closed', failure_count: 0 });
    expect(await relay.relay('alpha', 'still')).toMatchObject({ ok: true, breaker: 'a2a/alpha', url: alphaLink.url, reply: 'echo: still' });
    // Endpoints that are not http(s) URLs are refused before any client is made.
    for (const endpoint of ['javascript:alert(1)', 'file:///etc/passwd', '/relative/a2a', 'data:text/plain,x']) {
      // A fresh DID (delta's breaker is open by now, and would answer before any lookup).
      hostile.setDocument('agents/epsilon', a2aDocument(hostileDid('epsilon'), endpoint));
      const answer = (await relay.relay(hostileDid('epsilon'), 'x')) as RelayFailure;
      expect(answer, endpoint).toMatchObject({ ok: false, status: 502 });
      expect(answer.message).toMatch(/its A2A endpoint is not an http\(s\) URL|has no A2A service endpoint|not usable/);
    }
  });
  it('a flood of failing strangers\' DIDs stays in its own bounded family: the operator\'s peers keep their breakers, addresses and answers', async () => {
    const relay = relayWith(guardedDrivers(), ['127.0.0.1', '::1'], ['127.0.0.1', '::1'], undefined, 5);
    expect(await relay.relay('alpha', 'warm')).toMatchObject({ ok: true, url: alphaLink.url });
    const flood = Array.from({ length: 12 }, (_, i) => hostileDid(`flood${i}`));
    for (const [i, did] of flood.entries()) hostile.setDocument(`agents/flood${i}`, a2aDocument(did, failing.url));
    const statuses = new Set<number>();
    for (let round = 0; round < 3; round++) for (const did of flood) statuses.add(((await relay.relay(did, 'flood')) as RelayFailure).status);
    const names = Object.keys(registry.getStats());
    expect(names.filter((name) => name.startsWith('a2a-did/')).length).toBeLessThanOrEqual(5);
    // Strangers past the bound are told the service is unavailable; no 500, nothing thrown.
    expect([...statuses].every((status) => [502, 503].includes(status))).toBe(true);
    expect(registry.get('a2a/alpha')?.getStats()).toMatchObject({ state: 'closed', failure_count: 0 });
    expect(await relay.relay('alpha', 'after the flood')).toMatchObject({ ok: true, breaker: 'a2a/alpha', url: alphaLink.url, reply: 'echo: after the flood' });
    expect(await relay.relay(agentDid('gamma'), 'after the flood')).toMatchObject({ ok: true, breaker: 'a2a/gamma', reply: 'echo: after the flood' });
  });
  it('a stranger\'s endpoint answering a megabyte of error does not have it copied into the answer', async () => {
    // A real A2A card (gamma's), then 500 with 1 MB of markup for every call.
    const card = await (await fetch(`${gamma.url}/.well-known/agent-card.json`)).text();
    const loud = createServer((req, res) => {
      if (req.method === 'GET') res.writeHead(200, { 'content-type': 'application/json' }).end(card);
      else res.writeHead(500, { 'content-type': 'text/html' }).end(`<script>alert(1)</script>${'x'.repeat(1_000_000)}`);
    });
    await new Promise<void>((resolve) => loud.listen(0, '127.0.0.1', resolve));
    try {
      const did = hostileDid('loud');
      hostile.setDocument('agents/loud', a2aDocument(did, `http://127.0.0.1:${(loud.address() as AddressInfo).port}`));
      const answer = (await relayWith(guardedDrivers()).relay(did, 'x')) as RelayFailure;
      expect(answer).toMatchObject({ ok: false, status: 502, peer: did });
      expect(answer.message.length).toBeLessThan(600);
      expect(answer.message).toMatch(/… \(\d+ characters\)$/);
    } finally {
      await new Promise<void>((resolve) => loud.close(() => resolve()));
    }
  });
  it('a reply larger than 64 K characters is relayed and recorded cut, with a note', async () => {
    const relay = relayWith(guardedDrivers());
    // gamma echoes what it is sent: a peer can answer this much whatever it was asked.
    const answer = (await relay.relay('gamma', `big ${'y'.repeat(90_000)}`)) as RelaySuccess;
    expect(answer).toMatchObject({ ok: true, peer: 'gamma' });
    expect(answer.reply.length).toBe(64 * 1024);
    expect(answer.notes).toContain(`the peer's reply was ${'echo: big '.length + 90_000} characters: kept the first 65536`);
    const rows = await registryDb.query("select length(reply) as n from messages where request like 'big %'");
    expect(rows.map((row) => Number(row['n']))).toEqual([64 * 1024]);
  });
});

describe("the peer's address: registry → DID → last-known, one fallback chain", () => {
  it('uses the address the peer was last reached at when the registry and its DID host both fail', async () => {
    const relay = relayWith(guardedDrivers());
    expect(await relay.relay('alpha', 'remember me')).toMatchObject({ ok: true, via: 'registry' });
    await registryDb.query('alter table agent_cards rename to agent_cards_away');
    trusted.setRawResponse('agents/alpha', { status: 503, body: 'overloaded' });
    try {
      const answer = (await relay.relay('alpha', 'from memory')) as RelaySuccess;
      expect(answer).toMatchObject({ ok: true, peer: 'alpha', via: 'last-known', url: alphaLink.url, reply: 'echo: from memory' });
      expect(answer.notes).toContain('registry and DID host unavailable: used the address the peer was last reached at');
      // A peer the DID host still serves is found there; one neither knows is a definitive 404.
      expect(await relay.relay('gamma', 'by DID')).toMatchObject({ ok: true, via: 'did' });
      expect(await relay.relay('delta', 'nobody')).toMatchObject({ ok: false, status: 404 });
      // A peer never reached has no last-known address: the DID tier's answer stands (503, retry later).
      trusted.setRawResponse('agents/gamma', { status: 503, body: 'overloaded' });
      const fresh = relayWith(guardedDrivers());
      expect(await fresh.relay('gamma', 'never reached')).toMatchObject({ ok: false, status: 503 });
    } finally {
      await registryDb.query('alter table agent_cards_away rename to agent_cards');
      trusted.setDocument('agents/alpha', a2aDocument(agentDid('alpha'), alphaLink.url));
      trusted.setDocument('agents/gamma', a2aDocument(agentDid('gamma'), gamma.url));
    }
  });

  it('a peer the registry no longer lists does not keep the address the registry gave it', async () => {
    const relay = relayWith(guardedDrivers());
    expect(await relay.relay('alpha', 'remember me')).toMatchObject({ ok: true, via: 'registry' });
    const [row] = await registryDb.query("delete from agent_cards where id = 'alpha' returning *");
    trusted.setRawResponse('agents/alpha', { status: 503, body: 'overloaded' });
    try {
      expect(await relay.relay('alpha', 'are you there')).toMatchObject({ ok: false, status: 503 });
    } finally {
      await registryDb.query('insert into agent_cards (id, name, did, url) values ($1, $2, $3, $4)', [row!['id'], row!['name'], row!['did'], row!['url']]);
      trusted.setDocument('agents/alpha', a2aDocument(agentDid('alpha'), alphaLink.url));
    }
  });

  it('a definitive answer ends the chain: a DID document that is gone is a 404, never an old address', async () => {
    const relay = relayWith(guardedDrivers());
    expect(await relay.relay('alpha', 'remember me')).toMatchObject({ ok: true, via: 'registry' });
    await registryDb.query('alter table agent_cards rename to agent_cards_away');
    trusted.setRawResponse('agents/alpha', { status: 404, body: 'gone' });
    try {
      expect(await relay.relay('alpha', 'are you there')).toMatchObject({ ok: false, status: 404 });
    } finally {
      await registryDb.query('alter table agent_cards_away rename to agent_cards');
      trusted.setDocument('agents/alpha', a2aDocument(agentDid('alpha'), alphaLink.url));
    }
  });
});
