// `pnpm bench`: pipeline(bulkhead, retry, breaker) beside a bare call and cockatiel 4's
// wrap(bulkhead, retry, breaker) on the closed path (every call succeeds at once), each measurement in its
// own process, figures from this same run. Prints a table and the goals.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const measure = fileURLToPath(new URL('./measure.mjs', import.meta.url));

const PROCESSES = 3;

function once(kind, subject) {
  const out = execFileSync(process.execPath, [measure, kind, subject], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').at(-1)).result;
}

/**
 * Each subject's figure: the lowest of the medians of {@link PROCESSES} fresh processes, run in turns
 * (every subject once, then again...), so a burst of load elsewhere does not land on one subject only.
 * On a shared machine other work only ever adds time: the lowest median is the least disturbed.
 */
function measureAll(kind, subjects) {
  const figures = Object.fromEntries(subjects.map((subject) => [subject, Infinity]));
  for (let i = 0; i < PROCESSES; i++) {
    for (const subject of subjects) figures[subject] = Math.min(figures[subject], once(kind, subject));
  }
  return figures;
}

const fmt = (ns) => (ns >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${ns.toFixed(1)} ns`);
const rows = [];
const goals = [];

console.log(`Node ${process.version}, ${new Date().toISOString()}`);
console.log('\n# Closed path: ns per call (lowest of 3 processes\' medians of 7 rounds) and ns added over a bare `await fn()` of this run');
for (const kind of ['sequential', 'concurrent']) {
  const figures = measureAll(kind, ['bare', 'breaker', 'phlow', 'phlow+budget', 'phlow+observed', 'cockatiel']);
  const label = kind === 'sequential' ? 'sequential' : '1000 in flight';
  for (const [subject, ns] of Object.entries(figures)) {
    rows.push({ scenario: label, subject, 'per call': fmt(ns), added: subject === 'bare' ? '' : `+${fmt(ns - figures.bare)}` });
  }
  const ours = figures.phlow - figures.bare;
  const theirs = figures.cockatiel - figures.bare;
  goals.push([`pipeline(bulkhead, retry, breaker) adds ≤ 150 ns (${label})`, ours <= 150, `+${fmt(ours)}`]);
  goals.push([`≥ 5× less overhead than cockatiel's wrap (${label})`, theirs / ours >= 5, `${(theirs / ours).toFixed(1)}× (cockatiel +${fmt(theirs)})`]);
}
console.table(rows);
console.log('\n# Goals');
console.table(goals.map(([goal, met, figure]) => ({ goal, figure, met: met ? 'yes' : 'NO' })));
