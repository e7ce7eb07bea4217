// One measurement in a fresh process: `node --expose-gc measure.mjs <kind> <subject> [arg]`.
// Prints one JSON line. Timings are the median of several rounds after a warm-up.
import { CircuitBreaker } from '../dist/index.js';
import { idleFactory, makeOpenSubject, makeSubject } from './subjects.mjs';
import { concurrentNs, sequentialNs, timeRounds } from './timing.mjs';

const [kind, subjectName, arg] = process.argv.slice(2);
const noop = async () => {};
async function sequential() {
  return sequentialNs(await makeSubject(subjectName, noop));
}

async function concurrent() {
  return concurrentNs(await makeSubject(subjectName, noop));
}

async function rejected() {
  const call = await makeOpenSubject(subjectName, noop);
  return timeRounds(300_000, async (n) => {
    for (let i = 0; i < n; i++) {
      try {
        await call();
      } catch {
        // rejected: the point
      }
    }
  });
}

async function idle() {
  const make = await idleFactory(subjectName);
  const count = 20_000;
  const keep = new Array(count);
  globalThis.gc();
  const timersBefore = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < count; i++) keep[i] = make(i);
  globalThis.gc();
  const bytes = (process.memoryUsage().heapUsed - before) / count;
  const timers = (process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length - timersBefore) / count;
  return { bytes, timers, keep: keep.length };
}

/** ns per failed call in a CLOSED breaker whose count window holds `arg` calls: O(1) means flat in `arg`. */
async function failureRecording() {
  const size = Number(arg);
  const breaker = new CircuitBreaker('bench', {
    timeoutMs: 0,
    logger: false,
    failurePolicy: { type: 'count-window', size, minimumCalls: size, failureRateThreshold: 1 },
  });
  const failure = new Error('down');
  const failing = () => Promise.reject(failure);
  let flip = 0;
  return timeRounds(500_000, async (n) => {
    for (let i = 0; i < n; i++) {
      // Alternate so the rate stays at 0.5 and the breaker never opens.
      if ((flip ^= 1)) await breaker.execute(noop);
      else await breaker.execute(failing).catch(() => {});
    }
  });
}

const kinds = { sequential, concurrent, rejected, idle, failureRecording };
const result = await kinds[kind]();
process.stdout.write(`${JSON.stringify({ kind, subject: subjectName, arg, result })}\n`);
process.exit(0);
