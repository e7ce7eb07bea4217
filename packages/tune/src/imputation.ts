import { OUTCOME_CODE, type Traffic } from './traffic.js';

/**
 * The traffic as replay needs it: every call has an outcome. A call the recording breaker refused
 * never reached the dependency, so its outcome is unknown; it takes the outcome (and duration) of the
 * nearest call in time that did reach it — the probes around an open period and the calls just before
 * it opened and just after it closed. When the calls before and after agree, that is what the refused
 * call most likely met; when they disagree (the dependency changed state while the breaker was open),
 * the switch is placed halfway between them. Any figure that depends on a replayed configuration
 * admitting such a call is an estimate, and is labelled so.
 */
export interface ReplayTraffic {
  readonly traffic: Traffic;
  /** Outcome per call with refused calls imputed: `success`, `failure` (timeouts included) or `ignored` codes. */
  readonly outcome: Uint8Array;
  /** Duration per call, imputed for refused calls. */
  readonly duration: Float32Array;
  /** 1 where the outcome was imputed. */
  readonly imputed: Uint8Array;
  /** Number of imputed calls. */
  readonly imputedCount: number;
}

const { success: SUCCESS, failure: FAILURE, timeout: TIMEOUT, rejected: REJECTED } = OUTCOME_CODE;

/** Imputes the refused calls of `traffic` (see {@link ReplayTraffic}). */
export function imputeRefusedCalls(traffic: Traffic): ReplayTraffic {
  const n = traffic.start.length;
  const outcome = new Uint8Array(n);
  const duration = new Float32Array(n);
  const imputed = new Uint8Array(n);
  let imputedCount = 0;
  // Index of the next call that reached the dependency, for each refused run: found by one backward pass.
  const nextKnown = new Int32Array(n);
  let next = -1;
  for (let i = n - 1; i >= 0; i--) {
    nextKnown[i] = next;
    if (traffic.outcome[i] !== REJECTED) next = i;
  }
  let previous = -1;
  for (let i = 0; i < n; i++) {
    const code = traffic.outcome[i]!;
    if (code !== REJECTED) {
      outcome[i] = code === TIMEOUT ? FAILURE : code;
      duration[i] = traffic.duration[i]!;
      previous = i;
      continue;
    }
    imputed[i] = 1;
    imputedCount++;
    const after = nextKnown[i]!;
    let source: number;
    if (previous === -1) source = after;
    else if (after === -1) source = previous;
    else {
      const t = traffic.start[i]!;
      source = t - traffic.start[previous]! <= traffic.start[after]! - t ? previous : after;
    }
    if (source === -1) {
      // Nothing reached the dependency at all: no evidence either way; call it healthy, flagged as imputed.
      outcome[i] = SUCCESS;
      continue;
    }
    const known = traffic.outcome[source]!;
    outcome[i] = known === TIMEOUT ? FAILURE : known;
    duration[i] = traffic.duration[source]!;
  }
  return { traffic, outcome, duration, imputed, imputedCount };
}

/** Replay input for generated traffic, where nothing was refused and nothing is imputed. */
export function exactReplayTraffic(traffic: Traffic): ReplayTraffic {
  for (const code of traffic.outcome) {
    if (code === REJECTED) throw new RangeError(`exactReplayTraffic: traffic ${traffic.name} holds refused calls; use imputeRefusedCalls`);
  }
  return imputeRefusedCalls(traffic);
}
