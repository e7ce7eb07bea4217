import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import { AGENTS_SQL } from '@phlow/test-helpers';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FaultProxy } from './fault-proxy.js';
import { SupabaseStandIn } from './supabase-stand-in.js';


function client(url: string, key = 'test-key', schema = 'public'): SupabaseClient<any, string> {
  // supabase-js 2.109 drops a `db.retry` option: retries are turned off per query with .retry(false).
  return createClient(url, key, { db: { schema }, auth: { persistSession: false } });
}

const seed = [
  { id: 'a1', name: 'Ada', role: 'planner', score: 7, metadata: { tools: ['search'] } },
  { id: 'a2', name: 'Bob', role: 'critic', score: 3, metadata: null },
  { id: 'a3', name: 'Cy', role: null, score: 5, metadata: null },
];

describe('SupabaseStandIn with PGlite and the real supabase-js client', () => {
  const standIn = new SupabaseStandIn({ schemaFile: AGENTS_SQL, apiKey: 'test-key' });
  let supabase: SupabaseClient<any, string>;

  // PGlite boots in about 3 s: give the hook room even when run without this package's vitest config.
  beforeAll(async () => {
    await standIn.start();
    supabase = client(standIn.url);
  }, 30_000);
  afterAll(() => standIn.stop());
  beforeEach(async () => {
    await standIn.query('truncate events, agents restart identity cascade');
    await standIn.query(`insert into agents (id, name, role, score, metadata) select id, name, role, score, metadata from json_populate_recordset(null::agents, $1::json)`, [JSON.stringify(seed)]);
  });

  it('reports its engine and URL', () => {
    expect(standIn.databaseKind).toBe('pglite');
    expect(standIn.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('selects a column list with eq, order and limit', async () => {
    const { data, error, status } = await supabase.from('agents').select('id,name').neq('id', 'a2').order('score', { ascending: false }).limit(5);
    expect(error).toBeNull();
    expect(status).toBe(200);
    expect(data).toEqual([
      { id: 'a1', name: 'Ada' },
      { id: 'a3', name: 'Cy' },
    ]);
  });

  it('filters with in, is, like, gt and not, and renames/casts columns', async () => {
    const inList = await supabase.from('agents').select('id').in('id', ['a1', 'a3', 'zz']).order('id');
    expect(inList.data).toEqual([{ id: 'a1' }, { id: 'a3' }]);
    const isNull = await supabase.from('agents').select('id').is('role', null);
    expect(isNull.data).toEqual([{ id: 'a3' }]);
    const like = await supabase.from('agents').select('id').ilike('name', 'b%');
    expect(like.data).toEqual([{ id: 'a2' }]);
    const gt = await supabase.from('agents').select('id').gt('score', 4).order('id');
    expect(gt.data).toEqual([{ id: 'a1' }, { id: 'a3' }]);
    const not = await supabase.from('agents').select('id').not('id', 'in', '(a1,a2)');
    expect(not.data).toEqual([{ id: 'a3' }]);
    const renamed = await supabase.from('agents').select('agent:id, score::text').eq('id', 'a1');
    expect(renamed.data).toEqual([{ agent: 'a1', score: '7' }]);
  });

  it('returns rows as PostgREST renders them (jsonb, timestamptz)', async () => {
    const { data } = await supabase.from('agents').select('metadata, created_at').eq('id', 'a1').single();
    expect(data).toEqual({ metadata: { tools: ['search'] }, created_at: '2026-01-01T00:00:00+00:00' });
  });

  it('single() with one row gives an object, with none gives 406 PGRST116', async () => {
    const one = await supabase.from('agents').select('name').eq('id', 'a2').single();
    expect(one).toMatchObject({ data: { name: 'Bob' }, error: null, status: 200 });
    const none = await supabase.from('agents').select('name').eq('id', 'nope').single();
    expect(none.status).toBe(406);
    expect(none.data).toBeNull();
    expect(none.error).toMatchObject({ code: 'PGRST116', message: 'JSON object requested, multiple (or no) rows returned', details: 'The result contains 0 rows' });
    const many = await supabase.from('agents').select('name').single();
    expect(many.error).toMatchObject({ code: 'PGRST116', details: 'The result contains 3 rows' });
    const maybe = await supabase.from('agents').select('name').eq('id', 'nope').maybeSingle();
    expect(maybe).toMatchObject({ data: null, error: null });
  });

  it('counts with Prefer: count=exact via Content-Range, with and without rows', async () => {
    const head = await supabase.from('agents').select('*', { count: 'exact', head: true });
    expect(head).toMatchObject({ count: 3, data: null, error: null });
    const page = await supabase.from('agents').select('id', { count: 'exact' }).order('id').range(1, 1);
    expect(page).toMatchObject({ count: 3, data: [{ id: 'a2' }], status: 206 });
    const filtered = await supabase.from('agents').select('id', { count: 'exact' }).eq('role', 'planner');
    expect(filtered).toMatchObject({ count: 1, status: 200 });
  });

  it('inserts with and without return=representation', async () => {
    const minimal = await supabase.from('agents').insert({ id: 'a4', name: 'Di' });
    expect(minimal).toMatchObject({ status: 201, data: null, error: null });
    const represented = await supabase
      .from('agents')
      .insert([
        { id: 'a5', name: 'Eve', metadata: { x: 1 } },
        { id: 'a6', name: 'Fay' },
      ])
      .select('id, name, score, metadata');
    expect(represented.status).toBe(201);
    expect(represented.data).toEqual([
      { id: 'a5', name: 'Eve', score: 0, metadata: { x: 1 } },
      { id: 'a6', name: 'Fay', score: 0, metadata: null },
    ]);
    const single = await supabase.from('events').insert({ agent_id: 'a1', kind: 'started' }).select().single();
    expect(single.data).toEqual({ id: 1, agent_id: 'a1', kind: 'started' });
  });

  it('unique violation → 409 with code 23505 and PostgreSQL details', async () => {
    const { error, status, data } = await supabase.from('agents').insert({ id: 'a1', name: 'again' }).select();
    expect(status).toBe(409);
    expect(data).toBeNull();
    expect(error).toEqual({
      code: '23505',
      message: 'duplicate key value violates unique constraint "agents_pkey"',
      details: 'Key (id)=(a1) already exists.',
      hint: null,
    });
  });

  it('foreign key violation → 409 23503, not-null violation → 400 23502, bad input → 400 22P02', async () => {
    const fk = await supabase.from('events').insert({ agent_id: 'ghost', kind: 'x' });
    expect(fk.status).toBe(409);
    expect(fk.error?.code).toBe('23503');
    const notNull = await supabase.from('agents').insert({ id: 'a9' });
    expect(notNull.status).toBe(400);
    expect(notNull.error?.code).toBe('23502');
    const badInt = await supabase.from('agents').select('id').eq('score', 'lots');
    expect(badInt.status).toBe(400);
    expect(badInt.error).toMatchObject({ code: '22P02', message: 'invalid input syntax for type integer: "lots"' });
  });

  it('unknown column → 400 42703 (select, filter, order) or PGRST204 (body); unknown table → 404 PGRST205', async () => {
    const select = await supabase.from('agents').select('id, nope');
    expect(select.status).toBe(400);
    expect(select.error).toMatchObject({ code: '42703', message: 'column agents.nope does not exist' });
    const filter = await supabase.from('agents').select('id').eq('nope', 1);
    expect(filter.error?.code).toBe('42703');
    const order = await supabase.from('agents').select('id').order('nope');
    expect(order.error?.code).toBe('42703');
    const body = await supabase.from('agents').insert({ id: 'a7', name: 'G', nope: 1 });
    expect(body.status).toBe(400);
    expect(body.error).toMatchObject({ code: 'PGRST204', message: "Could not find the 'nope' column of 'agents' in the schema cache" });
    const table = await supabase.from('nope').select();
    expect(table.status).toBe(404);
    expect(table.error).toMatchObject({ code: 'PGRST205', message: "Could not find the table 'public.nope' in the schema cache" });
  });

  it('treats hostile identifiers as unknown columns, never as SQL', async () => {
    const { error } = await supabase.from('agents').select('id').eq('id"; drop table agents; --', 1);
    expect(error?.code).toBe('42703');
    const { data } = await supabase.from('agents').select('id').eq('id', "a1'; drop table agents; --");
    expect(data).toEqual([]);
    expect(await standIn.query('select count(*)::int as n from agents')).toEqual([{ n: 3 }]);
  });

  it('upserts: merge-duplicates updates, ignore-duplicates keeps, onConflict picks the key', async () => {
    const merged = await supabase.from('agents').upsert({ id: 'a1', name: 'Ada L.' }).select('id, name, score');
    expect(merged.data).toEqual([{ id: 'a1', name: 'Ada L.', score: 7 }]);
    const ignored = await supabase.from('agents').upsert({ id: 'a2', name: 'Robert' }, { ignoreDuplicates: true }).select('id');
    expect(ignored.data).toEqual([]);
    expect(await standIn.query(`select name from agents where id = 'a2'`)).toEqual([{ name: 'Bob' }]);
    await supabase.from('events').insert({ agent_id: 'a1', kind: 'tick' });
    const onConflict = await supabase.from('events').upsert({ agent_id: 'a1', kind: 'tick' }, { onConflict: 'agent_id,kind', ignoreDuplicates: true }).select();
    expect(onConflict).toMatchObject({ status: 201, data: [] });
  });

  it('updates and deletes with filters, returning the rows', async () => {
    const updated = await supabase.from('agents').update({ score: 10, metadata: { tuned: true } }).eq('role', 'critic').select('id, score, metadata');
    expect(updated).toMatchObject({ status: 200, data: [{ id: 'a2', score: 10, metadata: { tuned: true } }] });
    const minimal = await supabase.from('agents').update({ score: 1 }).in('id', ['a1', 'a3']);
    expect(minimal).toMatchObject({ status: 204, data: null, error: null });
    const counted = await supabase.from('agents').update({ role: 'x' }, { count: 'exact' }).gte('score', 1);
    expect(counted.count).toBe(3);
    const deleted = await supabase.from('agents').delete().eq('id', 'a3').select('id');
    expect(deleted).toMatchObject({ status: 200, data: [{ id: 'a3' }] });
    expect(await standIn.query('select id from agents order by id')).toEqual([{ id: 'a1' }, { id: 'a2' }]);
  });

  it('rolls a write back when single() does not match one row', async () => {
    const result = await supabase.from('agents').update({ score: 0 }).gte('score', 0).select().single();
    expect(result.status).toBe(406);
    expect(result.error?.code).toBe('PGRST116');
    expect(await standIn.query('select score from agents order by id')).toEqual([{ score: 7 }, { score: 3 }, { score: 5 }]);
  });

  it('rejects a wrong API key with 401 and records request headers', async () => {
    const seen: string[] = [];
    const subscription = standIn.onRequest((event) => seen.push(`${event.method} ${event.status} ${String(event.headers['x-trace'])}`));
    const wrong = await client(standIn.url, 'wrong').from('agents').select();
    expect(wrong.status).toBe(401);
    expect(wrong.error).toMatchObject({ message: 'Invalid API key' });
    await createClient(standIn.url, 'test-key', { global: { headers: { 'x-trace': 't1' } } }).from('agents').select('id');
    subscription.dispose();
    expect(seen).toEqual(['GET 401 undefined', 'GET 200 t1']);
  });

  it('sees tables created after start', async () => {
    await standIn.query('create table if not exists notes (id int primary key, body text)');
    const { error, status } = await supabase.from('notes').insert({ id: 1, body: 'hi' });
    expect({ error, status }).toEqual({ error: null, status: 201 });
  });

  it('through a FaultProxy: injected 503 and a refused connection reach the client as supabase-js reports them', async () => {
    const proxy = new FaultProxy({ target: standIn.url });
    await proxy.start();
    try {
      const viaProxy = client(proxy.url);
      expect((await viaProxy.from('agents').select('id').eq('id', 'a1')).data).toEqual([{ id: 'a1' }]);
      await proxy.setFaults({ errorStatus: { status: 503 } });
      const unavailable = await viaProxy.from('agents').select('id').retry(false);
      expect(unavailable.status).toBe(503);
      expect(unavailable.error?.message).toContain('503');
      await proxy.setFaults({ refuse: true });
      const refused = await viaProxy.from('agents').select('id').retry(false);
      expect(refused.status).toBe(0);
      expect(refused.error?.message).toBe('TypeError: fetch failed');
      expect(refused.error?.details).toContain('ECONNREFUSED');
      expect(proxy.stats().requests).toMatchObject({ forwarded: 1, injected: 1 });
    } finally {
      await proxy.stop();
    }
  });
});

describe('SupabaseStandIn with a PostgreSQL server', () => {
  const dbSchema = `testkit_${process.pid}_${Date.now()}`;
  const standIn = new SupabaseStandIn({
    databaseUrl: process.env['PHLOW_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test',
    dbSchema,
    schemaSql: `create schema ${dbSchema}; create table ${dbSchema}.agents (id text primary key, name text not null, score int default 0);`,
  });

  beforeAll(() => standIn.start(), 30_000);
  afterAll(async () => {
    await standIn.query(`drop schema ${dbSchema} cascade`);
    await standIn.stop();
  });

  it('runs the same CRUD and error shapes', async () => {
    expect(standIn.databaseKind).toBe('postgres');
    // Like a real project with a non-public schema: the client names the schema it talks to.
    const supabase = client(standIn.url, 'any', dbSchema);
    const wrongSchema = await client(standIn.url).from('agents').select();
    expect(wrongSchema.error).toMatchObject({ code: 'PGRST106', message: 'Invalid schema: public' });
    expect((await supabase.from('agents').insert({ id: 'p1', name: 'Pg' }).select()).data).toEqual([{ id: 'p1', name: 'Pg', score: 0 }]);
    const duplicate = await supabase.from('agents').insert({ id: 'p1', name: 'again' });
    expect(duplicate.status).toBe(409);
    expect(duplicate.error?.code).toBe('23505');
    const updated = await supabase.from('agents').update({ score: 2 }).eq('id', 'p1').select('score').single();
    expect(updated.data).toEqual({ score: 2 });
    const counted = await supabase.from('agents').select('*', { count: 'exact', head: true });
    expect(counted.count).toBe(1);
  });
});

describe('SupabaseStandIn options', () => {
  it('rejects bad options naming option, value and what is allowed', () => {
    expect(() => new SupabaseStandIn({ databaseUrl: 'mysql://x' })).toThrow(
      new TypeError('SupabaseStandIn: option "databaseUrl" must be a postgres:// or postgresql:// URL, got "mysql://x"'),
    );
    expect(() => new SupabaseStandIn({ port: -1 })).toThrow(RangeError);
    expect(() => new SupabaseStandIn({ schemaSql: 42 as never })).toThrow(/option "schemaSql" must be a string, got 42/);
  });
});
