/**
 * The outbox file, attacked from outside the agent: a second agent started on the file another agent
 * has open (a supervisor starting a replacement before the old one died, two replicas given one path),
 * and a damaged file. Either would make the new agent replay writes it does not own, or start on an
 * empty outbox while the old file holds accepted writes: it must refuse to start, naming the file,
 * and leave the file and the running agent alone. The built demo agent, as a child process.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { A2aPeer, SupabaseStandIn } from '@phlow/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type DemoProcess } from './demo-process.js';
import { getJson } from './helpers.js';

const SERVER = process.env['PHLOW_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const DATABASE = `phlow_outbox_file_e2e_${process.pid}`;
const SCHEMA = `
create table agent_cards (id text primary key, name text not null, did text unique, url text not null, description text);
create table messages (
  id bigint generated always as identity primary key, created_at timestamptz not null default now(),
  peer_id text not null, peer_url text not null, request text not null, reply text not null,
  resolved_via text not null, replayed boolean not null default false,
  conversation_id text not null default '', idempotency_key text unique, outbox_seq bigint
);`;
const MAIN = fileURLToPath(new URL('../../apps/demo-agent/dist/main.js', import.meta.url));

const admin = new SupabaseStandIn({ databaseUrl: SERVER });
let project: SupabaseStandIn;
const north = new A2aPeer({ name: 'north' });
const dir = mkdtempSync(join(tmpdir(), 'phlow-outbox-file-e2e-'));
const running: DemoProcess[] = [];

function env(outboxPath: string): Record<string, string> {
  return { SUPABASE_URL: project.url, SUPABASE_KEY: 'project-anon-key', PEER_URLS: `north=${north.url}`, A2A_ALLOW_PRIVATE: '1', PHLOW_OUTBOX_PATH: outboxPath };
}

/** Starts the agent expecting it to refuse: its exit code and what it wrote on stderr. */
function startRefused(outboxPath: string): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [MAIN], { env: { ...process.env, PORT: '0', ...env(outboxPath) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdout.resume();
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    }),
  );
}

beforeAll(async () => {
  await admin.start();
  await admin.query(`create database ${DATABASE}`);
  project = new SupabaseStandIn({ databaseUrl: `${SERVER.replace(/\/[^/]*$/, '')}/${DATABASE}`, schemaSql: SCHEMA, apiKey: 'project-anon-key' });
  await Promise.all([project.start(), north.start()]);
  await project.query("insert into agent_cards (id, name, url) values ('north', 'North', $1)", [north.url]);
});
afterAll(async () => {
  for (const demo of running) if (demo.process.exitCode === null && demo.process.signalCode === null) await demo.stop();
  await Promise.all([project?.stop(), north.stop()]);
  await admin.query(`drop database if exists ${DATABASE} with (force)`).catch(() => undefined);
  await admin.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the outbox file', () => {
  it('a second agent on a file another agent has open refuses to start, naming it; the first goes on', async () => {
    const path = join(dir, 'shared.sqlite');
    const first = await startDemo(env(path));
    running.push(first);
    const refused = await startRefused(path);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(`outbox file ${path} is in use by another outbox`);

    const response = await fetch(`${first.url}/relay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ to: 'north', text: 'still mine', conversation: 'file' }) });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { recorded: string }).recorded).toBe('stored');
    expect((await getJson<{ outbox: { pending: number } }>(`${first.url}/health/circuit-breakers`)).outbox.pending).toBe(0);
    await first.stop();

    // Once the first has stopped, the file is free again.
    const next = await startDemo(env(path));
    running.push(next);
    await next.stop();
  });

  it('an exchange the agent could not record (NUL, a lone surrogate, in the text or the conversation) never reaches the peer', async () => {
    const demo = await startDemo(env(join(dir, 'refusals.sqlite')));
    running.push(demo);
    north.clearRequests();
    const post = (body: string) => fetch(`${demo.url}/relay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    for (const body of ['{"to":"north","text":"nul \\u0000 here"}', '{"to":"north","text":"half \\ud800"}', '{"to":"north","text":"fine","conversation":"c \\udc00"}']) {
      const response = await post(body);
      expect(response.status).toBe(400);
      expect(((await response.json()) as { detail: string }).detail).toMatch(/cannot be recorded: (request|conversation) holds a (NUL character|lone surrogate)/);
    }
    expect(north.requests.filter((r) => r.method === 'POST')).toEqual([]);
    const health = await getJson<{ outbox: { refused: number; pending: number } }>(`${demo.url}/health/circuit-breakers`);
    expect(health.outbox).toMatchObject({ refused: 3, pending: 0 });
    await demo.stop();
  });

  it('a damaged file: the agent refuses to start, naming the file, and leaves it as it was', async () => {
    const path = join(dir, 'damaged.sqlite');
    const garbage = Buffer.alloc(16_384, 0x42);
    writeFileSync(path, garbage);
    const refused = await startRefused(path);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(new RegExp(`outbox file ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} cannot be opened: file is not a database: damaged or not an outbox file`));
    expect(readFileSync(path).equals(garbage)).toBe(true);
  });
});
