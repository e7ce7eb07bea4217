import { createClient } from '@supabase/supabase-js';
import { describe, expect, it } from 'vitest';
import { SupabaseOutbox } from './supabase-outbox.js';

const supabase = createClient('http://127.0.0.1:9', 'key', { auth: { persistSession: false } });
const base = { supabase, path: ':memory:' };

describe('options are checked when the outbox is built', () => {
  const cases: [string, Record<string, unknown>, RegExp, ErrorConstructor][] = [
    ['maxRows 0', { maxRows: 0 }, /maxRows must be an integer >= 1; got 0/, RangeError],
    ['maxRows NaN', { maxRows: Number.NaN }, /maxRows must be an integer >= 1; got NaN/, RangeError],
    ['maxBytes below maxRowBytes', { maxBytes: 100, maxRowBytes: 1_000 }, /maxBytes must be >= maxRowBytes \(1000\).*got 100/, RangeError],
    ['batchSize 5000', { batchSize: 5_000 }, /batchSize must be an integer from 1 to 1000; got 5000/, RangeError],
    ['retryIntervalMs -1', { retryIntervalMs: -1 }, /retryIntervalMs must be a number >= 1 and <= 2147483647; got -1/, RangeError],
    ['keyColumn with SQL', { keyColumn: 'id; drop' }, /keyColumn must be a column name.*got "id; drop"/, TypeError],
    ['same key and order column', { keyColumn: 'k', orderColumn: 'k' }, /must be different columns/, TypeError],
    ['groupCommit "yes"', { groupCommit: 'yes' }, /groupCommit must be true or false; got "yes"/, TypeError],
    ['breaker not a function', { breaker: {} }, /breaker must be a function/, TypeError],
    ['an unknown option', { maxrows: 3 }, /unknown option "maxrows"; allowed: supabase, path/, TypeError],
    ['__proto__ key', JSON.parse('{"__proto__": {"x": 1}}') as Record<string, unknown>, /unknown option "__proto__"/, TypeError],
  ];
  for (const [what, options, message, type] of cases) {
    it(`${what}: ${type.name}`, () => {
      expect(() => new SupabaseOutbox({ ...base, ...options } as never)).toThrow(type);
      expect(() => new SupabaseOutbox({ ...base, ...options } as never)).toThrow(message);
    });
  }

  it('no client, no path', () => {
    expect(() => new SupabaseOutbox({ path: ':memory:' } as never)).toThrow(/supabase must be a supabase-js client/);
    expect(() => new SupabaseOutbox({ supabase } as never)).toThrow(/path must be a file path/);
  });

  it('upsert needs a conflict target made of column names', async () => {
    const outbox = new SupabaseOutbox({ ...base, breaker: () => ({ state: 'open' }) });
    await expect(outbox.upsert('t', { id: 1 }, {} as never)).rejects.toThrow(/onConflict must be a comma list of column names/);
    await expect(outbox.upsert('t', { id: 1 }, { onConflict: 'id) do nothing; --' })).rejects.toThrow(TypeError);
    await outbox.close();
  });
});
