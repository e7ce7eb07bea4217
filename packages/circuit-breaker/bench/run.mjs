// `pnpm bench`: our breaker beside a bare call, opossum and cockatiel, each measurement in its own
// process, and the ratios to bare measured in this same run. Prints a table and the project's performance goals.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const measure = fileURLToPath(new URL('./measure.mjs', import.meta.url));

function run(kind, subject, arg) {
  const out = execFileSync(process.execPath, ['--expose-gc', measure, kind, subject, ...(arg ? [arg] : [])], {
    encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').at(-1)).result;
}

const fmt = (ns) => (ns >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${ns.toFixed(1)} ns`);
const rows = [];
const goals = [];

console.log(`Node ${process.version}, ${new Date().toISOString()}`);
console.log('\n# Closed-state call (ns per call, median of 7 rounds; ratio to bare `await fn()` in this run)');
for (const kind of ['sequential', 'concurrent']) {
  const bare = run(kind, 'bare');
  const figures = { bare };
  for (const subject of ['phlow', 'phlow+timeout', 'opossum', 'opossum+timeout', 'cockatiel', 'cockatiel+timeout']) {
    figures[subject] = run(kind, subject);
  }
  const label = kind === 'sequential' ? 'sequential' : '1000 in flight';
  for (const [subject, ns] of Object.entries(figures)) {
    rows.push({ scenario: label, subject, 'per call': fmt(ns), 'vs bare': `${(ns / bare).toFixed(2)}×` });
  }
  goals.push([`closed call ≤ 1.8× bare (${label})`, figures.phlow / bare <= 1.8, `${(figures.phlow / bare).toFixed(2)}×`]);
  const timeoutCost = figures['phlow+timeout'] - figures.phlow;
  goals.push([`timeout configured ≤ +60 ns (${label})`, timeoutCost <= 60, `+${timeoutCost.toFixed(1)} ns`]);
}
console.table(rows);

console.log('\n# Rejected call when OPEN (per call, including the caught rejection)');
const rejected = {};
for (const subject of ['phlow', 'opossum', 'cockatiel']) rejected[subject] = run('rejected', subject);
console.table(Object.entries(rejected).map(([subject, ns]) => ({ subject, 'per rejected call': fmt(ns) })));
goals.push(['rejected call ≤ 0.6 µs', rejected.phlow <= 600, fmt(rejected.phlow)]);

console.log('\n# Idle breakers (never called): heap bytes and timers per breaker');
const idle = {};
for (const subject of ['phlow', 'opossum', 'cockatiel']) idle[subject] = run('idle', subject);
console.table(
  Object.entries(idle).map(([subject, r]) => ({ subject, 'bytes each': Math.round(r.bytes), 'timers each': r.timers })),
);
goals.push(['≤ 400 bytes per idle breaker', idle.phlow.bytes <= 400, `${Math.round(idle.phlow.bytes)} B`]);
goals.push(['zero timers per idle breaker', idle.phlow.timers === 0, `${idle.phlow.timers}`]);

console.log('\n# Recording a failure: ns per call (half failing) by count-window size — flat means O(1)');
const recording = {};
for (const size of ['10', '1000', '100000']) recording[size] = run('failureRecording', 'phlow', size);
console.table(Object.entries(recording).map(([size, ns]) => ({ 'window size': size, 'per call': fmt(ns) })));
const spread = Math.max(...Object.values(recording)) / Math.min(...Object.values(recording));
goals.push(['failure recording O(1) (window 10 → 100 000 within 1.5×)', spread <= 1.5, `${spread.toFixed(2)}× spread`]);

console.log('\n# Goals');
console.table(goals.map(([goal, met, figure]) => ({ goal, figure, met: met ? 'yes' : 'NO' })));
