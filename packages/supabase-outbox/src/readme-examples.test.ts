// The README's examples, kept here so they compile (typecheck) and run — against real PostgreSQL through
// the Supabase stand-in, in a database of their own whose tables get the README's migrations, read from
// the README itself. Keep the two in step.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { breakerFor, createClient } from '@phlow/supabase';
import { SupabaseStandIn } from '@phlow/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkStorable, SupabaseOutbox, UnstorableRowError } from './index.js';
import { DATABASE_URL } from './test-database.test-util.js';

const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const sqlBlocks = [...README.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]!);
const DATABASE = `phlow_outbox_readme_${process.pid}`;
const admin = new SupabaseStandIn({ databaseUrl: DATABASE_URL });
let project: SupabaseStandIn;
let SUPABASE_URL: string;
const SUPABASE_KEY = 'test-key';
const cwd = process.cwd();
const dir = mkdtempSync(join(tmpdir(), 'phlow-outbox-readme-'));

beforeAll(async () => {
  expect(sqlBlocks).toHaveLength(2);
  await admin.start();
  await admin.query(`create database ${DATABASE}`);
  const schema = [
    'create table messages (id bigint generated always as identity primary key, conversation_id text not null, body text not null);',
    'create table profiles (id text primary key, name text not null);',
    // The README's migration, as written for messages and applied to profiles too; then the upserts' trigger.
    sqlBlocks[0]!,
    sqlBlocks[0]!.replaceAll('messages', 'profiles').replace('create index on profiles (conversation_id, outbox_seq);', ''),
    'alter table profiles alter column outbox_seq set not null;',
    sqlBlocks[1]!,
  ].join('\n');
  project = new SupabaseStandIn({ databaseUrl: `${DATABASE_URL.replace(/\/[^/]*$/, '')}/${DATABASE}`, schemaSql: schema });
  await project.start();
  SUPABASE_URL = project.url;
  process.chdir(dir); // the example's relative path lands here
});
afterAll(async () => {
  process.chdir(cwd);
  await project?.stop();
  await admin.query(`drop database if exists ${DATABASE} with (force)`).catch(() => undefined);
  await admin.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('README examples', () => {
  it('Usage, upserts, dead letters, close', async () => {
    // --- README: usage ---
    const supabase = createClient(SUPABASE_URL, SUPABASE_KEY);
    const outbox = new SupabaseOutbox({
      supabase,
      path: '.phlow/outbox.sqlite',
      // While the breaker is open nothing is sent; the outbox tries again every retryIntervalMs.
      breaker: () => breakerFor(supabase),
    });

    const receipt = await outbox.insert('messages', { conversation_id: 'c-42', body: 'hello' }, { conversation: 'c-42' });
    receipt.state; // 'stored': in Supabase now; 'queued': on disk, replayed once Supabase takes it

    // Upserts too, in order (see the migration below for the trigger they need):
    await outbox.upsert('profiles', { id: 'p1', name: 'Ada' }, { onConflict: 'id', conversation: 'p1' });

    await outbox.close(); // at shutdown: commits what was accepted, closes the file
    // --- end ---
    expect(receipt.state).toBe('stored');
    expect(await project.query('select conversation_id, body, idempotency_key from messages')).toEqual([{ conversation_id: 'c-42', body: 'hello', idempotency_key: receipt.key }]);
    expect(await project.query('select id, name from profiles')).toEqual([{ id: 'p1', name: 'Ada' }]);
    // The trigger: an older write replayed late does not overwrite the row.
    await supabase.from('profiles').upsert({ id: 'p1', name: 'stale', idempotency_key: 'late', outbox_seq: 1 }, { onConflict: 'id' });
    expect(await project.query('select id, name from profiles')).toEqual([{ id: 'p1', name: 'Ada' }]);

    const writer = new SupabaseOutbox({ supabase, path: '.phlow/outbox.sqlite' });
    await writer.insert('messages', { conversation_id: null, body: 'refused: conversation_id is not null' });
    await writer.close();
    const lines: string[] = [];
    const console = { log: (...parts: unknown[]) => lines.push(parts.join(' ')) };
    await (async () => {
      // --- README: dead letters (its client: supabase-js's own; the same one here) ---
      const outbox = new SupabaseOutbox({ supabase, path: '.phlow/outbox.sqlite' });

      for (const dead of outbox.deadLetters()) console.log(dead.key, dead.table, dead.code, dead.reason, dead.row);
      outbox.discardDeadLetters(); // all, or discardDeadLetters([key, ...])
      await outbox.close();
      // --- end ---
    })();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/messages 23502 .*null value/);
    const reopened = new SupabaseOutbox({ supabase, path: '.phlow/outbox.sqlite' });
    expect(reopened.stats.deadLetters).toBe(0);
    await reopened.close();
  });

  it('checkStorable', () => {
    const lines: string[] = [];
    const console = { log: (...parts: unknown[]) => lines.push(parts.join(' ')) };
    // --- README: checkStorable ---
    try {
      checkStorable('half \ud800 pair', 'text');
    } catch (error) {
      if (error instanceof UnstorableRowError) console.log(error.path, error.message); // text holds a lone surrogate …
    }
    // --- end ---
    expect(lines).toEqual([expect.stringMatching(/^text text holds a lone surrogate/)]);
  });
});
