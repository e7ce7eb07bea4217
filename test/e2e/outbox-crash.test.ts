/**
 * No accepted write is lost, none is doubled: the built demo agent runs as a child process against the
 * test's Supabase project (the testkit's stand-in over this machine's real PostgreSQL, in a database of
 * its own, behind a fault proxy), with its outbox in a file of the test's. The agent is SIGKILLed
 * (1) while Supabase is away, with writes pending and more in flight, and (2) in the middle of a replay:
 * after the database took the replayed rows and before the agent read the answer. After a restart,
 * every write the agent answered HTTP 200 for is in the database exactly once, in order per conversation.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { A2aPeer, FaultProxy, SupabaseStandIn } from '@phlow/testkit';
import { waitFor } from '@phlow/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type DemoProcess } from './demo-process.js';
import { getJson } from './helpers.js';

const SERVER = process.env['PHLOW_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const DATABASE = `phlow_outbox_e2e_${process.pid}`;

// The demo's tables (apps/demo-agent/src/stand-ins.ts, SCHEMA_SQL), with the outbox's migration.
const SCHEMA = `
create table agent_cards (id text primary key, name text not null, did text unique, url text not null, description text);
create table messages (
  id bigint generated always as identity primary key, created_at timestamptz not null default now(),
  peer_id text not null, peer_url text not null, request text not null, reply text not null,
  resolved_via text not null, replayed boolean not null default false,
  conversation_id text not null default '', idempotency_key text unique, outbox_seq bigint
);`;

const admin = new SupabaseStandIn({ databaseUrl: SERVER });
let project: SupabaseStandIn;
let network: FaultProxy;
const north = new A2aPeer({ name: 'north' });
const dir = mkdtempSync(join(tmpdir(), 'phlow-outbox-e2e-'));
const running: DemoProcess[] = [];

/** Accepted writes (HTTP 200), in the order they were answered, per conversation. */
const accepted = new Map<string, string[]>();
/** Every write sent, accepted or not. */
const sent = new Set<string>();

async function start(peerUrl = north.url): Promise<DemoProcess> {
  const demo = await startDemo({
    SUPABASE_URL: network.url,
    SUPABASE_KEY: 'project-anon-key',
    PEER_URLS: `north=${peerUrl}`,
    A2A_ALLOW_PRIVATE: '1',
    PHLOW_OUTBOX_PATH: join(dir, 'outbox.sqlite'),
    PHLOW_SUPABASE_TIMEOUT_MS: '2000',
  });
  running.push(demo);
  return demo;
}

async function kill(demo: DemoProcess): Promise<void> {
  const exited = new Promise((resolve) => demo.process.once('exit', resolve));
  demo.process.kill('SIGKILL');
  await exited;
}

/** One conversation's writes, one after another (its order is the order of the answers). */
async function converse(demo: DemoProcess, conversation: string, texts: readonly string[]): Promise<void> {
  for (const text of texts) {
    sent.add(text);
    let response: Response;
    try {
      response = await fetch(`${demo.url}/relay`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ to: 'north', text, conversation }),
        signal: AbortSignal.timeout(10_000),
      });
    } catch {
      return; // the agent died under this request: not accepted
    }
    if (response.status !== 200) continue;
    const body = (await response.json()) as { recorded: string };
    expect(body.recorded).toBe('outbox');
    accepted.set(conversation, [...(accepted.get(conversation) ?? []), text]);
  }
}

const pending = async (demo: DemoProcess) => (await getJson<{ outbox: { pending: number } }>(`${demo.url}/health/circuit-breakers`)).outbox.pending;

beforeAll(async () => {
  await admin.start();
  await admin.query(`create database ${DATABASE}`);
  project = new SupabaseStandIn({ databaseUrl: `${SERVER.replace(/\/[^/]*$/, '')}/${DATABASE}`, schemaSql: SCHEMA, apiKey: 'project-anon-key' });
  await Promise.all([project.start(), north.start()]);
  await project.query("insert into agent_cards (id, name, url) values ('north', 'North', $1)", [north.url]);
  network = new FaultProxy({ target: project.url });
  await network.start();
});
afterAll(async () => {
  for (const demo of running) if (demo.process.exitCode === null && demo.process.signalCode === null) await demo.stop();
  await network?.stop();
  await Promise.all([project?.stop(), north.stop()]);
  await admin.query(`drop database if exists ${DATABASE} with (force)`).catch(() => undefined);
  await admin.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the durable outbox, end to end', () => {
  it('SIGKILL with writes pending (Supabase away), and again mid-replay: every accepted write lands exactly once, in order per conversation', async () => {
    const conversations = ['c1', 'c2', 'c3'];
    const texts = (round: string, c: string, n: number) => Array.from({ length: n }, (_, i) => `${round} ${c} #${i}`);

    // 1. Supabase away: the agent answers from the outbox. Killed while writes are still in flight.
    await network.setFaults({ refuse: true });
    const first = await start();
    const talking = conversations.map((c) => converse(first, c, texts('one', c, 40)));
    await waitFor('some writes to be accepted', () => [...accepted.values()].flat().length >= 30, { timeoutMs: 30_000 });
    await kill(first);
    await Promise.all(talking);
    const acceptedBeforeKill = [...accepted.values()].flat().length;
    expect(acceptedBeforeKill).toBeGreaterThanOrEqual(30);
    expect(await project.query('select count(*)::int as n from messages')).toEqual([{ n: 0 }]);

    // 2. A new agent on the same outbox file: still away, more writes; then Supabase comes back, slowly
    // answering, and the agent is killed once the database took the replay but before it read the answer.
    const second = await start();
    expect(await pending(second)).toBeGreaterThanOrEqual(acceptedBeforeKill);
    await Promise.all(conversations.map((c) => converse(second, c, texts('two', c, 5))));
    const landed = new Promise<void>((resolve) => {
      const listener = project.onRequest((event) => {
        if (event.method === 'POST' && event.url.startsWith('/rest/v1/messages') && event.status === 201) {
          listener.dispose();
          resolve();
        }
      });
    });
    await network.setFaults({ slowBody: { bytesPerChunk: 1, intervalMs: 5_000 } });
    await landed;
    await kill(second);
    const afterFirstReplay = (await project.query('select count(*)::int as n from messages'))[0]!['n'] as number;
    expect(afterFirstReplay).toBeGreaterThan(0);

    // 3. Supabase healthy; a third agent replays what is left (the rows already there are ignored by key).
    await network.clearFaults();
    const third = await start();
    await waitFor('the outbox to drain', async () => (await pending(third)) === 0, { timeoutMs: 30_000 });
    const health = await getJson<{ status: string; outbox: { duplicates: number; dead_lettered: number; replayed: number } }>(`${third.url}/health/circuit-breakers`);
    // The rows the killed agent's replay had written came again, and were recognised by their keys.
    expect(health.outbox.duplicates).toBeGreaterThan(0);
    expect(health.outbox).toMatchObject({ dead_lettered: 0 });
    expect(health.status).toBe('healthy');
    await third.stop();

    const rows = await project.query('select conversation_id, request, idempotency_key, outbox_seq::text as seq, replayed from messages order by id');
    // Nothing twice (an unaccepted write in flight at the kill may have landed, once at most).
    expect(new Set(rows.map((r) => r['request'])).size).toBe(rows.length);
    expect(rows.every((r) => sent.has(r['request'] as string) && r['replayed'] === true)).toBe(true);
    for (const c of conversations) {
      const inDatabase = rows.filter((r) => r['conversation_id'] === c);
      const stored = inDatabase.map((r) => r['request']);
      // Every accepted write, exactly once, in the order it was answered (unaccepted ones aside).
      expect(stored.filter((text) => accepted.get(c)!.includes(text as string))).toEqual(accepted.get(c));
      // The ordering column agrees with the insertion order.
      const seqs = inDatabase.map((r) => BigInt(r['seq'] as string));
      expect([...seqs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(seqs);
    }
    expect([...accepted.values()].flat().length).toBe(acceptedBeforeKill + 15);
  });

  it('SIGTERM with writes pending and a relay in flight: the relay is answered, the agent exits 0, and after a restart its writes land', async () => {
    // north behind a slow link: a relay takes 1.5 s, long enough to be in flight when SIGTERM comes.
    const slow = new FaultProxy({ target: north.url });
    await slow.start();
    try {
      await network.setFaults({ refuse: true });
      const demo = await start(slow.url);
      await converse(demo, 'graceful', ['g #0', 'g #1', 'g #2']);
      expect(accepted.get('graceful')).toEqual(['g #0', 'g #1', 'g #2']);
      await slow.setFaults({ latency: { ms: 1_500 } });
      const arrived = new Promise<void>((resolve) => {
        const listener = slow.onRequest((event) => {
          if (event.method === 'POST') {
            listener.dispose();
            resolve();
          }
        });
      });
      const inFlight = converse(demo, 'graceful', ['g #3']);
      await arrived;
      const exited = new Promise<number | null>((resolve) => demo.process.once('exit', (code) => resolve(code)));
      demo.process.kill('SIGTERM');
      await inFlight;
      expect(await exited).toBe(0);
      // Answered 200 while the agent was stopping: accepted, so it must land too.
      expect(accepted.get('graceful')).toEqual(['g #0', 'g #1', 'g #2', 'g #3']);
      expect(demo.logs).toContainEqual(expect.objectContaining({ message: 'stopping (SIGTERM)' }));

      await network.clearFaults();
      await slow.clearFaults();
      const next = await start(slow.url);
      await waitFor('the outbox to drain', async () => (await pending(next)) === 0, { timeoutMs: 30_000 });
      await next.stop();
      const rows = await project.query("select request from messages where conversation_id = 'graceful' order by id");
      expect(rows.map((r) => r['request'])).toEqual(['g #0', 'g #1', 'g #2', 'g #3']);
    } finally {
      await slow.stop();
    }
  });

  it('text PostgreSQL cannot store is refused with a 400 naming it, nothing queued; a stored exchange carries its key and order', async () => {
    await network.clearFaults();
    const demo = await start();
    const post = (body: string) => fetch(`${demo.url}/relay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(10_000) });
    for (const [text, what] of [['"nul \\u0000 here"', /NUL character/], ['"half \\ud800 pair"', /lone surrogate/]] as const) {
      const response = await post(`{"to":"north","text":${text},"conversation":"hostile"}`);
      expect(response.status).toBe(400);
      expect(((await response.json()) as { detail: string }).detail).toMatch(what);
    }
    const tooLong = await post(JSON.stringify({ to: 'north', text: 'x', conversation: 'c'.repeat(201) }));
    expect(tooLong.status).toBe(400);
    const health = await getJson<{ status: string; outbox: { pending: number; refused: number; dead_lettered: number } }>(`${demo.url}/health/circuit-breakers`);
    expect(health.outbox).toMatchObject({ pending: 0, refused: 2, dead_lettered: 0 });
    expect(health.status).toBe('healthy');

    const ok = await post(JSON.stringify({ to: 'north', text: 'fine', conversation: 'hostile' }));
    expect(((await ok.json()) as { recorded: string }).recorded).toBe('stored');
    await demo.stop();
    const rows = await project.query("select request, idempotency_key, outbox_seq, replayed from messages where conversation_id = 'hostile'");
    expect(rows).toEqual([{ request: 'fine', idempotency_key: expect.stringMatching(/^[0-9a-f-]{36}$/), outbox_seq: expect.any(String), replayed: false }]);
  });
});
