/**
 * A worker thread of the replay pool (see `tune`): receives the traffic once (shared memory, no copy),
 * then candidates one at a time, and answers each with its evaluation.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Candidate } from './candidate.js';
import { evaluateCandidate, type EvaluationContext } from './evaluate.js';

const context = workerData as EvaluationContext;
const scratch = new Uint8Array(context.traffic.input.outcome.length);

parentPort!.on('message', (task: { index: number; candidate: Candidate }) => {
  evaluateCandidate(context, task.candidate, scratch).then(
    (evaluation) => parentPort!.postMessage({ index: task.index, evaluation }),
    (error: unknown) => parentPort!.postMessage({ index: task.index, error: error instanceof Error ? error.message : String(error) }),
  );
});
