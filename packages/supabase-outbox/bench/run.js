// Benchmarks for @phlow/supabase-outbox (`pnpm bench`). Prints figures; asserts nothing.
//   1. Cost of queueing a write with a durable commit (WAL, synchronous=FULL): p50/p99 of `await insert()`
//      while the breaker is open (nothing is sent), one write at a time; beside a bare `await` of the same run.
//   2. Event-loop delay under load (perf_hooks.monitorEventLoopDelay): 50 concurrent writers, group commit
//      on and off, beside the same load without the outbox.
//   3. Replay throughput: rows queued while the breaker is open, then drained into the testkit's
//      Supabase stand-in over PostgreSQL (127.0.0.1:5432; PGlite when PHLOW_BENCH_PGLITE=1).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { SupabaseStandIn } from '@phlow/testkit';
import { createClient } from '@supabase/supabase-js';
import { SupabaseOutbox } from '../dist/index.js';

const dir = mkdtempSync(join(tmpdir(), 'phlow-outbox-bench-'));
const ms = (ns) => `${(ns / 1e6).toFixed(3).padStart(7)} ms`;
const quantile = (values, q) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * q))];
const row = (i) => ({ conversation_id: `c${i % 10}`, body: `message ${i} `.padEnd(200, 'x') });
const unreachable = createClient('http://127.0.0.1:9', 'key', { auth: { persistSession: false, autoRefreshToken: false } });
let file = 0;
const heldOutbox = (options = {}) => new SupabaseOutbox({ supabase: unreachable, path: join(dir, `bench-${file++}.sqlite`), breaker: () => ({ state: 'open' }), maxRows: 1_000_000, maxBytes: 2 ** 31, ...options });

async function queueingCost() {
  const n = 5_000;
  const results = [];
  for (const groupCommit of [false, true]) {
    const outbox = heldOutbox({ groupCommit });
    for (let i = 0; i < 500; i++) await outbox.insert('messages', row(i)); // warm up
    const times = [];
    for (let i = 0; i < n; i++) {
      const start = process.hrtime.bigint();
      await outbox.insert('messages', row(i));
      times.push(Number(process.hrtime.bigint() - start));
    }
    await outbox.close();
    results.push([`groupCommit: ${groupCommit}`, times]);
  }
  // The floor: a bare node:sqlite insert + commit with the same pragmas, no outbox around it.
  const { DatabaseSync } = await import('node:sqlite');
  const db = new DatabaseSync(join(dir, 'bare.sqlite'));
  db.exec('pragma journal_mode = wal; pragma synchronous = full; create table t (seq integer primary key, row text not null)');
  const insert = db.prepare('insert into t (row) values (?)');
  const commits = [];
  for (let i = 0; i < n + 500; i++) {
    const json = JSON.stringify(row(i));
    const start = process.hrtime.bigint();
    db.exec('begin immediate');
    insert.run(json);
    db.exec('commit');
    if (i >= 500) commits.push(Number(process.hrtime.bigint() - start));
  }
  db.close();
  results.push(['bare sqlite commit', commits]);
  const bare = [];
  for (let i = 0; i < n; i++) {
    const start = process.hrtime.bigint();
    await new Promise((resolve) => setImmediate(resolve));
    bare.push(Number(process.hrtime.bigint() - start));
  }
  console.log(`1. Queueing one write (${n} writes of ~260 bytes, one at a time, durable commit each; goal p99 <= 1 ms):`);
  for (const [name, times] of results) console.log(`   ${name.padEnd(20)} p50 ${ms(quantile(times, 0.5))}   p99 ${ms(quantile(times, 0.99))}   max ${ms(Math.max(...times))}`);
  console.log(`   ${'bare setImmediate'.padEnd(20)} p50 ${ms(quantile(bare, 0.5))}   p99 ${ms(quantile(bare, 0.99))}`);
}

async function eventLoopDelay() {
  // Open loop, as requests arrive: every millisecond a timer starts `perTick` writes (not awaiting the
  // earlier ones), for 3 s. The monitor samples how late the loop runs its timers.
  const seconds = 3;
  console.log(`\n2. Event-loop delay while writes arrive at a steady rate for ${seconds} s (monitorEventLoopDelay, resolution 1 ms; a timer each ms starts the writes):`);
  for (const perTick of [1, 5]) {
    for (const mode of ['no outbox', 'groupCommit: false', 'groupCommit: true']) {
      const outbox = mode === 'no outbox' ? undefined : heldOutbox({ groupCommit: mode.endsWith('true') });
      const histogram = monitorEventLoopDelay({ resolution: 1 });
      const inFlight = new Set();
      let started = 0;
      histogram.enable();
      const begin = process.hrtime.bigint();
      await new Promise((resolve) => {
        const timer = setInterval(() => {
          for (let i = 0; i < perTick; i++) {
            if (outbox === undefined) {
              started++;
              continue;
            }
            const write = outbox.insert('messages', row(started++));
            inFlight.add(write);
            void write.finally(() => inFlight.delete(write));
          }
          if (process.hrtime.bigint() - begin > BigInt(seconds * 1e9)) {
            clearInterval(timer);
            resolve();
          }
        }, 1);
      });
      await Promise.all(inFlight);
      histogram.disable();
      const elapsed = Number(process.hrtime.bigint() - begin) / 1e9;
      await outbox?.close();
      console.log(
        `   ${`${perTick}/ms offered, ${mode}`.padEnd(34)} delay p50 ${ms(histogram.percentile(50))}  p99 ${ms(histogram.percentile(99))}  max ${ms(histogram.max)}   ${Math.round(started / elapsed)} ${outbox === undefined ? 'offered (none queued)' : 'writes/s queued'}`,
      );
    }
  }
}

async function replayThroughput() {
  const pglite = process.env.PHLOW_BENCH_PGLITE === '1';
  const schema = `outbox_bench_${process.pid}`;
  const sql = `create schema ${schema}; create table ${schema}.messages (id bigint generated always as identity primary key, conversation_id text not null, body text not null, idempotency_key text unique, outbox_seq bigint);`;
  const standIn = new SupabaseStandIn(pglite ? { schemaSql: sql, dbSchema: schema } : { databaseUrl: process.env.PHLOW_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres', dbSchema: schema, schemaSql: sql });
  await standIn.start();
  try {
    const supabase = createClient(standIn.url, 'key', { auth: { persistSession: false, autoRefreshToken: false }, db: { schema } });
    const rows = 20_000;
    console.log(`\n3. Replay throughput into the Supabase stand-in over ${pglite ? 'PGlite' : 'PostgreSQL'} (${rows} rows of ~260 bytes queued, then drained; goal >= 1000 rows/s):`);
    for (const batchSize of [1, 100, 500]) {
      await standIn.query(`truncate ${schema}.messages`);
      let state = 'open';
      const outbox = new SupabaseOutbox({ supabase, path: join(dir, `replay-${file++}.sqlite`), breaker: () => ({ state }), batchSize, maxRows: 1_000_000, maxBytes: 2 ** 31 });
      const count = batchSize === 1 ? 2_000 : rows;
      await Promise.all(Array.from({ length: count }, (_, i) => outbox.insert('messages', row(i), { conversation: `c${i % 10}` })));
      state = 'closed';
      const start = process.hrtime.bigint();
      await outbox.flush();
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const [{ n }] = await standIn.query(`select count(*)::int as n from ${schema}.messages`);
      console.log(`   batchSize ${String(batchSize).padEnd(4)} ${count} rows in ${seconds.toFixed(2)} s: ${Math.round(count / seconds)} rows/s (${n} in the table, ${outbox.stats.pending} left)`);
      await outbox.close();
    }
  } finally {
    await standIn.query(`drop schema ${schema} cascade`).catch(() => undefined);
    await standIn.stop();
  }
}

try {
  console.log(`@phlow/supabase-outbox bench on Node ${process.version}\n`);
  await queueingCost();
  await eventLoopDelay();
  await replayThroughput();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
