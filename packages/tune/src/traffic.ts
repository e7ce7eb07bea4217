/**
 * Recorded traffic of one breaker, column by column: a day at 50 calls/s is 4.3 M calls, so rows of
 * objects would cost ~100 B each; columns cost 13 B and can be shared with worker threads as-is.
 */

/** How a recorded call ended. `rejected`: the recording breaker refused it, so the dependency's answer is unknown. */
export type CallOutcome = 'success' | 'failure' | 'timeout' | 'ignored' | 'rejected';

/** Outcome codes in the `outcome` column, in the order of {@link OUTCOMES}. */
export const OUTCOME_CODE = { success: 0, failure: 1, timeout: 2, ignored: 3, rejected: 4 } as const satisfies Record<CallOutcome, number>;

/** Outcome names by code. */
export const OUTCOMES: readonly CallOutcome[] = ['success', 'failure', 'timeout', 'ignored', 'rejected'];

/** Longest breaker name a recording holds (the readers' cap; the recorder leaves longer ones out). */
export const MAX_BREAKER_NAME = 256;

/** One breaker's calls, sorted by start time. */
export interface Traffic {
  /** The breaker's name. */
  readonly name: string;
  /** Start of each call, epoch ms, ascending. */
  readonly start: Float64Array;
  /** Duration of each call in ms (0 for rejected calls). */
  readonly duration: Float32Array;
  /** Outcome code of each call ({@link OUTCOME_CODE}). */
  readonly outcome: Uint8Array;
}

/** A dependency outage: from its first failing call to its recovery (epoch ms, end exclusive). */
export interface Outage {
  readonly start: number;
  readonly end: number;
}

/** What is known of the dependency's health over the traffic. */
export interface HealthTruth {
  /** `exact` for generated scenarios; `inferred` when read off a recording's outcomes (an estimate). */
  readonly kind: 'exact' | 'inferred';
  /** Outages, sorted and disjoint. */
  readonly outages: readonly Outage[];
}

/** Builds {@link Traffic} from rows, sorting them by start time. */
export function trafficFromRows(
  name: string,
  rows: readonly { readonly start: number; readonly duration: number; readonly outcome: CallOutcome }[],
): Traffic {
  const order = rows.map((_, i) => i).sort((a, b) => rows[a]!.start - rows[b]!.start || a - b);
  const start = new Float64Array(rows.length);
  const duration = new Float32Array(rows.length);
  const outcome = new Uint8Array(rows.length);
  order.forEach((from, to) => {
    const row = rows[from]!;
    start[to] = row.start;
    duration[to] = row.duration;
    outcome[to] = OUTCOME_CODE[row.outcome];
  });
  return { name, start, duration, outcome };
}

/** Milliseconds the traffic spans (at least 1). */
export function spanMs(traffic: Traffic): number {
  const n = traffic.start.length;
  return n === 0 ? 1 : Math.max(1, traffic.start[n - 1]! - traffic.start[0]!);
}
