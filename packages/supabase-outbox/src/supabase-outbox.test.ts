import { join } from 'node:path';
import { waitFor } from '@phlow/test-helpers';
import { describe, expect, it } from 'vitest';
import { SupabaseOutbox } from './supabase-outbox.js';
import { useOutboxes } from './test-database.test-util.js';

const { project: currentProject, outbox } = useOutboxes('outbox');

describe('SupabaseOutbox against PostgreSQL through the stand-in', () => {
  it('writes at once when Supabase takes it: the row carries its key and order', async () => {
    const o = outbox();
    const receipt = await o.insert('messages', { conversation_id: 'c1', body: 'hello' }, { conversation: 'c1' });
    expect(receipt.state).toBe('stored');
    const rows = await currentProject().rows();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ conversation_id: 'c1', body: 'hello', idempotency_key: receipt.key, outbox_seq: String(receipt.seq), replayed: false });
    expect(o.stats).toMatchObject({ pending: 0, delivered: 1, replayed: 0, deadLetters: 0 });
  });

  it('while Supabase is away writes wait on disk, then land once each, in order, marked replayed', async () => {
    await currentProject().proxy.setFaults({ refuse: true });
    const o = outbox({ replayedColumn: 'replayed' });
    const receipts = [];
    for (let i = 0; i < 5; i++) receipts.push(await o.insert('messages', { conversation_id: i % 2 ? 'odd' : 'even', body: `m${i}` }, { conversation: i % 2 ? 'odd' : 'even' }));
    expect(receipts.map((r) => r.state)).toEqual(['queued', 'queued', 'queued', 'queued', 'queued']);
    expect(o.stats.pending).toBe(5);
    expect(o.stats.lastError).toMatch(/fetch failed|ECONNREFUSED/);
    expect(await currentProject().rows()).toEqual([]);

    await currentProject().proxy.clearFaults();
    await waitFor('the outbox to drain', () => o.stats.pending === 0);
    const rows = await currentProject().rows();
    expect(rows.map((r) => r['body'])).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    expect(rows.every((r) => r['replayed'] === true)).toBe(true);
    expect(o.stats).toMatchObject({ delivered: 5, replayed: 5, duplicates: 0, lastError: null });
  });

  it('survives its process: a new outbox on the same file replays what the old one accepted', async () => {
    await currentProject().proxy.setFaults({ refuse: true });
    const path = join(currentProject().dir, 'restart.sqlite');
    const first = new SupabaseOutbox({ supabase: currentProject().client, path, retryIntervalMs: 20 });
    for (let i = 0; i < 3; i++) await first.insert('messages', { conversation_id: 'c', body: `r${i}` });
    await first.close();
    await currentProject().proxy.clearFaults();
    const second = outbox({ path });
    await waitFor('the replay', () => second.stats.pending === 0 && second.stats.delivered === 3);
    expect((await currentProject().rows()).map((r) => r['body'])).toEqual(['r0', 'r1', 'r2']);
    expect(second.stats.replayed).toBe(3);
  });

  it('a write whose earlier attempt landed (same key) is not written twice', async () => {
    const o = outbox();
    const key = 'request-7f3a';
    await currentProject().standIn.query(`insert into ${currentProject().schema}.messages (conversation_id, body, idempotency_key, outbox_seq) values ('c', 'first try', $1, 1)`, [key]);
    const receipt = await o.insert('messages', { conversation_id: 'c', body: 'second try' }, { key });
    expect(receipt.state).toBe('duplicate');
    const rows = await currentProject().rows();
    expect(rows.map((r) => r['body'])).toEqual(['first try']);
    expect(o.stats.duplicates).toBe(1);
  });

  it('does not send while its breaker is open, and sends once it lets requests through', async () => {
    let state: 'closed' | 'open' = 'open';
    const o = outbox({ breaker: () => ({ state }) });
    const seen: string[] = [];
    const listener = currentProject().proxy.onRequest((event) => seen.push(event.outcome));
    const receipt = await o.insert('messages', { conversation_id: 'c', body: 'held' });
    expect(receipt.state).toBe('queued');
    await new Promise((resolve) => setTimeout(resolve, 60)); // three retry intervals: still nothing sent
    expect(seen).toEqual([]);
    state = 'closed';
    await waitFor('the replay', () => o.stats.pending === 0);
    listener.dispose();
    expect(seen.length).toBeGreaterThan(0);
    expect((await currentProject().rows()).map((r) => r['body'])).toEqual(['held']);
  });

  it('replays an upsert in order; the README trigger keeps a late replay from overwriting a newer row', async () => {
    const o = outbox();
    await o.upsert('profiles', { id: 'p1', name: 'Ada' }, { onConflict: 'id', conversation: 'p1' });
    await o.upsert('profiles', { id: 'p1', name: 'Ada L.' }, { onConflict: 'id', conversation: 'p1' });
    expect(await currentProject().rows('profiles')).toMatchObject([{ id: 'p1', name: 'Ada L.' }]);
    // A replay of an older write (lower outbox_seq) arrives late, as after a crash: the row stays.
    const [row] = await currentProject().rows('profiles');
    const older = Number(row!['outbox_seq']) - 1;
    const { error } = await currentProject().client.from('profiles').upsert({ id: 'p1', name: 'stale', idempotency_key: 'old', outbox_seq: older }, { onConflict: 'id' });
    expect(error).toBeNull();
    expect(await currentProject().rows('profiles')).toMatchObject([{ id: 'p1', name: 'Ada L.' }]);
  });

  it('close() commits accepted writes; writes after it are refused', async () => {
    await currentProject().proxy.setFaults({ refuse: true });
    const path = join(currentProject().dir, 'close.sqlite');
    const o = new SupabaseOutbox({ supabase: currentProject().client, path });
    const pending = o.insert('messages', { conversation_id: 'c', body: 'late' });
    await o.close();
    await expect(pending).resolves.toMatchObject({ state: 'queued' });
    await expect(o.insert('messages', { conversation_id: 'c', body: 'after' })).rejects.toMatchObject({ name: 'OutboxClosedError', code: 'OUTBOX_CLOSED' });
    const reopened = outbox({ path, breaker: () => ({ state: 'open' }) });
    expect(reopened.stats.pending).toBe(1);
  });
});
