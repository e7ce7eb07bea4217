import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { checkInteger, checkKnownKeys, checkNumber } from '@phlow/circuit-breaker/internal';
import { checkCandidate, GUIDE_DEFAULTS, type Candidate } from './candidate.js';
import { defaultGrid } from './default-grid.js';
import { evaluateCandidate, type CandidateEvaluation, type EvaluationContext, type JudgedTraffic } from './evaluate.js';
import { inferOutages } from './health.js';
import { imputeRefusedCalls, type ReplayTraffic } from './imputation.js';
import type { ConfigMetrics, ScoringOptions } from './metrics.js';
import { paretoFront } from './pareto.js';
import { referenceOutage } from './reference-outage.js';
import { spanMs, type HealthTruth, type Traffic } from './traffic.js';

/** How much each kind of harm weighs when one configuration is recommended, in calls. */
export interface CostWeights {
  /** A call let through to a dead dependency. Default 1. */
  readonly deadCall?: number;
  /** A healthy call refused. Default 1. */
  readonly healthyRefused?: number;
  /** A flap, on top of the calls it refused (load spikes, alerts, noise). Default 50. */
  readonly flap?: number;
}

/** Options of {@link tune}. */
export interface TuneOptions {
  /** Configurations to score; the guide's defaults are added if missing. Default: {@link defaultGrid}. */
  readonly grid?: readonly unknown[];
  /**
   * Worker threads; 0 or 1 replays on this thread. Default: the machine's parallelism, at most the
   * grid's size — but one (this thread) when fewer than 2 M calls are replayed in all.
   */
  readonly workers?: number;
  /** The dependency's health when known (generated traffic). Default: read off the traffic (an estimate). */
  readonly health?: HealthTruth;
  readonly scoring?: ScoringOptions;
  readonly weights?: CostWeights;
  /** Columns of each report timeline. Default 600. */
  readonly timelineColumns?: number;
}

/** One configuration in a {@link TuneReport}. */
export interface ConfigResult extends CandidateEvaluation {
  readonly candidate: Candidate;
  /** On the Pareto front of (dead calls, healthy calls refused, flaps per hour, recovery delay, calls to open on the reference outage). */
  readonly pareto: boolean;
  /** The weighted cost the recommendation minimises, in calls. */
  readonly cost: number;
}

/** What {@link tune} found. */
export interface TuneReport {
  readonly breaker: string;
  readonly calls: number;
  readonly from: number;
  readonly to: number;
  /** Calls the recording breaker refused, whose outcome was imputed. */
  readonly imputedCalls: number;
  readonly health: HealthTruth;
  readonly results: readonly ConfigResult[];
  /** Index in `results` of the recommended configuration. */
  readonly recommended: number;
  /** Index in `results` of the guide's defaults. */
  readonly defaults: number;
  readonly reasons: readonly string[];
}

/**
 * Replays `traffic` through the real breaker under every configuration of the grid and recommends one.
 *
 * @example
 * const report = await tune(loadRecording('calls.jsonl').get('payments')!);
 * console.log(report.results[report.recommended].candidate.options, report.reasons);
 */
export async function tune(traffic: Traffic, options: TuneOptions = {}): Promise<TuneReport> {
  checkKnownKeys('tune options', options, ['grid', 'workers', 'health', 'scoring', 'weights', 'timelineColumns']);
  const grid = withDefaults((options.grid ?? defaultGrid()).map((c, i) => checkCandidate(c, `grid[${i}]`)));
  if (options.workers !== undefined) checkInteger('workers', options.workers, 0, 256);
  if (options.timelineColumns !== undefined) checkInteger('timelineColumns', options.timelineColumns, 10, 10_000);
  const weights = checkWeights(options.weights ?? {});
  const input = imputeRefusedCalls(traffic);
  const health = options.health ?? inferOutages(input);
  const rateHz = (traffic.start.length * 1000) / spanMs(traffic);
  const ref = referenceOutage(rateHz);
  const context: EvaluationContext = {
    traffic: { input, health },
    reference: { input: imputeRefusedCalls(ref.traffic), health: ref.truth },
    ...(options.scoring === undefined ? {} : { scoring: options.scoring }),
    ...(options.timelineColumns === undefined ? {} : { timelineColumns: options.timelineColumns }),
  };
  // By default a small replay stays on this thread: starting workers (~0.2 s each) would cost more
  // than the replay, and a recording of thousands of short-lived breakers would take minutes.
  const small = traffic.start.length * grid.length < SMALL_REPLAY_CALLS;
  const workers = Math.min(options.workers ?? (small ? 1 : availableParallelism()), grid.length);
  const evaluations = workers <= 1 ? await evaluateHere(context, grid) : await evaluateInWorkers(context, grid, workers);
  return recommend(traffic, input, health, grid, evaluations, weights);
}

/** Replayed calls (calls × configurations) below which the default is to replay on the calling thread. */
const SMALL_REPLAY_CALLS = 2_000_000;

function withDefaults(grid: Candidate[]): Candidate[] {
  const same = (c: Candidate) => JSON.stringify(c.options) === JSON.stringify(GUIDE_DEFAULTS.options);
  return grid.some(same) ? grid : [GUIDE_DEFAULTS, ...grid];
}

function checkWeights(weights: CostWeights): Required<CostWeights> {
  checkKnownKeys('weights', weights, ['deadCall', 'healthyRefused', 'flap']);
  const read = (key: keyof CostWeights, fallback: number) => (weights[key] === undefined ? fallback : checkNumber(`weights.${key}`, weights[key], 0, 1e9));
  return { deadCall: read('deadCall', 1), healthyRefused: read('healthyRefused', 1), flap: read('flap', 50) };
}

async function evaluateHere(context: EvaluationContext, grid: readonly Candidate[]): Promise<CandidateEvaluation[]> {
  const scratch = new Uint8Array(context.traffic.input.outcome.length);
  const results: CandidateEvaluation[] = [];
  for (const candidate of grid) results.push(await evaluateCandidate(context, candidate, scratch));
  return results;
}

/** Shares the traffic with `count` worker threads (no copy) and hands out candidates as workers come free. */
async function evaluateInWorkers(context: EvaluationContext, grid: readonly Candidate[], count: number): Promise<CandidateEvaluation[]> {
  const shared: EvaluationContext = { ...context, traffic: share(context.traffic), reference: share(context.reference) };
  const results = new Array<CandidateEvaluation>(grid.length);
  let next = 0;
  // Workers inherit the process's Node options, and refuse `--input-type` (set for a `node -e` or stdin
  // script): an app started that way must still get its workers.
  const execArgv = process.execArgv.filter((arg) => !arg.startsWith('--input-type'));
  const pool = Array.from({ length: count }, () => new Worker(new URL('./replay-worker.js', import.meta.url), { workerData: shared, execArgv }));
  try {
    await Promise.all(
      pool.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            const send = () => {
              if (next >= grid.length) return resolve();
              const index = next++;
              worker.postMessage({ index, candidate: grid[index] });
            };
            worker.on('message', (message: { index: number; evaluation?: CandidateEvaluation; error?: string }) => {
              if (message.error !== undefined) return reject(new Error(`replay of ${grid[message.index]!.label} failed: ${message.error}`));
              results[message.index] = message.evaluation!;
              send();
            });
            worker.once('error', reject);
            worker.once('exit', (code) => (next < grid.length || code !== 0 ? reject(new Error(`replay worker exited with code ${code}`)) : undefined));
            send();
          }),
      ),
    );
  } finally {
    await Promise.all(pool.map((worker) => worker.terminate()));
  }
  return results;
}

function share(judged: JudgedTraffic): JudgedTraffic {
  const copy = <T extends Float64Array | Float32Array | Uint8Array>(array: T): T => {
    const target = new (array.constructor as new (buffer: SharedArrayBuffer) => T)(new SharedArrayBuffer(array.byteLength));
    target.set(array);
    return target;
  };
  const { input } = judged;
  const traffic = input.traffic;
  const sharedInput: ReplayTraffic = {
    traffic: { name: traffic.name, start: copy(traffic.start), duration: copy(traffic.duration), outcome: copy(traffic.outcome) },
    outcome: copy(input.outcome),
    duration: copy(input.duration),
    imputed: copy(input.imputed),
    imputedCount: input.imputedCount,
  };
  return { input: sharedInput, health: judged.health };
}

function recommend(
  traffic: Traffic,
  input: ReplayTraffic,
  health: HealthTruth,
  grid: readonly Candidate[],
  evaluations: readonly CandidateEvaluation[],
  weights: Required<CostWeights>,
): TuneReport {
  const costOf = (m: ConfigMetrics) => weights.deadCall * m.deadCalls + weights.healthyRefused * m.healthyRefused + weights.flap * m.flaps;
  const objectives = evaluations.map((e) => [
    e.metrics.deadCalls,
    e.metrics.healthyRefused,
    e.metrics.flapsPerHour,
    e.metrics.meanRecoveryDelayMs ?? 0,
    e.reference.callsToOpen ?? Infinity,
  ]);
  const front = paretoFront(objectives);
  const results: ConfigResult[] = evaluations.map((e, i) => ({ candidate: grid[i]!, ...e, pareto: front.has(i), cost: costOf(e.metrics) }));
  const defaults = grid.findIndex((c) => JSON.stringify(c.options) === JSON.stringify(GUIDE_DEFAULTS.options));
  // The cheapest on the front; costs within 2 % (or one call) of the cheapest count as a tie, broken toward
  // the configuration that opens soonest on the reference outage, then the one that recovers soonest.
  const onFront = results.map((r, i) => ({ r, i })).filter(({ r }) => r.pareto);
  const cheapest = onFront.reduce((least, { r }) => Math.min(least, r.cost), Infinity);
  const tied = onFront.filter(({ r }) => r.cost <= cheapest + Math.max(1, cheapest * 0.02));
  tied.sort(
    (a, b) =>
      (a.r.reference.callsToOpen ?? Infinity) - (b.r.reference.callsToOpen ?? Infinity) ||
      (a.r.reference.recoveryDelayMs ?? Infinity) - (b.r.reference.recoveryDelayMs ?? Infinity) ||
      a.i - b.i,
  );
  const recommended = tied[0]!.i;
  const n = traffic.start.length;
  return {
    breaker: traffic.name,
    calls: n,
    from: n === 0 ? 0 : traffic.start[0]!,
    to: n === 0 ? 0 : traffic.start[n - 1]!,
    imputedCalls: input.imputedCount,
    health,
    results,
    recommended,
    defaults,
    reasons: reasonsFor(results[recommended]!, results[defaults]!, tied.length, weights),
  };
}

function reasonsFor(best: ConfigResult, defaults: ConfigResult, tied: number, weights: Required<CostWeights>): string[] {
  const m = best.metrics;
  const d = defaults.metrics;
  // Every figure quoted carries its own label, the defaults' too: their replay may rest on imputed calls.
  const est = (r: ConfigResult, key: keyof ConfigMetrics) => (r.metrics.estimated.includes(key) ? ' (estimate)' : '');
  const cost = (r: ConfigResult) => `${round(r.cost)}${costEstimated(r.metrics) ? ' (estimate)' : ''}`;
  const reasons = [
    `Lowest cost on the Pareto front: ${m.deadCalls} calls sent to a dead dependency${est(best, 'deadCalls')} + ${m.healthyRefused} healthy calls refused${est(best, 'healthyRefused')}` +
      ` + ${weights.flap} × ${m.flaps} flaps${est(best, 'flaps')} = ${cost(best)} (guide defaults: ${cost(defaults)}).`,
    `False trips: ${round(m.falseTripsPerDay)} per day${est(best, 'falseTripsPerDay')} (guide defaults: ${round(d.falseTripsPerDay)}${est(defaults, 'falseTripsPerDay')});` +
      ` flaps: ${round(m.flapsPerHour)} per hour${est(best, 'flapsPerHour')} (defaults: ${round(d.flapsPerHour)}${est(defaults, 'flapsPerHour')}).`,
  ];
  if (m.outages > 0) {
    reasons.push(
      `Outages: opened on ${m.outagesOpened} of ${m.outages}${est(best, 'outagesOpened')}, after ${fmtMs(m.meanTimeToOpenMs)} and ${round(m.meanCallsToOpen)} calls on average${est(best, 'meanTimeToOpenMs')}` +
        ` (defaults: ${fmtMs(d.meanTimeToOpenMs)}, ${round(d.meanCallsToOpen)} calls${est(defaults, 'meanTimeToOpenMs')});` +
        ` closed ${fmtMs(m.meanRecoveryDelayMs)} after the dependency recovered${est(best, 'meanRecoveryDelayMs')} (defaults: ${fmtMs(d.meanRecoveryDelayMs)}${est(defaults, 'meanRecoveryDelayMs')}).`,
    );
  } else {
    reasons.push('No outage in the traffic: sensitivity is judged on the reference outage only.');
  }
  reasons.push(
    `On a reference hard outage at this traffic's rate it opens after ${best.reference.callsToOpen ?? 'never'} calls (${fmtMs(best.reference.timeToOpenMs)})` +
      ` and closes ${fmtMs(best.reference.recoveryDelayMs)} after recovery${tied > 1 ? `; chosen among ${tied} configurations of equal cost as the quickest to open` : ''}.`,
  );
  if (m.imputedCallsAdmitted > 0) {
    reasons.push(
      `Estimates: every figure of this configuration, since it let through ${m.imputedCallsAdmitted} calls the recording breaker refused, whose outcomes are imputed from the calls around them.`,
    );
  } else if (m.estimated.length > 0) {
    reasons.push('Estimates: the outage figures, since outages are read off the recording; flaps and trips are exact replays of the recorded outcomes.');
  }
  return reasons;
}

/** The weighted cost rests on dead calls, refused calls and flaps: it is an estimate when any of them is. */
export function costEstimated(m: ConfigMetrics): boolean {
  return m.estimated.includes('deadCalls') || m.estimated.includes('healthyRefused') || m.estimated.includes('flaps');
}

function round(value: number | null): string {
  return value === null ? 'n/a' : String(Math.round(value * 100) / 100);
}

/** `1.2 s`, `350 ms`, `n/a`. */
export function fmtMs(ms: number | null): string {
  if (ms === null) return 'n/a';
  if (ms >= 60_000) return `${Math.round(ms / 6_000) / 10} min`;
  if (ms >= 1_000) return `${Math.round(ms / 100) / 10} s`;
  return `${Math.round(ms)} ms`;
}
