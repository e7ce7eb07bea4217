import { CircuitBreaker, ManualClock, type CircuitState, type Outcome } from '@phlow/circuit-breaker';
import type { Candidate } from './candidate.js';
import type { ReplayTraffic } from './imputation.js';

/** State codes in {@link ReplayRun.transitionState}. */
export const STATE_CODE = { closed: 0, open: 1, half_open: 2 } as const;

/** What one configuration did with the traffic. */
export interface ReplayRun {
  /** 1 where the replayed breaker let the call through, 0 where it refused it. */
  readonly admitted: Uint8Array;
  /** When the breaker changed state (epoch ms), in order. */
  readonly transitionAt: Float64Array;
  /** The state entered at each transition ({@link STATE_CODE}). */
  readonly transitionState: Uint8Array;
  /** Calls admitted whose outcome was imputed (see `imputeRefusedCalls`). */
  readonly imputedAdmitted: number;
}

const OUTCOME_NAMES: readonly Outcome[] = ['success', 'failure', 'failure', 'ignored'];
const STATE_OF: Record<CircuitState, number> = { closed: 0, open: 1, half_open: 2, forced_open: 1, disabled: 0 };

/**
 * Replays `input` through a real {@link CircuitBreaker} configured with `candidate`, on a
 * {@link ManualClock}: no rule of the breaker is re-implemented here.
 *
 * How: calls run one at a time in start order. The clock advances to a call's start; the call's
 * function moves the wall clock forward by the recorded duration (`ManualClock.jump`, so slow-call
 * rates and time windows see the real duration and end time), returns the recorded outcome, and the
 * clock steps back to the start. A synchronous function's outcome is settled inside `execute` itself
 * (checked: the core records it before `execute` returns), and `classifyResult` maps the returned
 * outcome name to the breaker's outcome, so no error is thrown and no rejected promise is made.
 * A half-open probe is the exception: the core settles it one microtask later, so replay awaits it.
 * Before each call the breaker's `state` is read (which applies the recovery timeout, as a call would):
 * an open breaker would reject, so the call is counted as refused without calling `execute`, which
 * would only add a rejected promise — rejections change no state. The breaker's timeout is off: the
 * recording's timeouts are already failures with their durations.
 *
 * What this does not model: calls overlapping in time. Each call settles before the next starts, so
 * a half-open breaker's probe permits (`halfOpenMaxCalls`) never run out, and an outcome is never
 * stale (from a call that started before a transition).
 */
export async function replay(input: ReplayTraffic, candidate: Candidate, admitted: Uint8Array = new Uint8Array(input.outcome.length)): Promise<ReplayRun> {
  const { start } = input.traffic;
  const { outcome, duration, imputed } = input;
  const n = start.length;
  const clock = new ManualClock(n === 0 ? 0 : start[0]!);
  const breaker = new CircuitBreaker('replay', {
    ...candidate.options,
    clock,
    timeoutMs: 0,
    logger: false,
    random: seededRandom(0x5eed),
    classifyResult: (value) => value as Outcome,
  });
  let transitionAt = new Float64Array(64);
  let transitionState = new Uint8Array(64);
  let transitions = 0;
  breaker.onStateChange((event) => {
    if (transitions === transitionAt.length) {
      transitionAt = grow(transitionAt);
      transitionState = grow(transitionState);
    }
    transitionAt[transitions] = event.at;
    transitionState[transitions++] = STATE_OF[event.to];
  });
  let d = 0;
  let result: Outcome = 'success';
  const call = (): Outcome => {
    clock.jump(d);
    return result;
  };
  let imputedAdmitted = 0;
  let now = clock.now();
  for (let i = 0; i < n; i++) {
    const t = start[i]!;
    if (t > now) {
      clock.advance(t - now);
      now = t;
    }
    const state = breaker.state;
    if (state === 'open') {
      admitted[i] = 0;
      continue;
    }
    admitted[i] = 1;
    imputedAdmitted += imputed[i]!;
    d = duration[i]!;
    result = OUTCOME_NAMES[outcome[i]!]!;
    if (state === 'half_open') {
      // A probe settles a microtask later (the core guards it with its own timer): wait for it, with the
      // clock still at the probe's end, so the transition it causes is stamped then. Probes are few.
      await breaker.execute(call);
    } else {
      void breaker.execute(call);
    }
    clock.jump(-d);
  }
  breaker.dispose();
  return { admitted, transitionAt: transitionAt.subarray(0, transitions), transitionState: transitionState.subarray(0, transitions), imputedAdmitted };
}

function grow<T extends Float64Array | Uint8Array>(array: T): T {
  const next = new (array.constructor as new (length: number) => T)(array.length * 2);
  next.set(array);
  return next;
}

/** A small seeded generator (mulberry32) so backoff jitter, and so every replay, is reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
