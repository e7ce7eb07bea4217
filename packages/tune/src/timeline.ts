import { STATE_CODE, type ReplayRun } from './replay.js';
import type { Outage } from './traffic.js';

/** A chart-sized view of one replay: per column, the share of time the dependency was down and the breaker not closed. */
export interface Timeline {
  readonly from: number;
  readonly to: number;
  /** Fraction of each column's time the dependency was down, in hundredths. */
  readonly down: number[];
  /** Fraction of each column's time the breaker was open or half-open, in hundredths. */
  readonly open: number[];
}

/** Rasterises health and breaker state into `columns` columns, so a report stays small whatever the traffic. */
export function buildTimeline(run: ReplayRun, outages: readonly Outage[], from: number, to: number, columns = 600): Timeline {
  const width = Math.max(1, to - from) / columns;
  const down = new Float64Array(columns);
  for (const outage of outages) addInterval(down, outage.start, outage.end, from, width);
  const open = new Float64Array(columns);
  let openedAt: number | undefined;
  for (let j = 0; j < run.transitionAt.length; j++) {
    const notClosed = run.transitionState[j] !== STATE_CODE.closed;
    if (notClosed && openedAt === undefined) openedAt = run.transitionAt[j]!;
    if (!notClosed && openedAt !== undefined) {
      addInterval(open, openedAt, run.transitionAt[j]!, from, width);
      openedAt = undefined;
    }
  }
  if (openedAt !== undefined) addInterval(open, openedAt, to, from, width);
  const hundredths = (values: Float64Array) => Array.from(values, (v) => Math.min(100, Math.round((v / width) * 100)));
  return { from, to, down: hundredths(down), open: hundredths(open) };
}

function addInterval(columns: Float64Array, start: number, end: number, from: number, width: number): void {
  let a = Math.max(0, (start - from) / width);
  const b = Math.min(columns.length, (end - from) / width);
  while (a < b) {
    const column = Math.floor(a);
    const next = Math.min(b, column + 1);
    columns[column]! += (next - a) * width;
    a = next;
  }
}
