// The README's examples, kept here so they compile (typecheck) and run. Keep the two in step.
import { createClient as createSupabaseClient } from '@supabase/supabase-js';
import { CircuitBreakerError, getCircuitBreakerRegistry } from '@phlow/circuit-breaker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { breakerFor, createClient, isCircuitRejection, protectFetch } from './index.js';
import { Gateway } from './test-gateway.test-util.js';
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

describe('README examples', () => {
  it('Usage: createClient from @phlow/supabase, then a refusal in the supabase-js idiom', async () => {
    // --- README: usage ---
    const supabase = createClient(SUPABASE_URL, SUPABASE_KEY);

    const { data, error, status } = await supabase.from('agents').select('id, name');
    // --- end ---
    expect({ error, status, data }).toEqual({ error: null, status: 200, data: [{ id: 'a1', name: 'Ada' }, { id: 'a2', name: 'Bob' }] });

    breakerFor(supabase).forceOpen();
    const agents = await (async () => {
      // --- README: idiom ---
      const { data, error, status } = await supabase.from('agents').select('id');
      if (isCircuitRejection(error)) {
        // status 529, error.code 'PHLOW_CIRCUIT_OPEN', error.details: "… the next rest request goes through in 28391 ms"
        return cachedAgents();
      }
      return data;
      // --- end ---
    })();
    expect(agents).toEqual([{ id: 'cached' }]);
    breakerFor(supabase).reset();
  });

  it("Usage: protectFetch in supabase-js's own createClient", async () => {
    // --- README: protectFetch ---
    const supabase = createSupabaseClient(SUPABASE_URL, SUPABASE_KEY, { global: { fetch: protectFetch(SUPABASE_URL) } });
    // --- end ---
    expect((await supabase.from('agents').select('id').eq('id', 'a1')).data).toEqual([{ id: 'a1' }]);
  });

  it("Usage: rejectWith 'error' and the guide's fallback pattern", async () => {
    // --- README: fallback ---
    const supabase = createClient(SUPABASE_URL, SUPABASE_KEY, { protection: { rejectWith: 'error' } });

    async function listAgents() {
      try {
        const { data } = await supabase.from('agents').select('id').throwOnError();
        return data;
      } catch (error) {
        if (CircuitBreakerError.isInstance(error)) return cachedAgents(); // open (CircuitOpenError) or timed out
        throw error;
      }
    }
    // --- end ---
    expect(await listAgents()).toEqual([{ id: 'a1' }, { id: 'a2' }]);
    // Every client of the project shares its breakers (process-wide registry, family `supabase`, one per API).
    getCircuitBreakerRegistry().getFamily('supabase').get('rest').forceOpen();
    try {
      expect(await listAgents()).toEqual([{ id: 'cached' }]);
    } finally {
      getCircuitBreakerRegistry().resetBreaker('supabase/rest');
    }
  });

  it('Usage: the breakers of a client, one per API', async () => {
    const supabase = createClient(SUPABASE_URL, SUPABASE_KEY, { protection: { name: 'readme_breakers' } });
    // --- README: breakers ---
    breakerFor(supabase).state; // 'closed': the database's breaker, supabase/rest
    breakerFor(supabase, 'storage').getStats(); // storage's own
    // --- end ---
    expect([breakerFor(supabase).name, breakerFor(supabase, 'storage').getStats().state]).toEqual(['readme_breakers/rest', 'closed']);
  });

  it('Options: breaker options under breaker, over the guide\'s defaults; one breaker for the project with perService: false', () => {
    const SUPABASE_URL = 'https://readme-options.supabase.co'; // a project of its own: one name per project
    // --- README: options ---
    const supabase = createClient(SUPABASE_URL, SUPABASE_KEY, {
      protection: { name: 'reports_db', breaker: { timeoutMs: 5_000, recoveryTimeoutMs: 60_000 }, perService: false },
    });
    breakerFor(supabase).name; // 'reports_db/all'
    // --- end ---
    expect(breakerFor(supabase)).toMatchObject({ name: 'reports_db/all', options: { timeoutMs: 5_000, recoveryTimeoutMs: 60_000 } });
    expect(breakerFor(supabase).getStats().failure_threshold).toBe(3);
    expect(breakerFor(supabase, 'storage')).toBe(breakerFor(supabase));
  });

  it('Bodies: a select larger than maxBodyBytes, then a page of it', async () => {
    // The README's table is far larger than 10 MiB; here the limit is lowered to fit a small one.
    const supabase = createClient(SUPABASE_URL, SUPABASE_KEY, { protection: { name: 'readme_bodies', maxBodyBytes: 200 } });
    await project.standIn.query(`insert into events (agent_id, kind) select 'a1', 'kind ' || i from generate_series(1, 50) i`);
    // --- README: bodies ---
    const { error } = await supabase.from('events').select('*'); // a table far larger than 10 MiB
    // error.message: 'ResponseTooLargeError: Supabase rest response (status 200) is larger than maxBodyBytes (10485760 bytes): …'
    const page = await supabase.from('events').select('*').range(0, 999); // ask for less, or raise maxBodyBytes
    // --- end ---
    expect(error?.message).toMatch(/^ResponseTooLargeError: Supabase rest response \(status 200\) is larger than maxBodyBytes \(200 bytes\)/);
    expect(page.error?.message).toMatch(/^ResponseTooLargeError/);
    expect((await supabase.from('events').select('id').range(0, 1)).data).toHaveLength(2);
  });

  it('Bodies: a storage download as a stream, with its own signal', async () => {
    const gateway = new Gateway(SUPABASE_URL);
    await gateway.start();
    try {
      gateway.put('reports/2026/annual.pdf', { size: 3 * 1024 * 1024 });
      const supabase = createClient(gateway.url, SUPABASE_KEY, { protection: { name: 'readme_storage', maxBodyBytes: 1024 } });
      // --- README: download ---
      const { data: stream } = await supabase.storage
        .from('reports')
        .download('2026/annual.pdf', {}, { signal: AbortSignal.timeout(120_000) })
        .asStream();
      // --- end ---
      expect((await new Response(stream).arrayBuffer()).byteLength).toBe(3 * 1024 * 1024);
    } finally {
      await gateway.stop();
    }
  });
});
