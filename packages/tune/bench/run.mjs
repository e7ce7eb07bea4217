// Replay speed: recorded calls replayed per second per configuration on one core, and the wall time of
// a whole grid (50 configurations × a 24-hour recording at 50 calls/s = 216 M replayed calls) on the
// machine's cores with worker threads. Run after the build: `pnpm bench` (node bench/run.mjs).
// Figures, not assertions; the baseline is a bare loop over the same columns calling a no-op per call.
// Besides wall time, CPU time is printed (this thread's for one configuration, the process's — all
// threads — for the grid): on a shared, loaded machine wall time measures the neighbours too.
import { availableParallelism, cpus } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CircuitBreaker } from '@phlow/circuit-breaker';
import { defaultGrid, exactReplayTraffic, replay, scenarios, TrafficRecorder, tune } from '../dist/index.js';

const rateHz = Number(process.env.BENCH_RATE_HZ ?? 50);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const kind = process.env.BENCH_SCENARIO ?? 'hardOutage';

// BENCH_PARTS=replay,grid,recorder (the default: all) picks parts.
const parts = new Set((process.env.BENCH_PARTS ?? 'replay,grid,recorder').split(','));
const t0 = performance.now();
const day = scenarios[kind](7, rateHz);
const input = exactReplayTraffic(day.traffic);
const n = day.traffic.start.length;
console.log(`Node ${process.version}, ${cpus()[0]?.model ?? 'cpu'} × ${availableParallelism()}`);
console.log(`scenario ${kind}: 24 h at ${rateHz} calls/s = ${n.toLocaleString('en')} calls (generated in ${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);

// This thread's CPU time (Node ≥ 23.9); the process's on older Nodes (the same here: one thread runs).
const threadCpu = process.threadCpuUsage?.bind(process) ?? process.cpuUsage.bind(process);

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

// The floor: a loop over the same columns calling a no-op function per call.
const noop = (o, d) => o + d;
const bare = [];
for (let r = 0; r < rounds; r++) {
  const s = performance.now();
  let sink = 0;
  for (let i = 0; i < n; i++) sink += noop(input.outcome[i], input.duration[i]);
  bare.push(performance.now() - s);
  if (sink === -1) console.log(sink);
}
const bareRate = n / (median(bare) / 1000);
console.log(`bare loop (no-op per call): ${(bareRate / 1e6).toFixed(1)} M calls/s\n`);

const grid = defaultGrid();
const picks = [0, 1, 5, 17, 23, 30, 38, 42, 44].filter((i) => i < grid.length);
if (parts.has('replay')) {
console.log('one core, one configuration (median of', rounds, 'rounds):');
console.log('| configuration | M calls/s (wall) | M calls/s (CPU) | ns per call (CPU) | × bare loop |');
console.log('| --- | --- | --- | --- | --- |');
const rates = [];
for (const i of picks) {
  const candidate = grid[i];
  const times = [];
  const cpuTimes = [];
  const scratch = new Uint8Array(n);
  for (let r = 0; r < rounds; r++) {
    const s = performance.now();
    const c = threadCpu();
    await replay(input, candidate, scratch);
    const used = threadCpu(c);
    times.push(performance.now() - s);
    cpuTimes.push((used.user + used.system) / 1000);
  }
  const rate = n / (median(times) / 1000);
  const cpuRate = n / (median(cpuTimes) / 1000);
  rates.push(cpuRate);
  console.log(`| ${candidate.label} | ${(rate / 1e6).toFixed(2)} | ${(cpuRate / 1e6).toFixed(2)} | ${((1e9 / cpuRate)).toFixed(0)} | ${(bareRate / cpuRate).toFixed(1)} |`);
}
console.log(`\nslowest of these: ${(Math.min(...rates) / 1e6).toFixed(2)} M calls/s of CPU time per configuration on one core (goal ≥ 2 M)\n`);
}

for (const workers of parts.has('grid') ? [1, availableParallelism()] : []) {
  const s = performance.now();
  const c = process.cpuUsage();
  const report = await tune(day.traffic, { health: day.truth, workers });
  const used = process.cpuUsage(c);
  const seconds = (performance.now() - s) / 1000;
  const cpuSeconds = (used.user + used.system) / 1e6;
  const replayed = n * report.results.length;
  console.log(
    `grid: ${report.results.length} configurations × ${n.toLocaleString('en')} calls = ${(replayed / 1e6).toFixed(0)} M replayed calls on ${workers} worker(s): ` +
      `${seconds.toFixed(1)} s wall, ${cpuSeconds.toFixed(1)} s CPU (all threads; on ${workers} idle core(s) ≈ ${(cpuSeconds / workers).toFixed(1)} s). Goal: 216 M in < 60 s on both cores.`,
  );
}

// What recording costs a breaker: a closed call (async no-op, no timeout) with no recorder, with a
// recorder in memory, and with one writing JSONL files; median of rounds, beside a bare await.
if (parts.has('recorder')) {
console.log('\nrecording cost per call (sequential await, closed breaker, no timeout):');
const dir = mkdtempSync(join(tmpdir(), 'phlow-tune-bench-'));
const calls = 300_000;
const work = async () => 1;
async function perCall(setup) {
  const times = [];
  for (let r = 0; r < rounds + 2; r++) {
    const breaker = new CircuitBreaker('bench', { timeoutMs: 0, logger: false });
    const recorder = setup?.(breaker);
    const s = performance.now();
    for (let i = 0; i < calls; i++) await breaker.execute(work);
    times.push(((performance.now() - s) * 1e6) / calls);
    await recorder?.close();
  }
  return median(times.slice(2));
}
async function bareAwait() {
  const times = [];
  for (let r = 0; r < rounds + 2; r++) {
    const s = performance.now();
    for (let i = 0; i < calls; i++) await work();
    times.push(((performance.now() - s) * 1e6) / calls);
  }
  return median(times.slice(2));
}
const bareNs = await bareAwait();
const plainNs = await perCall();
const offNs = await perCall((b) => {
  const r = new TrafficRecorder({ dir, enabled: false });
  r.attach(b);
  return r;
});
const memoryNs = await perCall((b) => {
  const r = new TrafficRecorder({ memoryCalls: 100_000 });
  r.attach(b);
  return r;
});
const fileNs = await perCall((b) => {
  const r = new TrafficRecorder({ dir, memoryCalls: 0, maxFileBytes: 16 * 2 ** 20, maxFiles: 2 });
  r.attach(b);
  return r;
});
rmSync(dir, { recursive: true, force: true });
console.log('| | ns per call | × bare await |');
console.log('| --- | --- | --- |');
for (const [name, ns] of [['bare await fn()', bareNs], ['breaker, no recorder', plainNs], ['breaker + recorder switched off', offNs], ['breaker + recorder, memory ring', memoryNs], ['breaker + recorder, JSONL files', fileNs]]) {
  console.log(`| ${name} | ${ns.toFixed(0)} | ${(ns / bareNs).toFixed(2)} |`);
}
}
