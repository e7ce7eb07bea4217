import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@supabase/supabase-js';
import { afterAll, describe, expect, it } from 'vitest';
import { checkStorable } from '@phlow/supabase-outbox';
import { MessageOutbox, storableReply } from './outbox.js';

// Nothing is sent in these tests (the breaker is held open), so the client points nowhere.
const supabase = createClient('http://127.0.0.1:9', 'key', { auth: { persistSession: false } });
const dir = mkdtempSync(join(tmpdir(), 'phlow-demo-outbox-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const row = (request: string) => ({ peer_id: 'north', peer_url: 'http://127.0.0.1:1', request, reply: 'r', resolved_via: 'registry', replayed: false });

describe('MessageOutbox.refusal: asked before the peer is called', () => {
  it('text or a conversation PostgreSQL cannot store, named; fine text passes', async () => {
    const outbox = new MessageOutbox(supabase, { path: join(dir, 'text.sqlite'), breaker: () => ({ state: 'open' }) as never });
    expect(outbox.refusal('nul \u0000 here', undefined)).toMatchObject({ code: 'OUTBOX_UNSTORABLE', message: expect.stringMatching(/request holds a NUL character/) });
    expect(outbox.refusal('fine', 'half \ud800')).toMatchObject({ code: 'OUTBOX_UNSTORABLE', message: expect.stringMatching(/conversation holds a lone surrogate/) });
    expect(outbox.refusal('fine 🙂', 'c-1')).toBeUndefined();
    expect(outbox.stats.refused).toBe(2);
    await outbox.close();
  });

  it('an outbox full in rows: OUTBOX_FULL before the peer is called', async () => {
    const outbox = new MessageOutbox(supabase, { path: join(dir, 'full.sqlite'), breaker: () => ({ state: 'open' }) as never, maxRows: 2 });
    expect(await outbox.record(row('a'), 'c')).toBe('outbox');
    expect(outbox.refusal('b', 'c')).toBeUndefined();
    expect(await outbox.record(row('b'), 'c')).toBe('outbox');
    expect(outbox.refusal('c', 'c')).toMatchObject({ code: 'OUTBOX_FULL', message: expect.stringMatching(/2 writes wait .*maxRows 2.*before the peer was called/) });
    await outbox.close();
  });
});

describe('storableReply: a peer\'s reply, as recorded', () => {
  it('cut to the cap on a code point: never half a surrogate pair, which PostgreSQL refuses', () => {
    const reply = `x${'🙂'.repeat(10)}`; // pairs at odd offsets: a cut at 6 falls inside one
    const { text, notes } = storableReply(reply, 6);
    expect(text).toBe('x🙂🙂');
    expect(() => checkStorable(text)).not.toThrow();
    expect(notes).toEqual(["the peer's reply was 21 characters: kept the first 6"]);
    expect(storableReply(reply, 7).text).toBe('x🙂🙂🙂');
  });

  it('NUL and lone surrogates from a stranger\'s peer become U+FFFD, noted; a clean reply is kept as it is', () => {
    const { text, notes } = storableReply('a\u0000b\ud800c\udfffd', 100);
    expect(text).toBe('a\ufffdb\ufffdc\ufffdd');
    expect(() => checkStorable(text)).not.toThrow();
    expect(notes).toEqual([expect.stringMatching(/replaced with U\+FFFD/)]);
    expect(storableReply('echo: fine 🙂', 100)).toEqual({ text: 'echo: fine 🙂', notes: [] });
  });
});
