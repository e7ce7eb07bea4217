// One measurement in a fresh process: `node --expose-gc measure.mjs <kind> <subject> [arg]`.
// Prints one JSON line. Timings are the median of several rounds after a warm-up.
import { CircuitBreaker } from '../dist/index.js';
import { idleFactory, makeOpenSubject, makeSubject } from './subjects.mjs';

const [kind, subjectName, arg] = process.argv.slice(2);
const ROUNDS = 7;
const noop = async () => {};

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function timeRounds(iterations, body) {
  await body(Math.min(iterations, 200_000)); // warm-up: let the JIT settle
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    await body(iterations);
    rounds.push(Number(process.hrtime.bigint() - start) / iterations);
  }
  return median(rounds);
}

async function sequential() {
  const call = await makeSubject(subjectName, noop);
  return timeRounds(1_000_000, async (n) => {
    for (let i = 0; i < n; i++) await call();
  });
}

async function concurrent() {
  const call = await makeSubject(subjectName, noop);
  const inFlight = 1_000;
  const batch = new Array(inFlight);
  return timeRounds(1_000_000, async (n) => {
    for (let done = 0; done < n; done += inFlight) {
      for (let i = 0; i < inFlight; i++) batch[i] = call();
      await Promise.all(batch);
    }
  });
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
