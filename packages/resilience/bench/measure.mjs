// One measurement in a fresh process: `node measure.mjs <kind> <subject>`. Prints one JSON line.
// The same method as @phlow/circuit-breaker's bench: median of 7 rounds after a warm-up.
import { makeSubject } from './subjects.mjs';

const [kind, subjectName] = process.argv.slice(2);
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

const kinds = { sequential, concurrent };
const result = await kinds[kind]();
process.stdout.write(`${JSON.stringify({ kind, subject: subjectName, result })}\n`);
process.exit(0);
