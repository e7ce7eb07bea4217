/**
 * Real dependencies replace the embedded ones through the environment: here a Supabase project (the
 * testkit's PostgREST stand-in, started by the test, seeded by the test) and two peer agents the test
 * runs, named by SUPABASE_URL / SUPABASE_KEY and PEER_URLS. The agent must use them (and start no
 * stand-in of its own for them, so they have no chaos control).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { A2aPeer, FaultProxy, SupabaseStandIn } from '@phlow/testkit';
import { ClientFactory, JsonRpcTransportFactory, type Client } from '@a2a-js/sdk/client';
import { waitFor } from '@phlow/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type DemoProcess } from './demo-process.js';
import { getJson, relay, type ChaosState, type Health } from './helpers.js';

// The tables the agent expects (apps/demo-agent/src/stand-ins.ts, SCHEMA_SQL).
const SCHEMA = `
create table agent_cards (id text primary key, name text not null, did text unique, url text not null, description text);
create table messages (
  id bigint generated always as identity primary key, created_at timestamptz not null default now(),
  peer_id text not null, peer_url text not null, request text not null, reply text not null,
  resolved_via text not null, replayed boolean not null default false,
  conversation_id text not null default '', idempotency_key text unique, outbox_seq bigint
);`;

const supabase = new SupabaseStandIn({ schemaSql: SCHEMA, apiKey: 'project-anon-key' });
// The test's own fault proxy in front of "the project", to take it away and bring it back.
let network: FaultProxy;
const north = new A2aPeer({ name: 'north' });
const south = new A2aPeer({ name: 'south' });
let demo: DemoProcess;
let client: Client;

let outboxDir: string;

beforeAll(async () => {
  outboxDir = await mkdtemp(join(tmpdir(), 'phlow-real-deps-'));
  await Promise.all([supabase.start(), north.start(), south.start()]);
  await supabase.query("insert into agent_cards (id, name, url) values ('north', 'North', $1)", [north.url]);
  network = new FaultProxy({ target: supabase.url });
  await network.start();
  demo = await startDemo({
    SUPABASE_URL: network.url,
    SUPABASE_KEY: 'project-anon-key',
    PEER_URLS: `north=${north.url},south=${south.url}`,
    // The test's peers listen on loopback: a private address the agent refuses for peers it was given.
    A2A_ALLOW_PRIVATE: '1',
    // Short call timeouts, so the hanging-dependency test below is quick.
    PHLOW_PEER_TIMEOUT_MS: '1000',
    PHLOW_SUPABASE_TIMEOUT_MS: '1500',
    // The durable outbox of writes Supabase could not take yet: a file of this run, not one under test/.
    PHLOW_OUTBOX_PATH: join(outboxDir, 'outbox.sqlite'),
  });
  client = await new ClientFactory({ transports: [new JsonRpcTransportFactory()] }).createFromUrl(demo.url);
});
afterAll(async () => {
  await demo?.stop();
  await network?.stop();
  await Promise.all([supabase.stop(), north.stop(), south.stop()]);
  await rm(outboxDir, { recursive: true, force: true });
});

describe('real dependencies from the environment', () => {
  it('looks peers up in the given Supabase project, reaches the given peers, and records there', async () => {
    const viaRegistry = await relay(client, 'north', 'hello north');
    expect(viaRegistry.relay).toMatchObject({ ok: true, peer: 'north', via: 'registry', reply: 'echo: hello north', recorded: 'stored' });
    // The A2A adapter propagated the trace context to the peer.
    expect(north.requests.filter((r) => r.url === '/a2a/jsonrpc').at(-1)?.headers['traceparent']).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);

    // south is not in the project's registry: found through its DID document (on the embedded DID host).
    const viaDid = await relay(client, 'south', 'hello south');
    expect(viaDid.relay).toMatchObject({ ok: true, peer: 'south', via: 'did', reply: 'echo: hello south' });

    const rows = await supabase.query('select peer_id, request, reply, resolved_via from messages order by id');
    expect(rows).toEqual([
      { peer_id: 'north', request: 'hello north', reply: 'echo: hello north', resolved_via: 'registry' },
      { peer_id: 'south', request: 'hello south', reply: 'echo: hello south', resolved_via: 'did' },
    ]);

    // Only the embedded DID host has a chaos control.
    const chaos = await getJson<ChaosState>(`${demo.url}/chaos`);
    expect(chaos.dependencies.map((d) => d.name)).toEqual(['did-host']);
    expect((await fetch(`${demo.url}/chaos/supabase/down`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(404);
  });

  it('writes made while the project is unreachable wait in the outbox and land there, marked replayed, once it is back', async () => {
    await network.setFaults({ refuse: true });
    for (let i = 0; i < 4; i++) {
      const answer = await relay(client, 'north', `offline ${i}`);
      // The registry is gone: north is found by its DID document; the exchange waits.
      expect(answer.relay).toMatchObject({ ok: true, peer: 'north', via: 'did', recorded: 'outbox' });
    }
    expect(await supabase.query('select count(*)::int as n from messages where replayed')).toEqual([{ n: 0 }]);
    await network.clearFaults();
    await waitFor('the outbox to drain', async () => (await getJson<Health>(`${demo.url}/health/circuit-breakers`)).outbox.pending === 0);
    const replayed = await supabase.query('select request, resolved_via from messages where replayed order by id');
    expect(replayed).toEqual([0, 1, 2, 3].map((i) => ({ request: `offline ${i}`, resolved_via: 'did' })));
  });

  it('hanging dependencies are cut off by their timeouts: the project (lookup and write) and a peer (then its breaker opens)', async () => {
    // The project hangs: the lookup times out and the peer is found by DID; the write times out into the outbox.
    await network.setFaults({ blackHole: true });
    const slowRegistry = await relay(client, 'south', 'registry hangs');
    expect(slowRegistry.relay).toMatchObject({ ok: true, via: 'did', recorded: 'outbox' });
    expect(slowRegistry.relay.notes.join(' ')).toMatch(/registry lookup failed \(.*\): resolved by DID/);
    await network.clearFaults();
    await waitFor('the outbox to drain', async () => (await getJson<Health>(`${demo.url}/health/circuit-breakers`)).outbox.pending === 0);

    // The peer hangs: each call ends at the 1 s timeout (504); three of them open its breaker.
    south.setBehavior({ kind: 'delay', ms: 60_000 });
    for (let i = 0; i < 3; i++) {
      const answer = await relay(client, 'south', `hangs ${i}`);
      expect(answer.relay).toMatchObject({ ok: false, status: 504, peer: 'south' });
      expect(answer.text).toBe('Peer south did not answer within 1.0 s');
    }
    const open = await relay(client, 'south', 'open now');
    expect(open.relay).toMatchObject({ ok: false, status: 503, peer: 'south' });
    south.setBehavior({ kind: 'echo' });
    await waitFor('south to answer again', async () => (await relay(client, 'south', 'back?')).relay.ok, { timeoutMs: 15_000, everyMs: 100 });
  });
});
