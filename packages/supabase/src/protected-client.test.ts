import { CircuitBreakerError, CircuitOpenError, CircuitTimeoutError, isTransient } from '@phlow/circuit-breaker';
import { PostgrestError } from '@supabase/supabase-js';
import { waitFor } from '@phlow/test-helpers';
import { describe, expect, it } from 'vitest';
import { CIRCUIT_OPEN_CODE, DEFAULT_REJECTION_STATUS, breakerFor, isCircuitRejection } from './index.js';
import { Project, projectForFile } from './test-setup.test-util.js';

const project = projectForFile(new Project());

describe('createClient from @phlow/supabase against the stand-in', () => {
  it('does CRUD like supabase-js, every request through the project breaker', async () => {
    const { supabase, proxy } = await project.client();
    const inserted = await supabase.from('agents').insert({ id: 'a3', name: 'Cy', score: 5 }).select('id, name, score').single();
    expect(inserted).toMatchObject({ status: 201, error: null, data: { id: 'a3', name: 'Cy', score: 5 } });
    const selected = await supabase.from('agents').select('id').order('id');
    expect(selected).toMatchObject({ status: 200, error: null, data: [{ id: 'a1' }, { id: 'a2' }, { id: 'a3' }] });
    const updated = await supabase.from('agents').update({ score: 9 }).eq('id', 'a3').select('score');
    expect(updated.data).toEqual([{ score: 9 }]);
    const upserted = await supabase.from('agents').upsert({ id: 'a1', name: 'Ada L.' }).select('name');
    expect(upserted.data).toEqual([{ name: 'Ada L.' }]);
    const counted = await supabase.from('agents').select('*', { count: 'exact', head: true });
    expect(counted).toMatchObject({ count: 3, status: 200 });
    const deleted = await supabase.from('agents').delete().eq('id', 'a3');
    expect(deleted).toMatchObject({ status: 204, error: null });
    expect(await project.standIn.query('select id from agents order by id')).toEqual([{ id: 'a1' }, { id: 'a2' }]);

    const breaker = breakerFor(supabase);
    expect(breaker.name).toBe('supabase/rest');
    expect(breaker.getStats()).toMatchObject({ state: 'closed', total_calls: 6, total_successes: 6, total_failures: 0, failure_threshold: 3 });
    expect(breaker.options).toMatchObject({ recoveryTimeoutMs: 30_000, timeoutMs: 10_000 });
    expect(proxy.stats().requests.forwarded).toBe(6);
  });

  it('opens after 3 consecutive 500s and then answers without sending anything', async () => {
    const { supabase, proxy } = await project.client();
    await proxy.setFaults({ errorStatus: { status: 500 } });
    for (let i = 0; i < 3; i++) {
      const failed = await supabase.from('agents').select('id');
      expect(failed.status).toBe(500);
    }
    const breaker = breakerFor(supabase);
    expect(breaker.state).toBe('open');
    expect(proxy.stats().requests.received).toBe(3);

    await proxy.clearFaults(); // even a healthy server sees nothing while the breaker is open
    const rejected = await supabase.from('agents').select('id');
    expect(rejected.status).toBe(DEFAULT_REJECTION_STATUS);
    expect(rejected.data).toBeNull();
    expect(rejected.error).toMatchObject({ code: CIRCUIT_OPEN_CODE, message: 'Circuit breaker supabase/rest is open: the request was not sent' });
    expect(rejected.error?.details).toMatch(/^Supabase failed repeatedly; the next rest request goes through in \d+ ms$/);
    expect(isCircuitRejection(rejected.error)).toBe(true);
    expect(isCircuitRejection(rejected)).toBe(true);
    const write = await supabase.from('agents').insert({ id: 'x', name: 'X' });
    expect(write.error?.code).toBe(CIRCUIT_OPEN_CODE);
    expect(isTransient(write)).toBe(false); // a rejection: a retry would meet the open breaker again
    expect(proxy.stats().requests.received).toBe(3);
    expect(proxy.stats().connections.accepted).toBeLessThanOrEqual(3);
    expect(breaker.getStats()).toMatchObject({ total_failures: 3, total_rejections: 2 });
  });

  it('opens after 3 refused connections (status 0, like supabase-js reports them)', async () => {
    const { supabase, proxy } = await project.client();
    await proxy.setFaults({ refuse: true });
    for (let i = 0; i < 3; i++) {
      // A write: postgrest-js never retries it, so each one is one refused connection.
      const failed = await supabase.from('agents').insert({ id: `r${i}`, name: 'R' });
      expect(failed.status).toBe(0);
      expect(failed.error?.details).toContain('ECONNREFUSED');
    }
    expect(breakerFor(supabase).state).toBe('open');
    await proxy.clearFaults();
    const rejected = await supabase.from('agents').insert({ id: 'r9', name: 'R' });
    expect(rejected.error?.code).toBe(CIRCUIT_OPEN_CODE);
    expect(proxy.stats().requests.received).toBe(0);
  });

  it('opens after 3 timeouts, each of which really cancels its request', async () => {
    const { supabase, proxy } = await project.client({ breaker: { timeoutMs: 200, clock: undefined } });
    const closedByClient: number[] = [];
    proxy.onConnectionClose((event) => {
      if (event.closedBy === 'client') closedByClient.push(event.id);
    });
    await proxy.setFaults({ blackHole: true });
    for (let i = 0; i < 3; i++) {
      const timedOut = await supabase.from('agents').select('id');
      expect(timedOut.status).toBe(0);
      expect(timedOut.error?.message).toBe('CircuitTimeoutError: Circuit breaker supabase/rest: call timed out after 200 ms');
      expect(timedOut.error?.hint).toBe('Request was aborted (timeout or manual cancellation)');
    }
    // Not retried by postgrest-js (the timeout says ABORT_ERR): three requests, three connections closed by the client.
    await waitFor('three connections closed by the client', () => closedByClient.length >= 3);
    expect(proxy.stats().requests).toMatchObject({ received: 3, blackHoled: 3 });
    const breaker = breakerFor(supabase);
    expect(breaker.getStats()).toMatchObject({ state: 'open', total_timeouts: 3, total_failures: 3 });
  });

  it('never opens on 4xx: constraint violations, bad columns, unknown tables, no rows, RLS-like denials', async () => {
    const { supabase, proxy } = await project.client();
    const answers = [
      await supabase.from('agents').insert({ id: 'a1', name: 'dup' }),
      await supabase.from('agents').select('nope'),
      await supabase.from('ghosts').select(),
      await supabase.from('agents').select().eq('id', 'none').single(),
      await supabase.from('events').insert({ agent_id: 'ghost', kind: 'x' }),
      await supabase.from('agents').insert({ id: 'n1' }),
    ];
    expect(answers.map((a) => a.status)).toEqual([409, 400, 404, 406, 409, 400]);
    expect(answers.some((a) => isTransient(a))).toBe(false); // answers: repeating them gets the same
    await proxy.setFaults({ errorStatus: { status: 403, body: '{"code":"42501","message":"permission denied for table agents"}' } });
    for (let i = 0; i < 3; i++) expect((await supabase.from('agents').select()).status).toBe(403);
    const breaker = breakerFor(supabase);
    expect(breaker.getStats()).toMatchObject({ state: 'closed', failure_count: 0, total_failures: 0, total_successes: 9 });
  });

  it('counts 429 as a failure, and a 4xx between two 5xx resets the count (the project answered)', async () => {
    const { supabase, proxy } = await project.client();
    await proxy.setFaults({ errorStatus: { status: 429 } });
    expect(isTransient(await supabase.from('agents').insert({ id: 'q1', name: 'Q' }))).toBe(true); // "not now"
    await supabase.from('agents').insert({ id: 'q2', name: 'Q' });
    await proxy.clearFaults();
    await supabase.from('agents').insert({ id: 'a1', name: 'dup' }); // 409
    await proxy.setFaults({ errorStatus: { status: 502 } });
    await supabase.from('agents').insert({ id: 'q3', name: 'Q' });
    await supabase.from('agents').insert({ id: 'q4', name: 'Q' });
    const breaker = breakerFor(supabase);
    expect(breaker.getStats()).toMatchObject({ state: 'closed', failure_count: 2, total_failures: 4 });
    await supabase.from('agents').insert({ id: 'q5', name: 'Q' });
    expect(breaker.state).toBe('open');
  });

  it('recovers after the recovery timeout: a successful probe closes it, a failed one reopens it', async () => {
    const { supabase, proxy, clock } = await project.client();
    await proxy.setFaults({ errorStatus: { status: 503 } });
    for (let i = 0; i < 3; i++) await supabase.from('agents').insert({ id: `p${i}`, name: 'P' });
    const breaker = breakerFor(supabase);
    expect(breaker.state).toBe('open');

    clock.advance(29_999);
    expect((await supabase.from('agents').insert({ id: 'p8', name: 'P' })).error?.code).toBe(CIRCUIT_OPEN_CODE);
    clock.advance(1);
    expect(breaker.state).toBe('half_open');
    const failedProbe = await supabase.from('agents').insert({ id: 'p9', name: 'P' });
    expect(failedProbe.status).toBe(503);
    expect(breaker.state).toBe('open');

    await proxy.clearFaults();
    clock.advance(30_000);
    const probe = await supabase.from('agents').select('id').eq('id', 'a1');
    expect(probe).toMatchObject({ status: 200, data: [{ id: 'a1' }] });
    expect(breaker.state).toBe('closed');
    expect(proxy.stats().requests.received).toBe(5);
  });

  it("does not count the caller's own abort, and the abort closes the connection", async () => {
    const { supabase, proxy } = await project.client({ breaker: { clock: undefined } });
    const closes: string[] = [];
    proxy.onConnectionClose((event) => closes.push(event.closedBy));
    await proxy.setFaults({ blackHole: true });
    const controller = new AbortController();
    // A query builder is lazy: `then` sends it.
    const pending = supabase.from('agents').insert({ id: 'z', name: 'Z' }).abortSignal(controller.signal).then((result) => result);
    await waitFor('the insert to reach the proxy', () => proxy.stats().requests.blackHoled === 1);
    controller.abort();
    const aborted = await pending;
    expect(aborted.status).toBe(0);
    expect(aborted.error?.message).toMatch(/^AbortError: /);
    await waitFor('the client to close its connection', () => closes.includes('client'));
    expect(breakerFor(supabase).getStats()).toMatchObject({ state: 'closed', total_failures: 0, total_ignored: 1 });
  });
});

describe('timeouts reach .throwOnError() as CircuitTimeoutError', () => {
  it('throws the CircuitTimeoutError, which postgrest-js did not retry', async () => {
    const { supabase, proxy } = await project.client({ breaker: { timeoutMs: 100, clock: undefined } });
    await proxy.setFaults({ blackHole: true });
    const thrown = await supabase.from('agents').select('id').throwOnError().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(CircuitTimeoutError.isInstance(thrown)).toBe(true);
    expect(CircuitBreakerError.isInstance(thrown)).toBe(true);
    expect(thrown).toMatchObject({ name: 'CircuitTimeoutError', breakerName: 'supabase/rest', timeoutMs: 100, code: 'ABORT_ERR' });
    expect(proxy.stats().requests.received).toBe(1);
  });
});

describe('timeoutMs: 0 (no timeout)', () => {
  it('still protects every request, and a caller abort still cancels', async () => {
    const { supabase, proxy } = await project.client({ breaker: { timeoutMs: 0, clock: undefined } });
    for (let i = 0; i < 20; i++) expect((await supabase.from('agents').select('id').eq('id', 'a1')).data).toEqual([{ id: 'a1' }]);
    await proxy.setFaults({ blackHole: true });
    const aborted = await supabase.from('agents').select('id').abortSignal(AbortSignal.timeout(50)).retry(false);
    expect(aborted.status).toBe(0);
    expect(aborted.error?.message).toMatch(/^TimeoutError: /);
    await waitFor('the client to close its connection', () => proxy.stats().connections.closedByClient >= 1);
    expect(breakerFor(supabase).getStats()).toMatchObject({ total_successes: 20, total_ignored: 1, total_failures: 0 });
  });
});

describe('rejections, in the supabase-js idiom and as CircuitBreakerError', () => {
  it("rejectWith 'response' (default): .throwOnError() throws a PostgrestError with the circuit code", async () => {
    const { supabase } = await project.client();
    breakerFor(supabase).forceOpen();
    const thrown = await supabase.from('agents').select().throwOnError().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(thrown).toBeInstanceOf(PostgrestError);
    expect(thrown).toMatchObject({ code: CIRCUIT_OPEN_CODE, message: 'Circuit breaker supabase/rest is forced_open: the request was not sent' });
    expect(isCircuitRejection(thrown)).toBe(true);
    expect(CircuitBreakerError.isInstance(thrown)).toBe(false);
  });

  it("rejectWith 'error': .throwOnError() throws the CircuitOpenError itself (the guide's fallback pattern)", async () => {
    const { supabase, proxy } = await project.client({ rejectWith: 'error' });
    await proxy.setFaults({ errorStatus: { status: 500 } });
    for (let i = 0; i < 3; i++) await supabase.from('agents').select('id');
    let fallback: unknown;
    try {
      await supabase.from('agents').select('id').throwOnError();
    } catch (error) {
      if (!CircuitBreakerError.isInstance(error)) throw error;
      expect(error).toBeInstanceOf(CircuitOpenError);
      expect(error).toMatchObject({ name: 'CircuitOpenError', breakerName: 'supabase/rest', state: 'open' });
      expect((error as CircuitOpenError).retryAfterMs).toBe(30_000);
      fallback = [{ id: 'cached' }];
    }
    expect(fallback).toEqual([{ id: 'cached' }]);
    // Without .throwOnError() the result still says it, as supabase-js reports any failed fetch.
    const result = await supabase.from('agents').select('id');
    expect(result).toMatchObject({ data: null, status: 0, error: { message: 'CircuitOpenError: Circuit breaker supabase/rest is open' } });
    expect(proxy.stats().requests.received).toBe(3);
  });
});

describe('composition with postgrest-js retries (GET/HEAD on 503/520 and network errors)', () => {
  it('counts one read once, however many times postgrest-js retries it', async () => {
    const { supabase, proxy } = await project.client();
    // Retry-After: 0 makes postgrest-js retry at once: 1 attempt + 3 retries, all 503.
    await proxy.setFaults({ errorStatus: { status: 503, headers: { 'retry-after': '0' } } });
    const read = await supabase.from('agents').select('id');
    expect(read.status).toBe(503);
    const seen = proxy.stats().requests.received;
    expect(seen).toBe(4);
    const breaker = breakerFor(supabase);
    // Counting each attempt would have opened the breaker on this one read.
    expect(breaker.getStats()).toMatchObject({ state: 'closed', failure_count: 1, total_failures: 1, total_ignored: 3 });
  });

  it('a retry that succeeds counts as a success', async () => {
    const { supabase, proxy } = await project.client();
    await proxy.setFaults({ errorStatus: { status: 503, headers: { 'retry-after': '0' } } });
    const subscription = proxy.onRequest(() => {
      subscription.dispose();
      void proxy.clearFaults();
    });
    const read = await supabase.from('agents').select('id').order('id');
    expect(read).toMatchObject({ status: 200, data: [{ id: 'a1' }, { id: 'a2' }] });
    expect(breakerFor(supabase).getStats()).toMatchObject({ state: 'closed', failure_count: 0, total_failures: 1, total_successes: 1 });
  });

  it('once open, pending retries are refused locally and end their operations at once', async () => {
    const { supabase, proxy } = await project.client({ breaker: { clock: undefined } });
    await proxy.setFaults({ errorStatus: { status: 503 } }); // postgrest-js waits 1 s before the first retry
    const reads = await Promise.all([0, 1, 2].map(() => supabase.from('agents').select('id')));
    expect(reads.map((r) => r.status)).toEqual([DEFAULT_REJECTION_STATUS, DEFAULT_REJECTION_STATUS, DEFAULT_REJECTION_STATUS]);
    expect(reads.every((r) => r.error?.code === CIRCUIT_OPEN_CODE)).toBe(true);
    // Three first attempts reached the server; the retries did not, and were not retried again.
    expect(proxy.stats().requests.received).toBe(3);
    expect(breakerFor(supabase).getStats()).toMatchObject({ state: 'open', total_failures: 3, total_rejections: 3 });
  });
});
