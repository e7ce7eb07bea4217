import type { Candidate } from './candidate.js';
import type { ReplayTraffic } from './imputation.js';
import { scoreRun, type ConfigMetrics, type ScoringOptions } from './metrics.js';
import { replay } from './replay.js';
import { buildTimeline, type Timeline } from './timeline.js';
import type { HealthTruth } from './traffic.js';

/** A replay input with the health it is judged against. */
export interface JudgedTraffic {
  readonly input: ReplayTraffic;
  readonly health: HealthTruth;
}

/** How one configuration fared on a standard hard outage at the traffic's rate (exact: generated). */
export interface ReferenceFigures {
  readonly callsToOpen: number | null;
  readonly timeToOpenMs: number | null;
  readonly recoveryDelayMs: number | null;
}

/** One configuration's figures, reference figures and timeline. */
export interface CandidateEvaluation {
  readonly metrics: ConfigMetrics;
  readonly reference: ReferenceFigures;
  readonly timeline: Timeline;
}

/** Everything a replay of one candidate needs besides the candidate. */
export interface EvaluationContext {
  readonly traffic: JudgedTraffic;
  readonly reference: JudgedTraffic;
  readonly scoring?: ScoringOptions;
  readonly timelineColumns?: number;
}

/** Replays `candidate` on the traffic and on the reference outage, and scores both. */
export async function evaluateCandidate(context: EvaluationContext, candidate: Candidate, scratch?: Uint8Array): Promise<CandidateEvaluation> {
  const { input, health } = context.traffic;
  const run = await replay(input, candidate, scratch);
  const metrics = scoreRun(input, run, health, context.scoring);
  const start = input.traffic.start;
  const from = start.length === 0 ? 0 : start[0]!;
  const to = start.length === 0 ? 1 : start[start.length - 1]!;
  const timeline = buildTimeline(run, health.outages, from, to, context.timelineColumns);
  const ref = context.reference;
  const refMetrics = scoreRun(ref.input, await replay(ref.input, candidate), ref.health, context.scoring);
  return {
    metrics,
    reference: { callsToOpen: refMetrics.maxCallsToOpen, timeToOpenMs: refMetrics.maxTimeToOpenMs, recoveryDelayMs: refMetrics.maxRecoveryDelayMs },
    timeline,
  };
}
