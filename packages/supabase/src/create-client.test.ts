import { CircuitBreakerRegistry } from '@phlow/circuit-breaker';
import { createClient as createSupabaseClient, type SupabaseClient } from '@supabase/supabase-js';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { breakerFor, createClient } from './index.js';

/** A generated-types-like schema: the drop-in must keep supabase-js's typing. */
interface Database {
  public: {
    Tables: {
      agents: {
        Row: { id: string; name: string; score: number | null };
        Insert: { id: string; name: string; score?: number | null };
        Update: { id?: string; name?: string; score?: number | null };
        Relationships: [];
      };
    };
    Views: Record<never, never>;
    Functions: Record<never, never>;
    Enums: Record<never, never>;
    CompositeTypes: Record<never, never>;
  };
}

describe('createClient keeps supabase-js typing', () => {
  it('returns a SupabaseClient typed by the Database generic, with the same options', () => {
    const registry = new CircuitBreakerRegistry({ logger: false });
    const supabase = createClient<Database>('https://abc.supabase.co', 'key', {
      auth: { persistSession: false, autoRefreshToken: false },
      db: { schema: 'public' },
      protection: { registry, breaker: { timeoutMs: 5_000 } },
    });
    expectTypeOf(supabase).toEqualTypeOf<SupabaseClient<Database>>();
    const query = supabase.from('agents').select('id, score');
    type Rows = Awaited<typeof query>['data'];
    expectTypeOf<Rows>().toEqualTypeOf<{ id: string; score: number | null }[] | null>();
    expect(breakerFor(supabase).options.timeoutMs).toBe(5_000);
  });
});

describe('breakerFor', () => {
  it("hands out a protected client's breakers, and refuses any other client with a TypeError naming itself", () => {
    const registry = new CircuitBreakerRegistry({ logger: false });
    const url = 'https://abc.supabase.co';
    const supabase = createClient(url, 'key', { protection: { registry } });
    expect([breakerFor(supabase).name, breakerFor(supabase, 'auth').name]).toEqual(['supabase/rest', 'supabase/auth']);
    const foreign = createSupabaseClient(url, 'key');
    expect(() => breakerFor(foreign)).toThrow(new TypeError('breakerFor: this client was not made by createClient from @phlow/supabase'));
    expect(() => breakerFor({})).toThrow(TypeError);
  });
});

describe('the protection slot is `protection`', () => {
  it('`circuitBreaker`, its former name, is a supabase-js option like any other: passed on, not read, not refused', () => {
    const registry = new CircuitBreakerRegistry({ logger: false });
    // supabase-js ignores keys it does not know; this package no longer reads this one (TypeScript flags it).
    const supabase = createClient('https://abc.supabase.co', 'key', {
      protection: { registry },
      circuitBreaker: { breaker: { timeoutMs: 5_000 } },
    } as never);
    expect(breakerFor(supabase).options.timeoutMs).toBe(10_000);
  });
});
