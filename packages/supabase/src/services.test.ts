import { CircuitBreakerRegistry, ManualClock } from '@phlow/circuit-breaker';
import { createClient as createSupabaseClient, FunctionsHttpError, StorageApiError } from '@supabase/supabase-js';
import { describe, expect, it } from 'vitest';
import { CIRCUIT_OPEN_CODE, breakerFor, createClient, protectFetch } from './index.js';
import { Project, projectForFile, testClientOptions } from './test-setup.test-util.js';

const project = projectForFile(new Project());

describe('every service of the client goes through a breaker: its own by default', () => {
  it('a failing API opens only its own breaker ({name}/{service}, one family); the others keep working', async () => {
    const { supabase, proxy, registry } = await project.client();
    await proxy.setFaults({ errorStatus: { status: 502 } });
    for (let i = 0; i < 3; i++) await supabase.functions.invoke('hello');
    expect(breakerFor(supabase, 'functions')).toMatchObject({ name: 'supabase/functions', state: 'open' });
    await proxy.clearFaults();
    expect((await supabase.functions.invoke('hello')).error).toBeInstanceOf(FunctionsHttpError);
    const rest = await supabase.from('agents').select('id').eq('id', 'a1');
    expect(rest).toMatchObject({ status: 200, data: [{ id: 'a1' }] });
    expect(breakerFor(supabase, 'rest')).toMatchObject({ name: 'supabase/rest', state: 'closed' });
    expect(breakerFor(supabase, 'storage')).toMatchObject({ name: 'supabase/storage', state: 'closed' });
    expect(breakerFor(supabase)).toBe(breakerFor(supabase, 'rest'));
    expect(registry.getFamily('supabase').peek('functions')).toBe(breakerFor(supabase, 'functions'));
    expect(proxy.stats().requests.received).toBe(4);
  });

  it('a rejected edge function call reads as a 529 with the circuit body', async () => {
    const { supabase } = await project.client();
    breakerFor(supabase, 'functions').forceOpen();
    const { error } = await supabase.functions.invoke('hello');
    expect(error).toBeInstanceOf(FunctionsHttpError);
    const response = (error as FunctionsHttpError).context as Response;
    expect(response.status).toBe(529);
    expect(await response.json()).toMatchObject({ code: CIRCUIT_OPEN_CODE, breaker: 'supabase/functions', state: 'forced_open', retryAfterMs: null });
  });

  it('perService: false: auth, storage, functions and the database share one breaker, the family\'s one member supabase/all', async () => {
    const { supabase, proxy, registry } = await project.client({ perService: false });
    await proxy.setFaults({ errorStatus: { status: 500 } });
    const fn = await supabase.functions.invoke('hello', { body: { x: 1 } });
    expect(fn.error).toBeInstanceOf(FunctionsHttpError);
    const list = await supabase.storage.from('avatars').list();
    expect(list.error).toBeInstanceOf(StorageApiError);
    const users = await supabase.auth.admin.listUsers();
    expect(users.error?.status).toBe(500);
    const breaker = breakerFor(supabase);
    expect(breaker).toBe(breakerFor(supabase, 'functions'));
    expect(breaker).toMatchObject({ name: 'supabase/all', state: 'open' });
    expect([...registry.getFamily('supabase').breakers()]).toEqual([breaker]);
    expect(proxy.stats().requests.received).toBe(3);
    // The database is refused too: one project, one breaker.
    expect((await supabase.from('agents').select()).error?.code).toBe(CIRCUIT_OPEN_CODE);
  });
});

describe('installing into existing code', () => {
  it("protectFetch: one line in supabase-js's own createClient", async () => {
    const proxy = await project.proxy();
    const registry = new CircuitBreakerRegistry({ logger: false });
    const fetch = protectFetch(proxy.url, { registry, breaker: { clock: new ManualClock() } });
    const supabase = createSupabaseClient(proxy.url, 'test-key', { ...testClientOptions, global: { fetch } });
    expect((await supabase.from('agents').select('id').eq('id', 'a2')).data).toEqual([{ id: 'a2' }]);
    await proxy.setFaults({ errorStatus: { status: 500 } });
    for (let i = 0; i < 3; i++) await supabase.from('agents').insert({ id: `x${i}`, name: 'X' });
    expect(fetch.breakerFor()).toBe(registry.getFamily('supabase').get('rest'));
    expect(fetch.breakerFor().state).toBe('open');
    expect((await supabase.from('agents').select()).status).toBe(529);
  });

  it('wraps the global.fetch the client was given, and takes Request objects and plain header records', async () => {
    const proxy = await project.proxy();
    const seen: string[] = [];
    const registry = new CircuitBreakerRegistry({ logger: false });
    const supabase = createClient(proxy.url, 'test-key', {
      ...testClientOptions,
      global: {
        fetch: (input, init) => {
          seen.push(new Headers(init?.headers).get('x-retry-count') ?? 'first');
          return fetch(input, init);
        },
      },
      protection: { registry },
    });
    expect((await supabase.from('agents').select('id').eq('id', 'a1')).status).toBe(200);
    expect(seen).toEqual(['first']);

    const bare = protectFetch(proxy.url, { registry, name: 'bare' });
    const response = await bare(new Request(`${proxy.url}/rest/v1/agents?select=id&id=eq.a1`, { headers: { apikey: 'test-key' } }));
    expect(await response.json()).toEqual([{ id: 'a1' }]);
    const insert = await bare(`${proxy.url}/rest/v1/agents`, {
      method: 'POST',
      headers: { apikey: 'test-key', 'Content-Type': 'application/json', Prefer: 'return=minimal' },
      body: JSON.stringify({ id: 'b1', name: 'B' }),
    });
    expect(insert.status).toBe(201);
    expect(bare.breakerFor().getStats()).toMatchObject({ total_successes: 2 });
  });
});

describe('one family per project', () => {
  it('clients of one project share its breakers; another project, or another layout, under the same name is refused', () => {
    const registry = new CircuitBreakerRegistry({ logger: false });
    const one = protectFetch('https://one.supabase.co', { registry });
    const again = protectFetch('https://one.supabase.co/', { registry });
    expect(again.breakerFor()).toBe(one.breakerFor());
    expect(() => protectFetch('https://two.supabase.co', { registry })).toThrow(
      new TypeError(
        'circuit breaker family "supabase" already protects the Supabase project https://one.supabase.co/; give https://two.supabase.co/ its own family with the name option (one name per project)',
      ),
    );
    expect(protectFetch('https://two.supabase.co', { registry, name: 'supabase_two' }).breakerFor().name).toBe('supabase_two/rest');
    expect(() => protectFetch('https://two.supabase.co', { registry, perService: false })).toThrow(/already protects the Supabase project https:\/\/one\.supabase\.co\//);
    // Members per API beside an `all` member would count one project's failures twice.
    expect(() => protectFetch('https://one.supabase.co', { registry, perService: false })).toThrow(
      new TypeError(
        'circuit breaker family "supabase" already protects https://one.supabase.co/ with perService: true; got perService: false (one layout per name: give this one another name)',
      ),
    );
  });

  it('a different configuration for an existing name is refused, not silently ignored', () => {
    const registry = new CircuitBreakerRegistry({ logger: false });
    protectFetch('https://one.supabase.co', { registry });
    expect(() => protectFetch('https://one.supabase.co', { registry, breaker: { timeoutMs: 5_000 } })).toThrow(/already exists with a different timeoutMs/);
  });
});
