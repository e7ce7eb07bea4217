/**
 * Writes as an attacker (or a buggy caller) would send them: values PostgreSQL cannot store, huge rows,
 * a reused key, a row the database refuses for ever in the middle of a queue, an outbox filled to its
 * caps, prototype-pollution keys. Against real PostgreSQL through the stand-in.
 */
import { join } from 'node:path';
import { waitFor } from '@phlow/test-helpers';
import { describe, expect, it } from 'vitest';
import { OutboxError, OutboxFullError, UnstorableRowError } from './outbox-errors.js';
import { SupabaseOutbox } from './supabase-outbox.js';
import { useOutboxes } from './test-database.test-util.js';

const { project: currentProject, outbox } = useOutboxes('hostile', ['messages']);

describe('input the database cannot store is refused before it is queued', () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['a NUL character', { conversation_id: 'c', body: 'a\u0000b' }, /row\.body holds a NUL character \(U\+0000, index 1\)/],
    ['a lone high surrogate', { conversation_id: 'c', body: 'x\ud800' }, /row\.body holds a lone surrogate/],
    ['a lone low surrogate in jsonb', { conversation_id: 'c', body: 'ok', meta: { tags: ['fine', '\udc00'] } }, /row\.meta\.tags\[1\] holds a lone surrogate/],
    ['a NUL in a jsonb key', { conversation_id: 'c', body: 'ok', meta: { 'k\u0000': 1 } }, /key "k\\u0000" holds a NUL/],
    ['NaN', { conversation_id: 'c', body: 'ok', meta: { score: Number.NaN } }, /row\.meta\.score is NaN: JSON has no such number/],
    ['Infinity', { conversation_id: 'c', body: 'ok', meta: { score: Infinity } }, /is Infinity/],
    ['a bigint', { conversation_id: 'c', body: 'ok', meta: { n: 10n } }, /row\.meta\.n is a bigint/],
    ['a function', { conversation_id: 'c', body: 'ok', meta: { f: () => 1 } }, /row\.meta\.f is a function/],
  ];
  for (const [what, row, message] of cases) {
    it(`${what}: UnstorableRowError naming where, nothing queued or sent`, async () => {
      const o = outbox();
      const error = await o.insert('messages', row).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnstorableRowError);
      expect(OutboxError.isInstance(error)).toBe(true);
      expect((error as Error).message).toMatch(message);
      expect(o.stats).toMatchObject({ pending: 0, refused: 1, delivered: 0 });
      expect(await currentProject().rows()).toEqual([]);
    });
  }

  it('a cycle, an array, null, a row too large, an order column of its own are refused', async () => {
    const o = outbox({ maxRowBytes: 1_024 });
    const cyclic: Record<string, unknown> = { conversation_id: 'c', body: 'ok' };
    cyclic['meta'] = { self: cyclic };
    await expect(o.insert('messages', cyclic)).rejects.toThrow(/refers back to itself/);
    await expect(o.insert('messages', [] as never)).rejects.toThrow(/must be a plain object \(one row\); got an array/);
    await expect(o.insert('messages', null as never)).rejects.toThrow(/got null/);
    await expect(o.insert('messages', { conversation_id: 'c', body: 'x'.repeat(2_000) })).rejects.toThrow(/the row is \d+ bytes as JSON; up to 1024 \(maxRowBytes\)/);
    await expect(o.insert('messages', { conversation_id: 'c', body: 'x', outbox_seq: 1 })).rejects.toThrow(/set by the outbox/);
    await expect(o.insert('messages; drop table messages', { body: 'x' })).rejects.toThrow(TypeError);
    await expect(o.insert('messages', { body: 'x' }, { conversation: 'c'.repeat(201) })).rejects.toThrow(/conversation must be a string of up to 200/);
    await expect(o.insert('messages', { body: 'x' }, { key: '\ud800' })).rejects.toThrow(/idempotency key must be/);
    expect(o.stats.pending).toBe(0);
  });

  it('prototype-pollution keys are stored as plain data and pollute nothing', async () => {
    const o = outbox();
    const meta = JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}') as Record<string, unknown>;
    const receipt = await o.insert('messages', { conversation_id: 'c', body: 'proto', meta });
    expect(receipt.state).toBe('stored');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    const [row] = await currentProject().rows();
    expect(row!['meta']).toEqual(meta);
  });
});

describe('poison writes', () => {
  it('a row Postgres refuses for ever in the middle of a queue goes to the dead letters with its reason; the rest land in order', async () => {
    await currentProject().proxy.setFaults({ refuse: true });
    const o = outbox();
    for (let i = 0; i < 5; i++) {
      // The check constraint allows 10 000 characters: the middle row breaks it.
      const body = i === 2 ? 'y'.repeat(10_001) : `q${i}`;
      await o.insert('messages', { conversation_id: 'c', body }, { conversation: 'c', key: `k${i}` });
    }
    await currentProject().proxy.clearFaults();
    await waitFor('the queue to drain', () => o.stats.pending === 0);
    expect((await currentProject().rows()).map((r) => r['body'])).toEqual(['q0', 'q1', 'q3', 'q4']);
    expect(o.stats).toMatchObject({ deadLetters: 1, delivered: 4 });
    const [dead] = o.deadLetters();
    expect(dead).toMatchObject({ key: 'k2', conversation: 'c', table: 'messages', operation: 'insert', code: '23514', status: 400 });
    expect(dead!.reason).toMatch(/check constraint/);
    expect(dead!.row['body']).toHaveLength(10_001);

    // Later writes are not held back by it; discarding it empties the dead letters.
    expect((await o.insert('messages', { conversation_id: 'c', body: 'after' })).state).toBe('stored');
    expect(o.discardDeadLetters(['k2'])).toBe(1);
    expect(o.stats.deadLetters).toBe(0);
  });

  it('dead letters outlive the process (the operator must see them)', async () => {
    const path = join(currentProject().dir, 'dead.sqlite');
    const first = new SupabaseOutbox({ supabase: currentProject().client, path });
    await first.insert('messages', { conversation_id: 'c', body: 'z'.repeat(10_001) });
    expect(first.stats.deadLetters).toBe(1);
    await first.close();
    const second = outbox({ path });
    expect(second.stats.deadLetters).toBe(1);
  });

  it('a missing column is not poison: the write waits with its conversation until the table is migrated; other conversations go on', async () => {
    const o = outbox();
    const receipt = await o.insert('messages', { conversation_id: 'a', body: 'needs migration', priority: 3 }, { conversation: 'a' });
    expect(receipt.state).toBe('queued');
    expect(o.stats).toMatchObject({ pending: 1, deadLetters: 0 });
    expect(o.stats.lastError).toMatch(/priority/);
    expect(o.stats.lastErrorKind).toBe('attention');
    // Its conversation keeps its order (waits behind it); another conversation is not held back.
    expect((await o.insert('messages', { conversation_id: 'a', body: 'a, after it' }, { conversation: 'a' })).state).toBe('queued');
    expect((await o.insert('messages', { conversation_id: 'b', body: 'b goes on' }, { conversation: 'b' })).state).toBe('stored');
    expect((await currentProject().rows()).map((r) => r['body'])).toEqual(['b goes on']);
    await currentProject().standIn.query(`alter table ${currentProject().schema}.messages add column priority int`);
    await waitFor('the writes to land', () => o.stats.pending === 0);
    expect((await currentProject().rows()).map((r) => [r['body'], r['priority']])).toEqual([['b goes on', null], ['needs migration', 3], ['a, after it', null]]);
    await currentProject().standIn.query(`alter table ${currentProject().schema}.messages drop column priority`);
  });
});

describe('key collisions', () => {
  it('a second write with a key already waiting is refused; one already landed is not written twice', async () => {
    await currentProject().proxy.setFaults({ refuse: true });
    const o = outbox();
    await o.insert('messages', { conversation_id: 'c', body: 'original' }, { key: 'same' });
    await expect(o.insert('messages', { conversation_id: 'c', body: 'impostor' }, { key: 'same' })).rejects.toThrow(/already waiting: one key is one write/);
    await expect(o.insert('messages', { conversation_id: 'c', body: 'impostor', idempotency_key: 'same' })).rejects.toThrow(/already waiting/);
    await currentProject().proxy.clearFaults();
    await waitFor('the write to land', () => o.stats.pending === 0);
    const late = await o.insert('messages', { conversation_id: 'c', body: 'impostor' }, { key: 'same' });
    expect(late.state).toBe('duplicate');
    expect((await currentProject().rows()).map((r) => r['body'])).toEqual(['original']);
  });
});

describe('caps', () => {
  it('full in rows: the next write is refused with OutboxFullError, nothing is dropped, and it takes writes again once drained', async () => {
    await currentProject().proxy.setFaults({ refuse: true });
    const o = outbox({ maxRows: 3 });
    for (let i = 0; i < 3; i++) await o.insert('messages', { conversation_id: 'c', body: `f${i}` });
    const error = await o.insert('messages', { conversation_id: 'c', body: 'one too many' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutboxFullError);
    expect(error).toMatchObject({ code: 'OUTBOX_FULL', limit: 'rows' });
    expect((error as Error).message).toMatch(/3 writes wait \(maxRows 3\); refused, nothing was dropped/);
    expect(o.stats).toMatchObject({ pending: 3, refused: 1 });
    await currentProject().proxy.clearFaults();
    await waitFor('the outbox to drain', () => o.stats.pending === 0);
    expect((await currentProject().rows()).map((r) => r['body'])).toEqual(['f0', 'f1', 'f2']);
    expect((await o.insert('messages', { conversation_id: 'c', body: 'room again' })).state).toBe('stored');
  });

  it('full in bytes, also for writes of one event-loop turn (group commit)', async () => {
    await currentProject().proxy.setFaults({ refuse: true });
    const o = outbox({ maxBytes: 2_000, maxRowBytes: 1_000 });
    const settled = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => o.insert('messages', { conversation_id: 'c', body: `${i}`.repeat(500) })));
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'rejected']);
    expect((settled[3] as PromiseRejectedResult).reason).toMatchObject({ limit: 'bytes' });
    expect(o.stats.pendingBytes).toBeLessThanOrEqual(2_000);
    expect(o.stats.pending).toBe(3);
  });

  it('huge rows queued together land in requests the server takes (bounded in bytes, none refused as too large)', async () => {
    await currentProject().proxy.setFaults({ refuse: true });
    const o = outbox({ maxRowBytes: 1_048_576 });
    for (let i = 0; i < 12; i++) await o.insert('messages', { conversation_id: 'c', body: `h${i}`, meta: { blob: 'x'.repeat(900_000) } });
    const statuses: number[] = [];
    const listener = currentProject().standIn.onRequest((event) => statuses.push(event.status));
    await currentProject().proxy.clearFaults();
    await waitFor('the huge rows to land', () => o.stats.pending === 0);
    listener.dispose();
    expect(statuses.length).toBeGreaterThan(1);
    expect(statuses.every((status) => status === 201)).toBe(true);
    expect((await currentProject().rows()).map((r) => r['body'])).toEqual(Array.from({ length: 12 }, (_, i) => `h${i}`));
    expect(o.stats.deadLetters).toBe(0);
  });

  it('a burst of 2 000 writes while Supabase is away: all accepted ones land, once each', async () => {
    await currentProject().proxy.setFaults({ refuse: true });
    const o = outbox({ batchSize: 250 });
    const receipts = await Promise.all(Array.from({ length: 2_000 }, (_, i) => o.insert('messages', { conversation_id: `c${i % 7}`, body: `b${i}` }, { conversation: `c${i % 7}` })));
    expect(new Set(receipts.map((r) => r.key)).size).toBe(2_000);
    await currentProject().proxy.clearFaults();
    await waitFor('the burst to land', () => o.stats.pending === 0);
    const rows = await currentProject().standIn.query(`select conversation_id, body, outbox_seq from ${currentProject().schema}.messages order by id`);
    expect(rows).toHaveLength(2_000);
    expect(rows.map((r) => r['body'])).toEqual(receipts.map((_, i) => `b${i}`));
  });
});
