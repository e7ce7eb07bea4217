/**
 * An attacker runs a did:web host of its own and serves documents that claim the demo's peers: agent
 * alpha's id, with an A2A endpoint on a server that always fails (503). The agent started as a user
 * would (trusting the attacker's certificate, as it would a public CA) is driven to relay through those
 * DIDs: the attacker gets a breaker of its own, the real alpha's stays closed and keeps answering, and
 * the address alpha is reached at stays the registry's, also for the probe after a real outage.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientFactory, JsonRpcTransportFactory, type Client } from '@a2a-js/sdk/client';
import { A2aPeer, DidWebHost, FaultProxy, basicDidDocument, generateLoopbackCertificate } from '@phlow/testkit';
import { waitFor } from '@phlow/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type DemoProcess } from './demo-process.js';
import { chaos, getJson, relay, type Health } from './helpers.js';

let demo: DemoProcess;
let client: Client;
let hostile: DidWebHost;
let bogus: A2aPeer;
let failing: FaultProxy;
/** From the banner: where the registry says alpha is, and alpha's DID on the agent's own DID host. */
let alphaUrl: string;
let alphaDid: string;
let supabaseUrl: string;

const hostileDid = (id: string) => hostile.didFor(`agents/${id}`);
const a2aDocument = (did: string, url: string) => ({ ...basicDidDocument(did), service: [{ id: `${did}#a2a`, type: 'A2AService', serviceEndpoint: url }] });
const health = () => getJson<Health>(`${demo.url}/health/circuit-breakers`);

beforeAll(async () => {
  const certificate = await generateLoopbackCertificate();
  const caFile = join(mkdtempSync(join(tmpdir(), 'phlow-e2e-')), 'ca.pem');
  writeFileSync(caFile, certificate.cert);
  hostile = new DidWebHost({ certificate });
  bogus = new A2aPeer({ name: 'not-alpha' });
  await Promise.all([hostile.start(), bogus.start()]);
  failing = new FaultProxy({ target: bogus.url });
  await failing.start();
  await failing.setFaults({ errorStatus: { status: 503 } });
  hostile.setDocument('agents/alpha', a2aDocument(hostileDid('alpha'), failing.url));

  // The attacker's host and endpoints are on loopback here, where a stranger's DID gets nothing by
  // default (http-hygiene.test.ts checks that): the operator allows private addresses for this test.
  demo = await startDemo({ DID_CA_FILE: caFile, PHLOW_RECOVERY_MS: '3000', DID_ALLOW_PRIVATE: '1', A2A_ALLOW_PRIVATE: '1' });
  client = await new ClientFactory({ transports: [new JsonRpcTransportFactory()] }).createFromUrl(demo.url);
  const alpha = /^ +alpha +(http:\/\/\S+)\n +(did:web:\S+)$/m.exec(demo.banner);
  alphaUrl = alpha?.[1] ?? '';
  alphaDid = alpha?.[2] ?? '';
  supabaseUrl = /^\s+Supabase\s+(http:\/\/\S+)/m.exec(demo.banner)?.[1] ?? '';
  expect(alphaUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect(alphaDid).toMatch(/^did:web:localhost%3A\d+:agents:alpha$/);
  // Our document for "beta" claims to be the real alpha's DID document.
  hostile.setDocument('agents/beta', a2aDocument(alphaDid, failing.url));
});
afterAll(async () => {
  await demo?.stop();
  await failing?.stop();
  await Promise.all([hostile?.stop(), bogus?.stop()]);
});

describe('a hostile DID host claiming agent alpha', () => {
  it('opens only its own breaker; the real alpha\'s stays closed and alpha keeps answering at the registry\'s address', async () => {
    expect((await relay(client, 'alpha', 'before')).relay).toMatchObject({ ok: true, peer: 'alpha', via: 'registry' });
    const target = hostileDid('alpha');
    for (let i = 0; i < 3; i++) {
      const answer = await relay(client, target, `attack ${i}`);
      // The answer names the DID, never "alpha".
      expect(answer.relay).toMatchObject({ ok: false, status: 502, peer: target });
      expect(answer.text).toMatch(new RegExp(`^Peer ${target.replace(/[.%]/g, '\\$&')} failed`));
    }
    const refused = await relay(client, target, 'attack 3');
    expect(refused.relay).toMatchObject({ ok: false, status: 503, peer: target });
    expect(failing.stats().requests.received).toBeGreaterThanOrEqual(3);

    const stats = await health();
    expect(stats.breaker_stats[`a2a-did/${target}`]!.state).not.toBe('closed');
    // A stranger's failing DID does not make the agent degraded (it is listed apart).
    expect(stats).toMatchObject({ status: 'healthy', open_breakers: [] });
    if (stats.breaker_stats[`a2a-did/${target}`]!.state === 'open') expect(stats.open_foreign_breakers).toEqual([`a2a-did/${target}`]);
    expect(stats.breaker_stats['a2a/alpha']).toMatchObject({ state: 'closed', failure_count: 0 });
    const real = await relay(client, 'alpha', 'still you?');
    expect(real.relay).toMatchObject({ ok: true, peer: 'alpha', via: 'registry', reply: 'echo: still you?' });
    expect(real.relay.url).toBe(alphaUrl);
    // By alpha's own DID too: the registry knows it.
    expect((await relay(client, alphaDid, 'by DID')).relay).toMatchObject({ ok: true, peer: 'alpha', via: 'registry', reply: 'echo: by DID' });
  });

  it('cannot redirect alpha: after a real outage the probe goes to the registry\'s address and closes alpha\'s breaker', async () => {
    await chaos(demo.url, 'peer-alpha', 'down');
    for (let i = 0; i < 3; i++) expect((await relay(client, 'alpha', `down ${i}`)).relay).toMatchObject({ ok: false, status: 502, peer: 'alpha' });
    // The attacker keeps relaying through its DID while alpha is open, and once its own breaker lets it.
    for (let i = 0; i < 3; i++) expect((await relay(client, hostileDid('alpha'), `meanwhile ${i}`)).relay).toMatchObject({ ok: false, peer: hostileDid('alpha') });
    expect((await health()).breaker_stats['a2a/alpha']!.state).not.toBe('closed');
    await chaos(demo.url, 'peer-alpha', 'heal');
    const seen = failing.stats().requests.received;
    const answer = await waitFor(
      'alpha to answer again',
      async () => {
        const probe = await relay(client, 'alpha', 'back?');
        return probe.relay.ok && probe;
      },
      { timeoutMs: 15_000, everyMs: 100 },
    );
    expect(answer.relay).toMatchObject({ ok: true, peer: 'alpha', reply: 'echo: back?' });
    expect(answer.relay.url).toBe(alphaUrl);
    expect((await health()).breaker_stats['a2a/alpha']!.state).toBe('closed');
    expect(failing.stats().requests.received).toBe(seen);
    // The registry's row is what it was.
    const rows = (await (await fetch(`${supabaseUrl}/rest/v1/agent_cards?id=eq.alpha&select=id,did,url`, { headers: { apikey: 'demo-anon-key' } })).json()) as unknown;
    expect(rows).toEqual([{ id: 'alpha', did: alphaDid, url: alphaUrl }]);
  });

  it('a document that claims another DID (alpha\'s) is refused before any call', async () => {
    const seen = failing.stats().requests.received;
    const answer = await relay(client, hostileDid('beta'), 'who are you?');
    expect(answer.relay).toMatchObject({ ok: false, status: 502, peer: hostileDid('beta') });
    expect(answer.text).toMatch(/DID document is not usable/);
    expect(failing.stats().requests.received).toBe(seen);
    expect((await health()).breaker_stats['a2a/alpha']).toMatchObject({ state: 'closed', failure_count: 0 });
  });
});
