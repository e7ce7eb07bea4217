/**
 * Where an attacker (or bad luck) would break the outbox's promises: two upserts of one row waiting in
 * one batch, a row the database answers with a 5xx for ever, a server that answers 200 with garbage, a
 * second process on the same file, a corrupted file, a clock far in the future, close() called twice,
 * objects whose JSON is not what was checked. Against real PostgreSQL through the stand-in.
 */
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@phlow/test-helpers';
import { createClient } from '@supabase/supabase-js';
import { describe, expect, it } from 'vitest';
import { UnstorableRowError } from './outbox-errors.js';
import { checkStorable } from './storable-row.js';
import { SupabaseOutbox } from './supabase-outbox.js';
import { useOutboxes } from './test-database.test-util.js';

const { project: currentProject, outbox } = useOutboxes('attack');

describe('replay', () => {
  it('two upserts of one row waiting in one batch land, the newer one last (one request cannot update a row twice)', async () => {
    await currentProject().proxy.setFaults({ refuse: true });
    const o = outbox();
    await o.upsert('profiles', { id: 'p1', name: 'Ada' }, { onConflict: 'id', conversation: 'p1' });
    await o.upsert('profiles', { id: 'p2', name: 'Bob' }, { onConflict: 'id', conversation: 'p2' });
    await o.upsert('profiles', { id: 'p1', name: 'Ada L.' }, { onConflict: 'id', conversation: 'p1' });
    await currentProject().proxy.clearFaults();
    await waitFor('the upserts to land', () => o.stats.pending === 0, { timeoutMs: 3_000 });
    expect(o.stats).toMatchObject({ pending: 0, deadLetters: 0, lastError: null });
    expect((await currentProject().rows('profiles')).map((r) => [r['id'], r['name']]).sort()).toEqual([['p1', 'Ada L.'], ['p2', 'Bob']]);
  });

  it('a row the database answers with a 5xx for ever (an index row too large, SQLSTATE 54000) is dead-lettered; the queue behind it lands', async () => {
    await currentProject().standIn.query(`create index messages_meta_text on ${currentProject().schema}.messages ((meta::text))`);
    try {
      await currentProject().proxy.setFaults({ refuse: true });
      const o = outbox();
      // Incompressible text: too large for a btree index entry (PostgreSQL: "index row size ... exceeds ... maximum").
      const noise = randomBytes(9_000).toString('base64');
      for (let i = 0; i < 4; i++) await o.insert('messages', { conversation_id: 'c', body: `q${i}`, meta: i === 1 ? { noise } : { i } }, { conversation: 'c', key: `k${i}` });
      await currentProject().proxy.clearFaults();
      await waitFor('the queue to drain', () => o.stats.pending === 0, { timeoutMs: 5_000 });
      expect((await currentProject().rows()).map((r) => r['body'])).toEqual(['q0', 'q2', 'q3']);
      expect(o.deadLetters()).toMatchObject([{ key: 'k1', code: '54000', status: 500 }]);
    } finally {
      await currentProject().standIn.query(`drop index ${currentProject().schema}.messages_meta_text`);
    }
  });

  it('a row a trigger refuses (raise: P0001, 400; assert: P0004, 500) is dead-lettered; neither its conversation nor the queue waits for ever', async () => {
    const { schema } = currentProject();
    await currentProject().standIn.query(`
      create function ${schema}.refuse_some() returns trigger language plpgsql as $$
      begin
        if new.body = 'forbidden' then raise exception 'body % is not allowed', new.body; end if;
        assert new.body <> 'asserted', 'no asserted bodies';
        return new;
      end $$;
      create trigger refuse_some before insert on ${schema}.messages for each row execute function ${schema}.refuse_some();`);
    try {
      await currentProject().proxy.setFaults({ refuse: true });
      const o = outbox();
      for (const body of ['q0', 'forbidden', 'q1', 'asserted', 'q2']) await o.insert('messages', { conversation_id: 'c', body }, { conversation: 'c', key: body });
      await currentProject().proxy.clearFaults();
      await waitFor('the queue to drain', () => o.stats.pending === 0, { timeoutMs: 5_000 });
      expect((await currentProject().rows()).map((r) => r['body'])).toEqual(['q0', 'q1', 'q2']);
      expect(o.deadLetters()).toMatchObject([
        { key: 'forbidden', code: 'P0001', status: 400, reason: expect.stringMatching(/body forbidden is not allowed/) },
        { key: 'asserted', code: 'P0004', status: 500, reason: expect.stringMatching(/no asserted bodies/) },
      ]);
    } finally {
      await currentProject().standIn.query(`drop trigger refuse_some on ${schema}.messages; drop function ${schema}.refuse_some()`);
    }
  });

  it('dead letters count against the caps: a flood of refused rows fills the outbox (refused, named) instead of the disk', async () => {
    const o = outbox({ maxRows: 3 });
    for (let i = 0; i < 3; i++) await o.insert('messages', { conversation_id: 'c', body: 'z'.repeat(10_001) }, { key: `dead-${i}` });
    expect(o.stats).toMatchObject({ pending: 0, deadLetters: 3 });
    const error = await o.insert('messages', { conversation_id: 'c', body: 'fine' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'OutboxFullError', limit: 'rows' });
    expect((error as Error).message).toMatch(/0 writes wait and 3 dead letters are kept \(maxRows 3\)/);
    // Handling the dead letters makes room again.
    expect(o.discardDeadLetters()).toBe(3);
    expect((await o.insert('messages', { conversation_id: 'c', body: 'fine' })).state).toBe('stored');
  });

  it('a table whose key column lacks its unique constraint: a key given twice is not written twice, and the error names the missing constraint', async () => {
    await currentProject().standIn.query(`alter table ${currentProject().schema}.messages drop constraint messages_idempotency_key_key`);
    try {
      const o = outbox();
      await o.insert('messages', { conversation_id: 'c', body: 'first' }, { key: 'request-1', conversation: 'c' });
      await o.insert('messages', { conversation_id: 'c', body: 'client retry' }, { key: 'request-1', conversation: 'c' }).catch(() => undefined);
      expect((await currentProject().rows()).filter((r) => r['idempotency_key'] === 'request-1').length).toBeLessThanOrEqual(1);
      expect(o.stats).toMatchObject({ lastErrorKind: 'attention', lastError: expect.stringMatching(/no unique or exclusion constraint matching the ON CONFLICT/) });
    } finally {
      await currentProject().standIn.query(`truncate ${currentProject().schema}.messages; alter table ${currentProject().schema}.messages add constraint messages_idempotency_key_key unique (idempotency_key)`);
    }
  });

  it('the database takes a batch but the answer is lost: replayed, each row once, counted as duplicates', async () => {
    // The request reaches PostgREST and commits; the answer never comes back (a connection cut after
    // the commit). A fetch of the client's own drops the answer, since no proxy can cut after the commit.
    let lose = 1;
    const lossy = createClient(currentProject().proxy.url, 'test-key', {
      auth: { persistSession: false, autoRefreshToken: false },
      db: { schema: currentProject().schema },
      global: {
        fetch: async (input, init) => {
          const response = await fetch(input, init);
          if (init?.method === 'POST' && lose-- > 0) {
            await response.arrayBuffer();
            throw new TypeError('fetch failed', { cause: new Error('socket hang up') });
          }
          return response;
        },
      },
    });
    await currentProject().proxy.setFaults({ refuse: true });
    const o = outbox({ supabase: lossy, path: join(currentProject().dir, 'lossy.sqlite') });
    for (let i = 0; i < 5; i++) await o.insert('messages', { conversation_id: 'c', body: `m${i}` }, { conversation: 'c' });
    await currentProject().proxy.clearFaults();
    await waitFor('the replay', () => o.stats.pending === 0);
    expect((await currentProject().rows()).map((r) => r['body'])).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    expect(o.stats).toMatchObject({ duplicates: 5, deadLetters: 0, lastError: null });
  });

  it('a held conversation with a backlog: other conversations land write after write, a new write of the held one waits its turn, all land in order once fixed', async () => {
    const o = outbox();
    for (let i = 0; i < 30; i++) expect((await o.insert('messages', { conversation_id: 'a', body: `a${i}`, priority: i }, { conversation: 'a' })).state).toBe('queued');
    for (let i = 0; i < 10; i++) expect((await o.insert('messages', { conversation_id: 'b', body: `b${i}` }, { conversation: 'b' })).state).toBe('stored');
    // A write of the held conversation that the table would take: it still waits behind the others.
    expect((await o.insert('messages', { conversation_id: 'a', body: 'a-last' }, { conversation: 'a' })).state).toBe('queued');
    expect(o.stats).toMatchObject({ pending: 31, lastErrorKind: 'attention' });
    await currentProject().standIn.query(`alter table ${currentProject().schema}.messages add column priority int`);
    try {
      await waitFor('the held writes to land', () => o.stats.pending === 0);
      const rows = await currentProject().rows();
      expect(rows.filter((r) => r['conversation_id'] === 'a').map((r) => r['body'])).toEqual([...Array.from({ length: 30 }, (_, i) => `a${i}`), 'a-last']);
      expect(rows.filter((r) => r['conversation_id'] === 'b')).toHaveLength(10);
    } finally {
      await currentProject().standIn.query(`alter table ${currentProject().schema}.messages drop column priority`);
    }
  });

  it('a server answering 200 with something that is not the rows does not make waiting writes vanish', async () => {
    // A gateway (captive portal, misrouted proxy) answers 200 without forwarding: a custom fetch plays
    // it, since the point is that the request never reached PostgREST.
    const liar = createClient(currentProject().proxy.url, 'test-key', {
      auth: { persistSession: false, autoRefreshToken: false },
      db: { schema: currentProject().schema },
      global: { fetch: async () => new Response(JSON.stringify({ ok: true }), { status: 200, headers: { 'content-type': 'application/json' } }) },
    });
    const path = join(currentProject().dir, 'liar.sqlite');
    // Also a 2xx with rows that are not the ones sent (another request's answer).
    const confused = createClient(currentProject().proxy.url, 'test-key', {
      auth: { persistSession: false, autoRefreshToken: false },
      db: { schema: currentProject().schema },
      global: { fetch: async () => new Response(JSON.stringify([{ idempotency_key: 'someone-else' }]), { status: 201, headers: { 'content-type': 'application/json' } }) },
    });
    const other = new SupabaseOutbox({ supabase: confused, path: join(currentProject().dir, 'confused.sqlite'), retryIntervalMs: 20 });
    expect((await other.insert('messages', { conversation_id: 'c', body: 'x' })).state).toBe('queued');
    expect(other.stats).toMatchObject({ pending: 1, lastErrorKind: 'attention' });
    await other.close();

    const o = new SupabaseOutbox({ supabase: liar, path, retryIntervalMs: 20 });
    const receipt = await o.insert('messages', { conversation_id: 'c', body: 'must land' });
    expect(receipt.state).toBe('queued');
    expect(o.stats.pending).toBe(1);
    expect(o.stats).toMatchObject({ lastError: expect.stringMatching(/Supabase answered 200 but the body is not the rows written \(\{"ok":true\}\)/), lastErrorKind: 'attention' });
    await o.close();
    const honest = outbox({ path });
    await waitFor('the write to land', () => honest.stats.pending === 0);
    expect((await currentProject().rows()).map((r) => r['body'])).toEqual(['must land']);
  });
});

describe('operator calls given nonsense', () => {
  it('deadLetters(limit), discardDeadLetters(keys) and close({ timeoutMs }) check what they are given', async () => {
    const o = outbox();
    expect(() => o.deadLetters(-1)).toThrow(/deadLetters: limit must be an integer from 1 to 10000; got -1/);
    expect(() => o.deadLetters(Number.NaN)).toThrow(RangeError);
    // A string would be iterated letter by letter.
    expect(() => o.discardDeadLetters('k1' as unknown as string[])).toThrow(/keys must be an array of idempotency keys/);
    expect(() => o.close({ timeoutMs: -5 })).toThrow(/close: timeoutMs must be/);
    expect(o.deadLetters(1)).toEqual([]);
  });
});

describe('the file', () => {
  it('a second outbox on the same file is refused, naming the file (two replayers would race and count wrong)', async () => {
    const path = join(currentProject().dir, 'shared.sqlite');
    const first = outbox({ path });
    await first.insert('messages', { conversation_id: 'c', body: 'one' });
    expect(() => new SupabaseOutbox({ supabase: currentProject().client, path })).toThrow(/shared\.sqlite is in use by another outbox/);
    await first.close();
    // Once closed, the file can be opened again.
    const second = outbox({ path });
    expect(second.stats.pending).toBe(0);
  });

  it('close() called twice: the second resolves only once the file is closed', async () => {
    const path = join(currentProject().dir, 'twice.sqlite');
    const o = new SupabaseOutbox({ supabase: currentProject().client, path, retryIntervalMs: 20 });
    await currentProject().proxy.setFaults({ latency: { ms: 300 } });
    void o.insert('messages', { conversation_id: 'c', body: 'in flight' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    void o.close();
    await o.close();
    const next = outbox({ path });
    await currentProject().proxy.clearFaults();
    await waitFor('nothing to wait', () => next.stats.pending === 0);
    expect((await currentProject().rows()).map((r) => r['body'])).toEqual(['in flight']);
  });

  it('a path whose folder cannot be made names the file', () => {
    expect(() => new SupabaseOutbox({ supabase: currentProject().client, path: '/dev/null/outbox.sqlite' })).toThrow(/outbox file \/dev\/null\/outbox\.sqlite cannot be opened: .*(ENOTDIR|EEXIST)/);
  });

  // A full disk for real: a 256 KiB tmpfs. Mounting needs root (CAP_SYS_ADMIN); elsewhere the test is skipped.
  const fullDisk = join(tmpdir(), `phlow-outbox-full-${process.pid}`);
  const mountFullDisk = () => {
    mkdirSync(fullDisk, { recursive: true });
    return spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', fullDisk]).status === 0;
  };
  const unmountFullDisk = () => {
    spawnSync('umount', [fullDisk]);
    rmSync(fullDisk, { recursive: true, force: true });
  };
  // Probed once here (mounted and unmounted at once), mounted again by the test itself.
  const canMount = process.getuid?.() === 0 && mountFullDisk();
  if (canMount) unmountFullDisk();
  it.skipIf(!canMount)('a full disk: writes past it are refused naming the file and the cause; those before it stay accepted, also after a restart', async () => {
    expect(mountFullDisk()).toBe(true);
    try {
      const path = join(fullDisk, 'outbox.sqlite');
      const o = new SupabaseOutbox({ supabase: currentProject().client, path, breaker: () => ({ state: 'open' }) });
      let accepted = 0;
      let refusal: unknown;
      for (let i = 0; i < 400 && refusal === undefined; i++) {
        await o.insert('messages', { conversation_id: 'c', body: `${i} ${'x'.repeat(1_000)}` }).then(() => accepted++, (error: unknown) => (refusal = error));
      }
      expect(accepted).toBeGreaterThan(0);
      expect((refusal as Error).message).toMatch(new RegExp(`outbox supabase: the write could not be committed to ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(database or disk is full\\): it was not accepted`));
      expect(o.stats.pending).toBe(accepted);
      await o.close();
      const reopened = new SupabaseOutbox({ supabase: currentProject().client, path, breaker: () => ({ state: 'open' }) });
      expect(reopened.stats.pending).toBe(accepted);
      await reopened.close();
    } finally {
      unmountFullDisk();
    }
  });

  it('a corrupted file is refused with an error naming it (never silently replaced: it holds accepted writes)', () => {
    const path = join(currentProject().dir, 'corrupt.sqlite');
    writeFileSync(path, Buffer.alloc(8_192, 0x5a));
    expect(() => new SupabaseOutbox({ supabase: currentProject().client, path })).toThrow(/corrupt\.sqlite.*not a database|not a database.*corrupt\.sqlite/);
    expect(readFileSync(path).subarray(0, 4).toString('hex')).toBe('5a5a5a5a');
  });
});

describe('hostile values', () => {
  it('a clock far in the future does not give two writes one sequence number', async () => {
    await currentProject().proxy.setFaults({ refuse: true });
    const o = outbox({ now: () => 1e13 });
    const a = o.insert('messages', { conversation_id: 'c', body: 'a' });
    const b = o.insert('messages', { conversation_id: 'c', body: 'b' });
    const [ra, rb] = await Promise.all([a, b]);
    expect(Number.isSafeInteger(ra.seq) && Number.isSafeInteger(rb.seq)).toBe(true);
    expect(rb.seq).toBeGreaterThan(ra.seq);
  });

  it('a clock with fractions of a millisecond (performance.timeOrigin + performance.now()) or NaN still commits', async () => {
    await currentProject().proxy.setFaults({ refuse: true });
    let t = 1_800_000_000_000.25;
    const o = outbox({ now: () => (t += 0.5) });
    const first = await o.insert('messages', { conversation_id: 'c', body: 'a' });
    t = Number.NaN;
    const second = await o.insert('messages', { conversation_id: 'c', body: 'b' });
    expect(second.seq).toBeGreaterThan(first.seq);
    expect(o.stats.pending).toBe(2);
  });

  it('a clock stepping back an hour does not hold a conversation for an hour', async () => {
    let t = Date.now();
    const o = outbox({ now: () => t });
    const receipt = await o.insert('messages', { conversation_id: 'a', body: 'needs migration', priority: 3 }, { conversation: 'a' });
    expect(receipt.state).toBe('queued');
    t -= 3_600_000; // NTP steps the wall clock back
    await currentProject().standIn.query(`alter table ${currentProject().schema}.messages add column priority int`);
    try {
      await waitFor('the held write to land', () => o.stats.pending === 0, { timeoutMs: 3_000 });
      expect((await currentProject().rows()).map((r) => r['body'])).toEqual(['needs migration']);
    } finally {
      await currentProject().standIn.query(`alter table ${currentProject().schema}.messages drop column priority`);
    }
  });

  it('an object whose JSON is not what was walked (toJSON, a Map) is refused before it is queued', async () => {
    class Sneaky {
      toJSON(): string {
        return 'x\ud800';
      }
    }
    const o = outbox();
    await expect(o.insert('messages', { conversation_id: 'c', body: 'ok', meta: { s: new Sneaky() } })).rejects.toThrow(UnstorableRowError);
    await expect(o.insert('messages', { conversation_id: 'c', body: 'ok', meta: { m: new Map([['a', 1]]) } })).rejects.toThrow(/row\.meta\.m is a Map/);
    expect(o.stats.pending).toBe(0);
  });
});

describe('checkStorable', () => {
  it('refuses before anything is done what insert() would refuse, naming the path', () => {
    expect(() => checkStorable('a\u0000b', 'text')).toThrow(/text holds a NUL character \(U\+0000, index 1\)/);
    expect(() => checkStorable('x\udc00', 'text')).toThrow(UnstorableRowError);
    expect(() => checkStorable({ deep: [Number.NaN] })).toThrow(/value\.deep\[0\] is NaN/);
    expect(() => checkStorable('fine 🙂', 'text')).not.toThrow();
  });
});
