import { CircuitBreakerRegistry } from '@phlow/circuit-breaker';
import type { SupabaseClient } from '@supabase/supabase-js';
import WebSocket from 'ws';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { circuitBreakerOf, createClient } from './index.js';

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
      realtime: { transport: WebSocket as never },
      auth: { persistSession: false, autoRefreshToken: false },
      db: { schema: 'public' },
      circuitBreaker: { registry, timeoutMs: 5_000 },
    });
    expectTypeOf(supabase).toEqualTypeOf<SupabaseClient<Database>>();
    const query = supabase.from('agents').select('id, score');
    type Rows = Awaited<typeof query>['data'];
    expectTypeOf<Rows>().toEqualTypeOf<{ id: string; score: number | null }[] | null>();
    expect(circuitBreakerOf(supabase).options.timeoutMs).toBe(5_000);
    expect(() => circuitBreakerOf({})).toThrow(new TypeError('circuitBreakerOf: this client was not made by createClient from @phlow/supabase'));
  });
});
