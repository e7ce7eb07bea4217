import type { ReplayTraffic } from './imputation.js';
import { STATE_CODE, type ReplayRun } from './replay.js';
import { spanMs, type HealthTruth } from './traffic.js';

/** How the figures are judged; see {@link scoreRun}. */
export interface ScoringOptions {
  /** A trip (closed → open) within this long after the breaker closed is a flap. Default 60 000 ms. */
  readonly flapWindowMs?: number;
  /** A trip up to this long after an outage ended is still the outage's (its late failures). Default 60 000 ms. */
  readonly tripGraceMs?: number;
}

/** The figures of one configuration over the traffic. Times in ms, counts in calls. */
export interface ConfigMetrics {
  readonly calls: number;
  readonly outages: number;
  /** Outages during which the breaker opened (or was already open). */
  readonly outagesOpened: number;
  /** Mean / max time from an outage's start to open, over the outages it opened on (null: none). */
  readonly meanTimeToOpenMs: number | null;
  readonly maxTimeToOpenMs: number | null;
  /** Mean / max calls let through from an outage's start to open, the call that tripped it included. */
  readonly meanCallsToOpen: number | null;
  readonly maxCallsToOpen: number | null;
  /** Calls let through to a dead dependency (during outages). */
  readonly deadCalls: number;
  /** Calls refused while the dependency was healthy. */
  readonly healthyRefused: number;
  /** Trips (closed → open) outside outages. */
  readonly falseTrips: number;
  readonly falseTripsPerDay: number;
  /** Trips within `flapWindowMs` of the breaker closing. */
  readonly flaps: number;
  readonly flapsPerHour: number;
  /** Trips in all. */
  readonly trips: number;
  /** Mean / max time from an outage's end (the dependency's recovery) to closed; 0 when the breaker was closed then. */
  readonly meanRecoveryDelayMs: number | null;
  readonly maxRecoveryDelayMs: number | null;
  /** Calls let through whose outcome was imputed (the recording breaker refused them). */
  readonly imputedCallsAdmitted: number;
  /**
   * Figures that are estimates, not exact: all that depend on the dependency's health when it was read
   * off a recording, and all when the replay let through calls whose outcome was imputed.
   */
  readonly estimated: readonly (keyof ConfigMetrics)[];
}

const HEALTH_FIGURES: readonly (keyof ConfigMetrics)[] = [
  'outages', 'outagesOpened', 'meanTimeToOpenMs', 'maxTimeToOpenMs', 'meanCallsToOpen', 'maxCallsToOpen', 'deadCalls',
  'healthyRefused', 'falseTrips', 'falseTripsPerDay', 'meanRecoveryDelayMs', 'maxRecoveryDelayMs',
];
const BEHAVIOUR_FIGURES: readonly (keyof ConfigMetrics)[] = [...HEALTH_FIGURES, 'flaps', 'flapsPerHour', 'trips'];

/** Scores one replay against the dependency's health. */
export function scoreRun(input: ReplayTraffic, run: ReplayRun, health: HealthTruth, options: ScoringOptions = {}): ConfigMetrics {
  const flapWindowMs = options.flapWindowMs ?? 60_000;
  const tripGraceMs = options.tripGraceMs ?? 60_000;
  const { start } = input.traffic;
  const { admitted } = run;
  const outages = health.outages;
  const n = start.length;

  let deadCalls = 0;
  let healthyRefused = 0;
  let k = 0;
  for (let i = 0; i < n; i++) {
    const t = start[i]!;
    while (k < outages.length && outages[k]!.end <= t) k++;
    const down = k < outages.length && outages[k]!.start <= t;
    if (admitted[i] === 1) {
      if (down) deadCalls++;
    } else if (!down) healthyRefused++;
  }

  const { transitionAt: at, transitionState: to } = run;
  let trips = 0;
  let falseTrips = 0;
  let flaps = 0;
  let previous: number = STATE_CODE.closed;
  let closedAt = -Infinity;
  let o = 0;
  for (let j = 0; j < at.length; j++) {
    const state = to[j]!;
    const time = at[j]!;
    if (state === STATE_CODE.open && previous === STATE_CODE.closed) {
      trips++;
      while (o < outages.length && outages[o]!.end + tripGraceMs < time) o++;
      if (!(o < outages.length && outages[o]!.start <= time)) falseTrips++;
      if (time - closedAt < flapWindowMs) flaps++;
    }
    if (state === STATE_CODE.closed) closedAt = time;
    previous = state;
  }

  const toOpen: number[] = [];
  const callsToOpen: number[] = [];
  const recovery: number[] = [];
  let first = 0;
  for (const outage of outages) {
    const openAt = firstOpening(at, to, outage.start, outage.end);
    if (openAt !== undefined) {
      toOpen.push(openAt - outage.start);
      while (first < n && start[first]! < outage.start) first++;
      let calls = 0;
      for (let i = first; i < n && start[i]! <= openAt; i++) calls += admitted[i]!;
      callsToOpen.push(calls);
    }
    const closedAfter = firstClosedFrom(at, to, outage.end);
    const end = n === 0 ? outage.end : Math.max(outage.end, start[n - 1]!);
    // Not closed again before the traffic ends: the delay is at least what is left (a lower bound).
    recovery.push(closedAfter === undefined ? end - outage.end : closedAfter - outage.end);
  }

  const span = spanMs(input.traffic);
  const estimated = run.imputedAdmitted > 0 ? BEHAVIOUR_FIGURES : health.kind === 'inferred' ? HEALTH_FIGURES : [];
  return {
    calls: n,
    outages: outages.length,
    outagesOpened: toOpen.length,
    meanTimeToOpenMs: mean(toOpen),
    maxTimeToOpenMs: max(toOpen),
    meanCallsToOpen: mean(callsToOpen),
    maxCallsToOpen: max(callsToOpen),
    deadCalls,
    healthyRefused,
    falseTrips,
    falseTripsPerDay: (falseTrips * 86_400_000) / span,
    flaps,
    flapsPerHour: (flaps * 3_600_000) / span,
    trips,
    meanRecoveryDelayMs: mean(recovery),
    maxRecoveryDelayMs: max(recovery),
    imputedCallsAdmitted: run.imputedAdmitted,
    estimated: [...estimated, ...(run.imputedAdmitted > 0 ? (['imputedCallsAdmitted'] as const) : [])],
  };
}

/** State (code) the breaker was in at `time`: the last transition at or before it. */
export function stateAt(at: Float64Array, to: Uint8Array, time: number): number {
  let lo = 0;
  let hi = at.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (at[mid]! <= time) lo = mid + 1;
    else hi = mid;
  }
  return lo === 0 ? STATE_CODE.closed : to[lo - 1]!;
}

/** When the breaker was open during [from, to): `from` if it already was, else its first opening, else undefined. */
function firstOpening(at: Float64Array, to: Uint8Array, from: number, until: number): number | undefined {
  if (stateAt(at, to, from) !== STATE_CODE.closed) return from;
  for (let j = lowerBound(at, from); j < at.length && at[j]! < until; j++) if (to[j] === STATE_CODE.open) return at[j]!;
  return undefined;
}

function firstClosedFrom(at: Float64Array, to: Uint8Array, from: number): number | undefined {
  if (stateAt(at, to, from) === STATE_CODE.closed) return from;
  for (let j = lowerBound(at, from); j < at.length; j++) if (to[j] === STATE_CODE.closed) return at[j]!;
  return undefined;
}

function lowerBound(values: Float64Array, value: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function mean(values: readonly number[]): number | null {
  return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
}

function max(values: readonly number[]): number | null {
  // A loop, not Math.max(...values): a recording may hold more outages than a call has room for arguments.
  if (values.length === 0) return null;
  let most = -Infinity;
  for (const value of values) if (value > most) most = value;
  return most;
}
