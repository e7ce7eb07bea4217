/**
 * A Supabase project for the tests: the testkit's PostgREST stand-in over this machine's real
 * PostgreSQL (127.0.0.1:5432), a schema of its own per test file, the `messages` table with the
 * migration the README gives users, behind a fault proxy that takes "Supabase" away and brings it back.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FaultProxy, SupabaseStandIn } from '@phlow/testkit';
import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { SupabaseOutbox } from './supabase-outbox.js';

export const DATABASE_URL = process.env['PHLOW_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** The table, then the README's migration for users' own tables, applied to it. */
export const messagesSql = (schema: string): string => `
create schema ${schema};
create table ${schema}.messages (
  id bigint generated always as identity primary key,
  conversation_id text not null,
  body text not null,
  meta jsonb,
  replayed boolean not null default false,
  check (length(body) <= 10000)
);
alter table ${schema}.messages
  add column idempotency_key text,
  add column outbox_seq bigint;
alter table ${schema}.messages add constraint messages_idempotency_key_key unique (idempotency_key);
create index on ${schema}.messages (conversation_id, outbox_seq);
create table ${schema}.profiles (
  id text primary key,
  name text not null,
  idempotency_key text unique,
  outbox_seq bigint not null
);
create or replace function ${schema}.keep_newer_write() returns trigger language plpgsql as $$
begin
  if new.outbox_seq < old.outbox_seq then return null; end if;
  return new;
end $$;
create trigger keep_newer_write before update on ${schema}.profiles
  for each row execute function ${schema}.keep_newer_write();
`;

export interface TestProject {
  readonly standIn: SupabaseStandIn;
  readonly proxy: FaultProxy;
  /** supabase-js, through the fault proxy. */
  readonly client: SupabaseClient<any, any, any>;
  readonly schema: string;
  /** A folder for outbox files, removed at stop. */
  readonly dir: string;
  rows(table?: string): Promise<Record<string, unknown>[]>;
  stop(): Promise<void>;
}

export async function startTestProject(): Promise<TestProject> {
  const schema = `outbox_test_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
  const standIn = new SupabaseStandIn({ databaseUrl: DATABASE_URL, dbSchema: schema, schemaSql: messagesSql(schema) });
  await standIn.start();
  const proxy = new FaultProxy({ target: standIn.url });
  await proxy.start();
  const client = createClient(proxy.url, 'test-key', { auth: { persistSession: false, autoRefreshToken: false }, db: { schema } });
  const dir = mkdtempSync(join(tmpdir(), 'phlow-outbox-'));
  return {
    standIn,
    proxy,
    client,
    schema,
    dir,
    rows: (table = 'messages') => standIn.query(`select * from ${schema}.${table} order by id`),
    stop: async () => {
      await proxy.stop();
      await standIn.query(`drop schema ${schema} cascade`).catch(() => undefined);
      await standIn.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The test project of this file and an outbox factory on it (files named `<prefix>-<n>.sqlite`): the
 * project starts before the file's tests and stops after them; after each test, faults are cleared,
 * the outboxes made are closed and `tables` are emptied.
 */
export function useOutboxes(prefix: string, tables: readonly string[] = ['messages', 'profiles']): {
  readonly project: () => TestProject;
  readonly outbox: (options?: Partial<ConstructorParameters<typeof SupabaseOutbox>[0]>) => SupabaseOutbox;
} {
  let project: TestProject | undefined;
  const open: SupabaseOutbox[] = [];
  let files = 0;
  beforeAll(async () => {
    project = await startTestProject();
  });
  afterEach(async () => {
    await project!.proxy.clearFaults();
    for (const o of open.splice(0)) await o.close();
    await project!.standIn.query(`truncate ${tables.map((table) => `${project!.schema}.${table}`).join(', ')}`);
  });
  afterAll(async () => {
    await project?.stop();
  });
  return {
    project: () => project!,
    outbox: (options = {}) => {
      const o = new SupabaseOutbox({ supabase: project!.client, path: join(project!.dir, `${prefix}-${files++}.sqlite`), retryIntervalMs: 20, ...options });
      open.push(o);
      return o;
    },
  };
}
