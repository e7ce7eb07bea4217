import { checkInteger, checkKnownKeys, checkNumber, seededRandom } from '@phlow/circuit-breaker/internal';
import { OUTCOME_CODE, type HealthTruth, type Outage, type Traffic } from './traffic.js';

/** Something that happens to the dependency during a generated scenario. Times are ms from the start. */
export type Incident =
  /** Every call fails: fast (`refused`, a closed port) or after `hangMs` (`hang`, a timeout). */
  | { readonly type: 'outage'; readonly at: number; readonly durationMs: number; readonly mode?: 'refused' | 'hang'; readonly hangMs?: number }
  /**
   * Latency rises linearly from normal to `peakMs` over `rampMs`, stays there `holdMs`, then recovers.
   * A call slower than `timeoutMs` times out (a failure lasting `timeoutMs`). The dependency counts as
   * down while latency is above `sloMs`.
   */
  | { readonly type: 'brownout'; readonly at: number; readonly rampMs: number; readonly holdMs: number; readonly peakMs?: number; readonly timeoutMs?: number; readonly sloMs?: number }
  /** Short outages (`downMs` long) separated by healthy stretches (`upMs`), for `durationMs`. */
  | { readonly type: 'flapping'; readonly at: number; readonly durationMs: number; readonly upMs?: readonly [number, number]; readonly downMs?: readonly [number, number] }
  /**
   * A hard outage of `outageMs`, then a thundering herd: traffic at `surge` × the rate for `surgeMs`
   * while the dependency, overloaded, fails `overloadErrorRate` of calls (it is up: a breaker that
   * refuses them refuses healthy calls).
   */
  | { readonly type: 'herd'; readonly at: number; readonly outageMs: number; readonly surge?: number; readonly surgeMs?: number; readonly overloadErrorRate?: number };

/** A generated scenario: traffic over `durationMs` at `rateHz` with sporadic errors, plus incidents. */
export interface ScenarioSpec {
  readonly name?: string;
  readonly seed: number;
  /** Epoch ms of the first call. Default 2026-01-01T00:00:00Z. */
  readonly startMs?: number;
  readonly durationMs: number;
  /** Calls per second (Poisson arrivals). */
  readonly rateHz: number;
  /** Median latency of a healthy call (log-normal). Default 50 ms. */
  readonly latencyMs?: number;
  /** Probability that a healthy call fails (a sporadic 5xx). Default 0.01. */
  readonly sporadicErrorRate?: number;
  /** Short bursts of 3–8 failures in a row per day (a pod restarting); the dependency counts as healthy. Default 0. */
  readonly burstsPerDay?: number;
  readonly incidents?: readonly Incident[];
}

/** Generated traffic with the truth about the dependency's health. */
export interface Scenario {
  readonly spec: ScenarioSpec;
  readonly traffic: Traffic;
  readonly truth: HealthTruth;
}

const DAY_MS = 86_400_000;
const { success: SUCCESS, failure: FAILURE, timeout: TIMEOUT } = OUTCOME_CODE;

interface Condition {
  /** Probability of failure. */
  errorRate: number;
  /** Median latency. */
  latencyMs: number;
  /** Rate multiplier. */
  surge: number;
  /** Calls slower than this time out (Infinity: none). */
  timeoutMs: number;
  /** Fixed duration of a failure (refused: ~2 ms, hang: the hang), or NaN for the latency. */
  failureMs: number;
}

/** Generates a scenario (deterministic for a seed). */
export function generateScenario(spec: ScenarioSpec): Scenario {
  checkSpec(spec);
  const random = seededRandom(spec.seed);
  const startMs = spec.startMs ?? Date.UTC(2026, 0, 1);
  const baseLatency = spec.latencyMs ?? 50;
  const sporadic = spec.sporadicErrorRate ?? 0.01;
  const outages: Outage[] = [];
  const windows = (spec.incidents ?? []).flatMap((incident) => incidentWindows(incident, random, outages, startMs));
  windows.sort((a, b) => a.from - b.from);
  const bursts = burstTimes(spec, random);
  let capacity = Math.ceil(spec.rateHz * (spec.durationMs / 1000) * 1.1) + 1024;
  let start = new Float64Array(capacity);
  let duration = new Float32Array(capacity);
  let outcome = new Uint8Array(capacity);
  let n = 0;
  let burstIndex = 0;
  let burstLeft = 0;
  const condition: Condition = { errorRate: 0, latencyMs: 0, surge: 1, timeoutMs: Infinity, failureMs: NaN };
  const cursor = { first: 0 };
  for (let t = 0; ; ) {
    conditionAt(t, windows, baseLatency, sporadic, condition, cursor);
    t += (-Math.log(1 - random()) / (spec.rateHz * condition.surge)) * 1000;
    if (t >= spec.durationMs) break;
    conditionAt(t, windows, baseLatency, sporadic, condition, cursor);
    if (n === capacity) {
      capacity *= 2;
      start = growTo(start, capacity);
      duration = growTo(duration, capacity);
      outcome = growTo(outcome, capacity);
    }
    while (burstIndex < bursts.length && bursts[burstIndex]! <= t) {
      burstLeft = 3 + Math.floor(random() * 6);
      burstIndex++;
    }
    const latency = condition.latencyMs * Math.exp(0.5 * normal(random));
    start[n] = startMs + t;
    if (latency > condition.timeoutMs) {
      outcome[n] = TIMEOUT;
      duration[n] = condition.timeoutMs;
    } else if (burstLeft > 0 || random() < condition.errorRate) {
      if (burstLeft > 0) burstLeft--;
      outcome[n] = FAILURE;
      duration[n] = Number.isNaN(condition.failureMs) ? latency : condition.failureMs;
    } else {
      outcome[n] = SUCCESS;
      duration[n] = latency;
    }
    n++;
  }
  outages.sort((a, b) => a.start - b.start);
  return {
    spec,
    traffic: { name: spec.name ?? 'scenario', start: start.slice(0, n), duration: duration.slice(0, n), outcome: outcome.slice(0, n) },
    truth: { kind: 'exact', outages },
  };
}

interface Window {
  readonly from: number;
  readonly to: number;
  readonly apply: (t: number, condition: Condition) => void;
}

function incidentWindows(incident: Incident, random: () => number, outages: Outage[], startMs: number): Window[] {
  switch (incident.type) {
    case 'outage': {
      const hang = incident.mode === 'hang';
      const hangMs = incident.hangMs ?? 30_000;
      outages.push({ start: startMs + incident.at, end: startMs + incident.at + incident.durationMs });
      return [{ from: incident.at, to: incident.at + incident.durationMs, apply: (_, c) => ((c.errorRate = 1), (c.failureMs = hang ? hangMs : 2)) }];
    }
    case 'brownout': {
      const { at, rampMs, holdMs } = incident;
      const timeoutMs = incident.timeoutMs ?? 2_000;
      const peakMs = incident.peakMs ?? timeoutMs * 4;
      const sloMs = incident.sloMs ?? timeoutMs / 2;
      const slope = (peakMs - 50) / rampMs;
      const downFrom = at + Math.max(0, (sloMs - 50) / slope);
      outages.push({ start: startMs + downFrom, end: startMs + at + rampMs + holdMs });
      return [{
        from: at,
        to: at + rampMs + holdMs,
        apply: (t, c) => ((c.latencyMs = Math.min(peakMs, Math.max(c.latencyMs, 50 + (t - at) * slope))), (c.timeoutMs = timeoutMs)),
      }];
    }
    case 'flapping': {
      const [upMin, upMax] = incident.upMs ?? [20_000, 40_000];
      const [downMin, downMax] = incident.downMs ?? [1_000, 3_000];
      const windows: Window[] = [];
      for (let t = incident.at + upMin + random() * (upMax - upMin); t < incident.at + incident.durationMs; ) {
        const down = downMin + random() * (downMax - downMin);
        outages.push({ start: startMs + t, end: startMs + t + down });
        windows.push({ from: t, to: t + down, apply: (_, c) => ((c.errorRate = 1), (c.failureMs = 2)) });
        t += down + upMin + random() * (upMax - upMin);
      }
      return windows;
    }
    case 'herd': {
      const { at, outageMs } = incident;
      const surge = incident.surge ?? 5;
      const surgeMs = incident.surgeMs ?? 60_000;
      const overload = incident.overloadErrorRate ?? 0.3;
      outages.push({ start: startMs + at, end: startMs + at + outageMs });
      return [
        { from: at, to: at + outageMs, apply: (_, c) => ((c.errorRate = 1), (c.failureMs = 2)) },
        {
          from: at + outageMs,
          to: at + outageMs + surgeMs,
          apply: (t, c) => {
            // The herd thins out as clients get their answers: surge and overload fall linearly.
            const left = 1 - (t - at - outageMs) / surgeMs;
            c.surge = 1 + (surge - 1) * left;
            c.errorRate = Math.max(c.errorRate, overload * left);
            c.latencyMs *= 1 + 3 * left;
          },
        },
      ];
    }
  }
}

function conditionAt(t: number, windows: readonly Window[], latencyMs: number, sporadic: number, c: Condition, cursor: { first: number }): void {
  c.errorRate = sporadic;
  c.latencyMs = latencyMs;
  c.surge = 1;
  c.timeoutMs = Infinity;
  c.failureMs = NaN;
  // Time only moves forward: windows over at the front of the list are skipped for good (flapping makes
  // thousands a day), and the list is sorted by start, so the scan stops at the first future window.
  while (cursor.first < windows.length && windows[cursor.first]!.to <= t) cursor.first++;
  for (let i = cursor.first; i < windows.length; i++) {
    const w = windows[i]!;
    if (w.from > t) break;
    if (t < w.to) w.apply(t, c);
  }
}

function burstTimes(spec: ScenarioSpec, random: () => number): number[] {
  const count = Math.round(((spec.burstsPerDay ?? 0) * spec.durationMs) / DAY_MS);
  return Array.from({ length: count }, () => random() * spec.durationMs).sort((a, b) => a - b);
}

function normal(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

function growTo<T extends Float64Array | Float32Array | Uint8Array>(array: T, length: number): T {
  const next = new (array.constructor as new (length: number) => T)(length);
  next.set(array);
  return next;
}

function checkSpec(spec: ScenarioSpec): void {
  checkKnownKeys('scenario', spec, ['name', 'seed', 'startMs', 'durationMs', 'rateHz', 'latencyMs', 'sporadicErrorRate', 'burstsPerDay', 'incidents']);
  checkInteger('scenario.seed', spec.seed, 0);
  checkNumber('scenario.durationMs', spec.durationMs, 1, 366 * DAY_MS);
  checkNumber('scenario.rateHz', spec.rateHz, 0.001, 100_000);
  if (spec.sporadicErrorRate !== undefined) checkNumber('scenario.sporadicErrorRate', spec.sporadicErrorRate, 0, 1);
  if (spec.latencyMs !== undefined) checkNumber('scenario.latencyMs', spec.latencyMs, 0, 3_600_000);
  if (spec.burstsPerDay !== undefined) checkNumber('scenario.burstsPerDay', spec.burstsPerDay, 0, 100_000);
}

/** Ready-made days (24 h unless told otherwise) for tests, docs and the bench. */
export const scenarios = {
  /** Steady traffic, 1 % sporadic 5xx, some in short bursts; no outage. */
  steady: (seed: number, rateHz = 50, durationMs = DAY_MS): Scenario =>
    generateScenario({ name: 'steady', seed, rateHz, durationMs, sporadicErrorRate: 0.01, burstsPerDay: 24 }),
  /** A brownout: latency rising past a 2 s timeout over 10 min, held 10 min. */
  brownout: (seed: number, rateHz = 50, durationMs = DAY_MS): Scenario =>
    generateScenario({ name: 'brownout', seed, rateHz, durationMs, incidents: [{ type: 'brownout', at: durationMs / 2, rampMs: 600_000, holdMs: 600_000 }] }),
  /** Two hard outages (connection refused) of about 7.5 and 2.7 minutes. */
  hardOutage: (seed: number, rateHz = 50, durationMs = DAY_MS): Scenario =>
    generateScenario({
      name: 'hard-outage',
      seed,
      rateHz,
      durationMs,
      incidents: [
        { type: 'outage', at: durationMs * 0.3, durationMs: 452_300 },
        { type: 'outage', at: durationMs * 0.7, durationMs: 163_900 },
      ],
    }),
  /** A flapping dependency: 1–3 s outages every 20–40 s, all along. */
  flapping: (seed: number, rateHz = 50, durationMs = DAY_MS): Scenario =>
    generateScenario({ name: 'flapping', seed, rateHz, durationMs, incidents: [{ type: 'flapping', at: 0, durationMs }] }),
  /** A 5-minute outage, then a recovery under a thundering herd (5× traffic, 30 % overload errors, fading over a minute). */
  herd: (seed: number, rateHz = 50, durationMs = DAY_MS): Scenario =>
    generateScenario({ name: 'herd', seed, rateHz, durationMs, incidents: [{ type: 'herd', at: durationMs / 2, outageMs: 307_700 }] }),
} as const;
