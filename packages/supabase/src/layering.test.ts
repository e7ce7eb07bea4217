import { CircuitBreaker, CircuitBreakerRegistry, ManualClock } from '@phlow/circuit-breaker';
import { createClient as createSupabaseClient, type SupabaseClient } from '@supabase/supabase-js';
import { describe, expect, it } from 'vitest';
import { CIRCUIT_OPEN_CODE, breakerFor, createClient, protectFetch, type ProtectedFetch } from './index.js';
import { Project, projectForFile, testClientOptions as clientOptions } from './test-setup.test-util.js';

const project = projectForFile(new Project());

describe('two protections on one client', () => {
  it("refused at setup: a protected fetch as @phlow/supabase's createClient global.fetch, or as protectFetch's fetch", () => {
    const registry = new CircuitBreakerRegistry({ logger: false });
    const url = 'https://abc.supabase.co';
    const protectedFetch = protectFetch(url, { registry });
    expect(() => createClient(url, 'key', { ...clientOptions, global: { fetch: protectedFetch }, protection: { registry } })).toThrow(
      new TypeError(
        "global.fetch is a protected fetch (protectFetch from @phlow/supabase) and this protects every request itself: two layers would count each failure twice. Use one: drop protectFetch and give its options here as protection, or keep it and build the client with supabase-js's own createClient.",
      ),
    );
    expect(() => protectFetch(url, { registry, name: 'outer', fetch: protectedFetch })).toThrow(
      /^fetch is a protected fetch \(protectFetch from @phlow\/supabase\) .*Pass the fetch underneath it instead/,
    );
  });

  it('hidden behind a wrapper, the same breaker counts each failure once, and recovers once the project heals', async () => {
    const proxy = await project.proxy();
    const clock = new ManualClock(Date.now());
    const registry = new CircuitBreakerRegistry({ logger: false, clock });
    const inner = protectFetch(proxy.url, { registry });
    // A wrapper (logging, say) hides the marker: the runtime rule must hold on its own.
    const supabase = createClient(proxy.url, 'test-key', {
      ...clientOptions,
      global: { fetch: (input, init) => inner(input, init) },
      protection: { registry },
    });
    const breaker = breakerFor(supabase);
    expect(breaker).toBe(inner.breakerFor());
    await proxy.setFaults({ errorStatus: { status: 500 } });
    await supabase.from('agents').insert({ id: 'f1', name: 'F' });
    await supabase.from('agents').insert({ id: 'f2', name: 'F' });
    // Two requests, two failures: still closed (a double count would have opened it at 2 × 2 ≥ 3).
    expect(breaker.getStats()).toMatchObject({ state: 'closed', total_failures: 2, total_calls: 2 });
    await supabase.from('agents').insert({ id: 'f3', name: 'F' });
    expect(breaker.getStats()).toMatchObject({ state: 'open', total_failures: 3 });
    await proxy.clearFaults();
    clock.advance(30_000);
    const probe = await supabase.from('agents').select('id').eq('id', 'a1');
    expect(probe).toMatchObject({ status: 200, data: [{ id: 'a1' }] });
    expect(breaker.state).toBe('closed');
  });

  for (const rejectWith of ['response', 'error'] as const) {
    it(`two breakers layered (inner rejectWith '${rejectWith}'): the inner one's rejections never count for the outer one, and both recover`, async () => {
      const proxy = await project.proxy();
      const clock = new ManualClock(Date.now());
      const registry = new CircuitBreakerRegistry({ logger: false, clock });
      // The inner breaker recovers later than the outer one: the outer one's probe meets the inner rejection.
      const inner = protectFetch(proxy.url, { registry, name: 'inner', breaker: { recoveryTimeoutMs: 60_000 }, rejectWith });
      const outer = protectFetch(proxy.url, { registry, name: 'outer', breaker: { recoveryTimeoutMs: 10_000 }, fetch: (input, init) => inner(input, init) });
      const supabase = createSupabaseClient(proxy.url, 'test-key', { ...clientOptions, global: { fetch: outer } });
      await proxy.setFaults({ errorStatus: { status: 500 } });
      for (let i = 0; i < 3; i++) await supabase.from('agents').insert({ id: `f${i}`, name: 'F' });
      expect([inner.breakerFor().state, outer.breakerFor().state]).toEqual(['open', 'open']);
      await proxy.clearFaults();

      clock.advance(10_000); // the outer one lets a probe through; the inner one is still open and refuses it
      const refused = await supabase.from('agents').insert({ id: 'p1', name: 'P' });
      expect(rejectWith === 'response' ? refused.error?.code : refused.error?.message).toBe(
        rejectWith === 'response' ? CIRCUIT_OPEN_CODE : 'CircuitOpenError: Circuit breaker inner/rest is open',
      );
      // The inner rejection is not a failure of the project: the outer breaker does not reopen on it.
      expect(outer.breakerFor().getStats()).toMatchObject({ state: 'half_open', total_failures: 3, total_ignored: 1 });

      clock.advance(50_000); // the inner one lets a probe through too
      expect((await supabase.from('agents').select('id').eq('id', 'a1')).data).toEqual([{ id: 'a1' }]);
      expect([inner.breakerFor().state, outer.breakerFor().state]).toEqual(['closed', 'closed']);
      expect(proxy.stats().requests.received).toBe(4);
    });
  }

  it("any breaker's rejection underneath is ignored, not a failure (a plain @phlow/circuit-breaker around fetch)", async () => {
    const proxy = await project.proxy();
    const registry = new CircuitBreakerRegistry({ logger: false });
    const underneath = new CircuitBreaker('underneath', { logger: false });
    underneath.forceOpen();
    const protectedFetch: ProtectedFetch = protectFetch(proxy.url, {
      registry,
      fetch: (input, init) => underneath.execute(() => fetch(input, init)),
    });
    const supabase: SupabaseClient = createSupabaseClient(proxy.url, 'test-key', { ...clientOptions, global: { fetch: protectedFetch } });
    for (let i = 0; i < 5; i++) expect((await supabase.from('agents').insert({ id: `u${i}`, name: 'U' })).status).toBe(0);
    expect(protectedFetch.breakerFor().getStats()).toMatchObject({ state: 'closed', total_failures: 0, total_ignored: 5 });
    expect(proxy.stats().requests.received).toBe(0);
  });

  it('a timeout underneath still counts: the project did not answer in time', async () => {
    const proxy = await project.proxy();
    const registry = new CircuitBreakerRegistry({ logger: false });
    const inner = protectFetch(proxy.url, { registry, name: 'inner', breaker: { timeoutMs: 200 } });
    const outer = protectFetch(proxy.url, { registry, name: 'outer', breaker: { timeoutMs: 0 }, fetch: (input, init) => inner(input, init) });
    const supabase = createSupabaseClient(proxy.url, 'test-key', { ...clientOptions, global: { fetch: outer } });
    await proxy.setFaults({ blackHole: true });
    expect((await supabase.from('agents').insert({ id: 't1', name: 'T' })).error?.message).toMatch(/^CircuitTimeoutError: Circuit breaker inner\/rest/);
    expect(inner.breakerFor().getStats()).toMatchObject({ total_timeouts: 1, total_failures: 1 });
    expect(outer.breakerFor().getStats()).toMatchObject({ total_failures: 1, total_ignored: 0 });
  });
});
