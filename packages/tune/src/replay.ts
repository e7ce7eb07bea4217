import { CircuitBreaker, ManualClock, type CircuitState, type Outcome } from '@phlow/circuit-breaker';
import { seededRandom } from '@phlow/circuit-breaker/internal';
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
 * Calls overlap as they did when recorded: each is admitted (or refused) at its start and settles at
 * its end (start + duration), events in time order, ends first on a tie. How, fast:
 *
 * - At a call's start the clock advances there and the breaker's `state` is read (which applies the
 *   recovery timeout, as a call would). `open`: the call is refused — counted without calling
 *   `execute`, which would only make a rejected promise (rejections change no state).
 * - `closed`: the call is admitted; it runs at its end. Then the wall clock steps back by its duration
 *   (`ManualClock.jump`), `execute` runs a synchronous function that steps it forward again and returns
 *   the recorded outcome, which `classifyResult` maps to the breaker's outcome: no error thrown, and the
 *   core settles a synchronous function's outcome inside `execute` (checked by a test), seeing the
 *   recorded duration and end time (slow-call rates, time windows). If the breaker changed state
 *   between the call's start and end, the outcome is stale — the core would count it and change
 *   nothing — so it is not run at all. A call that ends before the next one starts runs at once.
 * - `half_open`: the call is a probe and runs for real: `execute` gets a function returning a promise
 *   that replay resolves at the probe's end, so permits (`halfOpenMaxCalls`), the probe's stuck timer
 *   (`halfOpenMaxWaitMs`, on the manual clock) and concurrent callers are the core's own. Probes are
 *   few; each costs a microtask.
 *
 * The breaker's timeout is off: the recording's timeouts are failures with their durations.
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
  const moveTo = (t: number) => {
    const now = clock.monotonicNow();
    if (t > now) clock.advance(t - now);
  };
  const pending = new EndQueue();
  const probes = new Map<number, (outcome: Outcome) => void>();
  let probe: ((outcome: Outcome) => void) | undefined;
  const probeCall = () => new Promise<Outcome>((resolve) => (probe = resolve));
  /** Ends the call `i` admitted in `generation`; true for a probe, whose settling the caller must await. */
  const end = (i: number, generation: number): boolean => {
    if (generation === PROBE) {
      probes.get(i)!(OUTCOME_NAMES[outcome[i]!]!);
      probes.delete(i);
      return true;
    }
    if (generation === transitions) {
      d = duration[i]!;
      result = OUTCOME_NAMES[outcome[i]!]!;
      clock.jump(-d);
      void breaker.execute(call);
    }
    return false;
  };
  // Monotonic time runs from 0 while the wall clock starts at the first call: offset between the two.
  const offset = clock.now() - clock.monotonicNow();
  let imputedAdmitted = 0;
  for (let i = 0; i < n; i++) {
    const t = start[i]!;
    while (pending.size > 0 && pending.peekEnd() <= t) {
      moveTo(pending.peekEnd() - offset);
      const generation = pending.peekGeneration();
      // Only a probe settles later: the core settles it in the reaction its resolution queued.
      if (end(pending.pop(), generation)) await undefined;
    }
    moveTo(t - offset);
    const state = breaker.state;
    if (state === 'open') {
      admitted[i] = 0;
      continue;
    }
    const e = t + duration[i]!;
    if (state === 'half_open') {
      probe = undefined;
      breaker.execute(probeCall).catch(ignore); // a stuck probe rejects; the core has counted it
      if (probe === undefined) {
        admitted[i] = 0; // no permit left: refused
        continue;
      }
      probes.set(i, probe);
      pending.push(e, i, PROBE);
    } else if (pending.size === 0 && (i + 1 === n || e <= start[i + 1]!)) {
      // Nothing in flight and it ends before the next call starts: run it now, as it will be at its end.
      d = duration[i]!;
      result = OUTCOME_NAMES[outcome[i]!]!;
      void breaker.execute(call);
      clock.jump(-d);
    } else {
      pending.push(e, i, transitions);
    }
    admitted[i] = 1;
    imputedAdmitted += imputed[i]!;
  }
  while (pending.size > 0) {
    moveTo(pending.peekEnd() - offset);
    const generation = pending.peekGeneration();
    if (end(pending.pop(), generation)) await undefined;
  }
  breaker.dispose();
  return { admitted, transitionAt: transitionAt.subarray(0, transitions), transitionState: transitionState.subarray(0, transitions), imputedAdmitted };
}

const PROBE = -1;

function ignore(): void {}

/** Calls in flight, by end time then index (a binary min-heap on parallel typed arrays). */
class EndQueue {
  private ends = new Float64Array(256);
  private index = new Int32Array(256);
  private generation = new Float64Array(256);
  size = 0;

  push(end: number, i: number, generation: number): void {
    if (this.size === this.ends.length) {
      this.ends = grow(this.ends);
      this.index = grow(this.index);
      this.generation = grow(this.generation);
    }
    let at = this.size++;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (!this.before(end, i, parent)) break;
      this.move(parent, at);
      at = parent;
    }
    this.ends[at] = end;
    this.index[at] = i;
    this.generation[at] = generation;
  }

  peekEnd(): number {
    return this.ends[0]!;
  }

  peekGeneration(): number {
    return this.generation[0]!;
  }

  /** Removes the earliest call; returns its index. */
  pop(): number {
    const top = this.index[0]!;
    const last = --this.size;
    if (last === 0) return top;
    const end = this.ends[last]!;
    const i = this.index[last]!;
    const generation = this.generation[last]!;
    let at = 0;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= last) break;
      if (child + 1 < last && this.before(this.ends[child + 1]!, this.index[child + 1]!, child)) child++;
      if (!this.before(this.ends[child]!, this.index[child]!, -1, end, i)) break;
      this.move(child, at);
      at = child;
    }
    this.ends[at] = end;
    this.index[at] = i;
    this.generation[at] = generation;
    return top;
  }

  /** (end, i) comes before the entry at `slot`, or before (otherEnd, otherI) when `slot` is -1. */
  private before(end: number, i: number, slot: number, otherEnd = this.ends[slot]!, otherI = this.index[slot]!): boolean {
    return end < otherEnd || (end === otherEnd && i < otherI);
  }

  private move(from: number, to: number): void {
    this.ends[to] = this.ends[from]!;
    this.index[to] = this.index[from]!;
    this.generation[to] = this.generation[from]!;
  }
}

function grow<T extends Float64Array | Int32Array | Uint8Array>(array: T): T {
  const next = new (array.constructor as new (length: number) => T)(array.length * 2);
  next.set(array);
  return next;
}
