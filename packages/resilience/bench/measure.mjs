// One measurement in a fresh process: `node measure.mjs <kind> <subject>`. Prints one JSON line.
// The same method as @phlow/circuit-breaker's bench: median of 7 rounds after a warm-up.
import { makeSubject } from './subjects.mjs';
import { concurrentNs, sequentialNs } from '../../circuit-breaker/bench/timing.mjs';

const [kind, subjectName] = process.argv.slice(2);
const noop = async () => {};
async function sequential() {
  return sequentialNs(await makeSubject(subjectName, noop));
}

async function concurrent() {
  return concurrentNs(await makeSubject(subjectName, noop));
}

const kinds = { sequential, concurrent };
const result = await kinds[kind]();
process.stdout.write(`${JSON.stringify({ kind, subject: subjectName, result })}\n`);
process.exit(0);
