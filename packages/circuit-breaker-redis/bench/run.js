// pnpm bench: what the Redis store costs a CLOSED call (same run, with and without the store), and how
// long a transition takes to reach another replica. Starts its own redis-server on a free port.
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { CircuitBreaker } from '@phlow/circuit-breaker';
import { freePort } from '@phlow/test-helpers';
import { RedisStateStore } from '../dist/index.js';

const port = await freePort();
const redis = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
await new Promise((resolve) => redis.stdout.on('data', (d) => String(d).includes('Ready to accept') && resolve()));
const url = `redis://127.0.0.1:${port}`;

const ok = () => 'ok';
const boom = () => {
  throw new Error('x');
};

async function closedCalls(breaker, n, failEvery) {
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    // Yield to the event loop now and then, as a server does between requests, so the store's
    // background work (failure batches, replies) runs inside the measurement.
    if (i % 1_000 === 0) await new Promise((resolve) => setImmediate(resolve));
    if (failEvery !== 0 && i % failEvery === 0) {
      try {
        await breaker.execute(boom);
      } catch {}
    } else await breaker.execute(ok);
  }
  return ((performance.now() - start) * 1e6) / n; // ns per call
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function percentile(values, p) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

const storeA = new RedisStateStore({ redis: url, keyPrefix: 'bench' });
const storeB = new RedisStateStore({ redis: url, keyPrefix: 'bench' });
await Promise.all([storeA.ready(), storeB.ready()]);

console.log(`node ${process.version}, redis-server on 127.0.0.1:${port}`);
console.log('\nCLOSED call, await breaker.execute(fn) — median of 7 alternating rounds of 500 000 calls,\n  yielding to the event loop every 1 000 calls');
for (const [label, failEvery] of [
  ['all succeed', 0],
  ['1 in 100 fails', 100],
]) {
  // Thresholds high enough that the breakers stay CLOSED for the whole run.
  const plain = new CircuitBreaker(`plain-${failEvery}`, { failureThreshold: 1_000_000, logger: false });
  const shared = new CircuitBreaker(`shared-${failEvery}`, { failureThreshold: 1_000_000, logger: false, stateStore: storeA });
  await storeA.reconcile();
  const without = [];
  const withStore = [];
  await closedCalls(plain, 200_000, failEvery);
  await closedCalls(shared, 200_000, failEvery);
  for (let round = 0; round < 7; round++) {
    without.push(await closedCalls(plain, 500_000, failEvery));
    withStore.push(await closedCalls(shared, 500_000, failEvery));
  }
  const a = median(without);
  const b = median(withStore);
  console.log(
    `  ${label.padEnd(16)} without store ${a.toFixed(0).padStart(5)} ns   with Redis store ${b.toFixed(0).padStart(5)} ns   ratio ${(b / a).toFixed(2)}×   (store: ${shared.state}, ${storeA.getStats().failureFlushes} failure batches sent)`,
  );
  plain.dispose();
  shared.dispose();
}

async function propagation(samples, makeTransition, label) {
  const a = new CircuitBreaker(label, { failureThreshold: 1, logger: false, stateStore: storeA });
  const b = new CircuitBreaker(label, { failureThreshold: 1, logger: false, stateStore: storeB });
  await Promise.all([storeA.reconcile(), storeB.reconcile()]);
  const delays = [];
  for (let i = 0; i < samples; i++) {
    const target = i % 2 === 0 ? 'open' : 'closed';
    const arrived = new Promise((resolve) => {
      const sub = b.onStateChange((e) => {
        if (e.to === target || (target === 'open' && e.to === 'forced_open')) {
          sub.dispose();
          resolve(performance.now());
        }
      });
    });
    const start = performance.now();
    await makeTransition(a, target);
    delays.push((await arrived) - start);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  a.dispose();
  b.dispose();
  return delays;
}

console.log('\nPropagation to another replica (its own connections, through Redis pub/sub on loopback)');
const manual = await propagation(400, (a, target) => (target === 'open' ? a.forceOpen() : a.reset()), 'prop-manual');
console.log(
  `  a transition (forceOpen/reset) → peer adopts it:      p50 ${percentile(manual, 50).toFixed(2)} ms   p99 ${percentile(manual, 99).toFixed(2)} ms   max ${Math.max(...manual).toFixed(2)} ms   (n=${manual.length})`,
);
const trips = await propagation(
  100,
  async (a, target) => {
    if (target === 'open') await a.execute(boom).catch(() => undefined);
    else a.reset();
  },
  'prop-trip',
);
const tripDelays = trips.filter((_, i) => i % 2 === 0);
console.log(
  `  a failure opens a breaker (local trip) → peer open:   p50 ${percentile(tripDelays, 50).toFixed(2)} ms   p99 ${percentile(tripDelays, 99).toFixed(2)} ms   (n=${tripDelays.length})`,
);

// Fleet-wide trip: each replica below the threshold alone; the count reaches it in Redis after a flush.
{
  const delays = [];
  for (let i = 0; i < 50; i++) {
    const a = new CircuitBreaker(`fleet-${i}`, { failureThreshold: 2, logger: false, stateStore: storeA });
    const b = new CircuitBreaker(`fleet-${i}`, { failureThreshold: 2, logger: false, stateStore: storeB });
    await Promise.all([storeA.reconcile(), storeB.reconcile()]);
    await b.execute(boom).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 80)); // b's failure counted in Redis
    const opened = new Promise((resolve) => b.onStateChange((e) => e.to === 'open' && resolve(performance.now())));
    const start = performance.now();
    await a.execute(boom).catch(() => undefined);
    delays.push((await opened) - start);
    a.dispose();
    b.dispose();
  }
  console.log(
    `  fleet-wide trip (1 + 1 failures, threshold 2) → open: p50 ${percentile(delays, 50).toFixed(2)} ms   p99 ${percentile(delays, 99).toFixed(2)} ms   (n=${delays.length}; includes flushIntervalMs = ${storeA.options.flushIntervalMs} ms)`,
  );
}

await Promise.all([storeA.close(), storeB.close()]);
redis.kill('SIGKILL');
