// Benchmarks for @phlow/supabase (`pnpm bench`). Prints figures; asserts nothing (STYLE rule 14).
//   1. Added latency per query: supabase-js against the Supabase stand-in (PGlite), with and without the
//      adapter, same run, interleaved, median of many.
//   2. The adapter's own cost per request, with a fetch that answers at once (no network, no database).
//   3. How fast an open breaker answers a query.
import { TracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace';
import { CircuitBreakerRegistry } from '@phlow/circuit-breaker';
import { AGENTS_SQL } from '@phlow/test-helpers';
import { SupabaseStandIn } from '@phlow/testkit';
import { createClient as createSupabaseClient } from '@supabase/supabase-js';
import { breakerFor, createClient, protectFetch } from '../dist/index.js';

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const us = (ns) => `${(ns / 1000).toFixed(1).padStart(8)} µs`;
const clientOptions = { auth: { persistSession: false, autoRefreshToken: false } };

async function timeOne(fn) {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start);
}

async function queryLatency() {
  const standIn = new SupabaseStandIn({ schemaFile: AGENTS_SQL });
  await standIn.start();
  await standIn.query(`insert into agents (id, name, score) select 'a' || i, 'agent ' || i, i from generate_series(1, 20) i`);
  const registry = new CircuitBreakerRegistry({ logger: false });
  // Spans recorded and batched as an app would, handed to an exporter that drops them.
  const exporter = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} };
  const tracerProvider = new TracerProvider({ spanProcessors: [new BatchSpanProcessor({ exporter: exporter, scheduledDelayMillis: 50 })] });
  const subjects = [
    ['supabase-js, unprotected', createSupabaseClient(standIn.url, 'key', clientOptions)],
    ['@phlow/supabase (no tracer SDK)', createClient(standIn.url, 'key', { ...clientOptions, protection: { registry } })],
    [
      '@phlow/supabase, timeoutMs: 0 (no signal)',
      createClient(standIn.url, 'key', { ...clientOptions, protection: { registry, name: 'untimed', breaker: { timeoutMs: 0 } } }),
    ],
    [
      '@phlow/supabase (SDK recording spans)',
      createClient(standIn.url, 'key', { ...clientOptions, protection: { registry, name: 'traced', tracerProvider } }),
    ],
  ];
  const query = (client) => client.from('agents').select('id, name, score').lt('score', 10).order('id');
  for (const [, client] of subjects) for (let i = 0; i < 300; i++) await query(client); // warm up
  const samples = subjects.map(() => []);
  const roundMedians = subjects.map(() => []);
  const rounds = 150;
  const perRound = 20;
  for (let round = 0; round < rounds; round++) {
    // Rotate the order so no subject always runs first (or right after another's garbage).
    for (let k = 0; k < subjects.length; k++) {
      const i = (round + k) % subjects.length;
      const times = [];
      for (let q = 0; q < perRound; q++) times.push(await timeOne(() => query(subjects[i][1])));
      samples[i].push(...times);
      roundMedians[i].push(median(times));
    }
  }
  const bare = median(samples[0]);
  console.log(`1. select of 9 rows from the stand-in (PGlite), ${rounds} interleaved rounds of ${perRound} queries each:`);
  console.log(`   ${''.padEnd(38)} ${'median'.padStart(11)}   added (median of per-round differences)`);
  subjects.forEach(([label], i) => {
    const ns = median(samples[i]);
    const added = median(roundMedians[i].map((m, r) => m - roundMedians[0][r]));
    const note = i === 0 ? '' : `   ${us(added).trim()} = ${((added / bare) * 100).toFixed(2)} % (goal <= 2 %)`;
    console.log(`   ${label.padEnd(38)} ${us(ns)}${note}`);
  });
  await tracerProvider.shutdown();
  await standIn.stop();
}

async function ownCost() {
  const body = JSON.stringify([{ id: 'a1', name: 'agent 1', score: 1 }]);
  const instant = () => Promise.resolve(new Response(body, { status: 200, headers: { 'content-type': 'application/json' } }));
  const registry = new CircuitBreakerRegistry({ logger: false });
  const protectedFetch = protectFetch('http://127.0.0.1:1', { registry, fetch: instant });
  const url = 'http://127.0.0.1:1/rest/v1/agents?select=id';
  const init = { method: 'GET', headers: new Headers({ apikey: 'key', 'Accept-Profile': 'public' }) };
  const subjects = [
    ['fetch answering at once, then .text()', () => instant(url, init).then((r) => r.text())],
    ['the same through protectFetch', () => protectedFetch(url, init).then((r) => r.text())],
  ];
  const calls = 20_000;
  const run = async (fn) => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) await fn();
    return Number(process.hrtime.bigint() - start) / calls;
  };
  for (const [, fn] of subjects) await run(fn);
  const samples = subjects.map(() => []);
  for (let round = 0; round < 9; round++) for (let i = 0; i < subjects.length; i++) samples[i].push(await run(subjects[i][1]));
  console.log('2. the adapter alone (breaker, timeout, span, body read inside the call), per request:');
  const bare = median(samples[0]);
  subjects.forEach(([label], i) => {
    const ns = median(samples[i]);
    console.log(`   ${label.padEnd(40)} ${us(ns)}${i === 0 ? '' : `   (+${us(ns - bare).trim()})`}`);
  });
}

async function rejection() {
  const registry = new CircuitBreakerRegistry({ logger: false });
  const supabase = createClient('http://127.0.0.1:1', 'key', { ...clientOptions, protection: { registry } });
  breakerFor(supabase).forceOpen();
  const query = () => supabase.from('agents').select('id');
  for (let i = 0; i < 2_000; i++) await query();
  const samples = [];
  for (let i = 0; i < 5_000; i++) samples.push(await timeOne(query));
  const sorted = [...samples].sort((a, b) => a - b);
  console.log('3. a query refused by an open breaker (supabase-js result with status 529, nothing sent):');
  console.log(`   median ${us(median(samples)).trim()}, p99 ${us(sorted[Math.floor(sorted.length * 0.99)]).trim()} (goal < 1 ms)`);
}

await queryLatency();
await ownCost();
await rejection();
