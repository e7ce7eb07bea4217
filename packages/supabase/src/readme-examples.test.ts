// The README's examples, kept here so they compile (typecheck) and run. Keep the two in step.
import { createClient as createSupabaseClient } from '@supabase/supabase-js';
import { CircuitBreakerError, getCircuitBreakerRegistry } from '@phlow/circuit-breaker';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { circuitBreakerOf, createClient, isCircuitRejection, protectFetch } from './index.js';
import { Project } from './test-setup.test-util.js';

const project = new Project();
let SUPABASE_URL: string;
const SUPABASE_KEY = 'test-key';
beforeAll(async () => {
  await project.start();
  await project.reseed();
  SUPABASE_URL = (await project.proxy()).url;
});
afterAll(() => project.stop());

const cachedAgents = () => [{ id: 'cached' }];
// The README leaves out what Node 20 alone needs: a WebSocket for supabase-js's realtime (ws's types and
// supabase-js's differ, hence the cast).
const node20 = { realtime: { transport: WebSocket as never } };

describe('README examples', () => {
  it('Usage: createClient from @phlow/supabase, then a refusal in the supabase-js idiom', async () => {
    // --- README: usage ---
    const supabase = createClient(SUPABASE_URL, SUPABASE_KEY, node20);

    const { data, error, status } = await supabase.from('agents').select('id, name');
    // --- end ---
    expect({ error, status, data }).toEqual({ error: null, status: 200, data: [{ id: 'a1', name: 'Ada' }, { id: 'a2', name: 'Bob' }] });

    circuitBreakerOf(supabase).forceOpen();
    const agents = await (async () => {
      // --- README: idiom ---
      const { data, error, status } = await supabase.from('agents').select('id');
      if (isCircuitRejection(error)) {
        // status 529, error.code 'PHLOW_CIRCUIT_OPEN', error.details: "… the next rest request goes through in 28391 ms"
        return cachedAgents();
      }
      // --- end ---
      return { data, status };
    })();
    expect(agents).toEqual([{ id: 'cached' }]);
    circuitBreakerOf(supabase).reset();
  });

  it("Usage: protectFetch in supabase-js's own createClient", async () => {
    // --- README: protectFetch ---
    const supabase = createSupabaseClient(SUPABASE_URL, SUPABASE_KEY, { global: { fetch: protectFetch(SUPABASE_URL) }, ...node20 });
    // --- end ---
    expect((await supabase.from('agents').select('id').eq('id', 'a1')).data).toEqual([{ id: 'a1' }]);
  });

  it("Usage: rejectWith 'error' and the guide's fallback pattern", async () => {
    const read = async () => {
      // --- README: fallback ---
      const supabase = createClient(SUPABASE_URL, SUPABASE_KEY, { circuitBreaker: { rejectWith: 'error' }, ...node20 });
      try {
        const { data } = await supabase.from('agents').select('id').throwOnError();
        return data;
      } catch (error) {
        if (CircuitBreakerError.isInstance(error)) return cachedAgents(); // open (CircuitOpenError) or timed out
        throw error;
      }
      // --- end ---
    };
    expect(await read()).toEqual([{ id: 'a1' }, { id: 'a2' }]);
    // Every client of the project shares its breakers (process-wide registry, family `supabase`, one per API).
    getCircuitBreakerRegistry().getFamily('supabase').get('rest').forceOpen();
    try {
      expect(await read()).toEqual([{ id: 'cached' }]);
    } finally {
      getCircuitBreakerRegistry().resetBreaker('supabase/rest');
    }
  });
});
