import { checkFunction, checkInteger, checkKnownKeys, describeValue } from './validate.js';

/** How a call that a duration listener hears about ended. */
export type CallDurationOutcome = 'success' | 'failure' | 'timeout' | 'ignored';

/**
 * A timed call ended: how, after how many milliseconds, and how many calls it stands for — 1 when
 * every call is timed; under sampling, `thenOneIn`: it was picked at random from a run of that many
 * calls, so that summing `weight` (per outcome, per bucket) estimates the calls without bias.
 */
export type CallDurationListener = (outcome: CallDurationOutcome, durationMs: number, weight: number) => void;

/**
 * When a breaker reads the clock for duration listeners. A clock read costs 40–100 ns on common
 * virtual machines, as much as the rest of a closed call; above a rate where nobody could miss the
 * difference, timing a random sample keeps telemetry nearly free and its quantiles honest.
 */
export interface DurationSampling {
  /** Every call is timed while the breaker times at most this many a second (default 1000; 0: sample from the first call). */
  readonly everyCallUpTo?: number;
  /** Beyond that, one call in each run of this many is timed, picked at random (default 64; 1: every call). */
  readonly thenOneIn?: number;
}

/** Options of {@link CircuitBreaker.onCallDuration}. */
export interface CallDurationOptions {
  /** `false` times every call (two clock reads each); by default calls are sampled as {@link DurationSampling} says. */
  readonly sampling?: DurationSampling | false;
}

export const DURATION_SAMPLING_DEFAULTS = Object.freeze({ everyCallUpTo: 1000, thenOneIn: 64 });

/** The checked sampling of one subscription; null: every call. */
export type ResolvedSampling = { readonly everyCallUpTo: number; readonly thenOneIn: number } | null;

/** Checks a subscription's arguments; errors name the option, the value and what is allowed. */
export function resolveCallDurationOptions(listener: unknown, options: CallDurationOptions | undefined): ResolvedSampling {
  checkFunction('onCallDuration listener', listener);
  if (options === undefined) return DURATION_SAMPLING_DEFAULTS;
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`onCallDuration options must be an object { sampling? }; got ${describeValue(options)}`);
  }
  checkKnownKeys('onCallDuration options', options, ['sampling']);
  return resolveDurationSampling('onCallDuration sampling', options.sampling);
}

/** Checks a sampling option called `option` in errors (`undefined`: the defaults; `false`: every call, null). */
export function resolveDurationSampling(option: string, sampling: unknown): ResolvedSampling {
  if (sampling === undefined) return DURATION_SAMPLING_DEFAULTS;
  if (sampling === false) return null;
  if (typeof sampling !== 'object' || sampling === null) {
    throw new TypeError(`${option} must be false or an object { everyCallUpTo?, thenOneIn? }; got ${describeValue(sampling)}`);
  }
  checkKnownKeys(option, sampling, ['everyCallUpTo', 'thenOneIn']);
  const { everyCallUpTo, thenOneIn } = sampling as DurationSampling;
  const resolved = {
    everyCallUpTo: everyCallUpTo === undefined ? DURATION_SAMPLING_DEFAULTS.everyCallUpTo : checkInteger(`${option}.everyCallUpTo`, everyCallUpTo, 0),
    thenOneIn: thenOneIn === undefined ? DURATION_SAMPLING_DEFAULTS.thenOneIn : checkInteger(`${option}.thenOneIn`, thenOneIn, 1, 1_000_000),
  };
  return resolved.thenOneIn === 1 ? null : resolved;
}

/**
 * Picks the calls a breaker times for its sampling duration listeners. The breaker counts `countdown`
 * down on every closed call it would not time otherwise and times the call that reaches 0, which
 * {@link started} then weighs and uses to pick the next one.
 *
 * Every call is timed until `everyCallUpTo` have been in the current second (a second measured on the
 * timed calls' own clock reads, so a busy breaker notices a new second within `thenOneIn` calls on
 * average); after that the calls are cut into runs of `thenOneIn` and one call at a random place in
 * each run is timed, weighing `thenOneIn`. Random places, not every n-th call: traffic with a period (a
 * batch cycling through n kinds of request) cannot hide its slow kind between samples. One call in each
 * run, each call equally likely: every call is timed with probability 1/`thenOneIn` whatever came
 * before it, so the weights estimate each outcome's calls and durations without bias, even when
 * outcomes follow the traffic's shape (the tail of a burst failing or slower), and the total stays
 * within one run of the calls made. (Weighing a timed call by the untimed calls before it would give
 * the untimed tail of one burst to the first timed call of the next, of another kind.)
 */
export class DurationSampler {
  /** Calls until the next timed one (1: the next call). */
  countdown = 1;
  /** What the next timed call stands for: 1, or `thenOneIn` when it is picked from a run. */
  private weight = 1;
  /** Calls of the current run after its timed one: they are accounted for by its weight, and never timed. */
  private rest = 0;
  private secondStartedAt = Number.NEGATIVE_INFINITY;
  private timedThisSecond = 0;

  constructor(
    private everyCallUpTo: number,
    private thenOneIn: number,
    private readonly random: () => number,
  ) {}

  /** New limits (subscriptions changed); the current second and run are kept. */
  retune(everyCallUpTo: number, thenOneIn: number): void {
    this.everyCallUpTo = everyCallUpTo;
    this.thenOneIn = thenOneIn;
  }

  /** A chosen call starts at `now` (ms): returns the calls it stands for, and picks the next one. */
  started(now: number): number {
    const weight = this.weight;
    // `!(… < 1000)` rather than `>=`: a wall clock stepped back starts a new second too.
    if (!(now - this.secondStartedAt < 1000 && now >= this.secondStartedAt)) {
      this.secondStartedAt = now;
      this.timedThisSecond = 0;
    }
    // `>=`: this call is the second's `everyCallUpTo`-th timed one, so the next is picked from a run.
    if (++this.timedThisSecond >= this.everyCallUpTo) {
      // The rest of this run, then a random place in the next run of `thenOneIn`.
      const run = this.thenOneIn;
      const draw = this.random();
      // A custom `random` outside [0, 1) must not stall sampling or skew it: take the run's last call.
      const at = draw >= 0 && draw < 1 ? Math.floor(draw * run) : run - 1;
      this.countdown = this.rest + 1 + at;
      this.rest = run - 1 - at;
      this.weight = run;
    } else {
      // Every call again, once the rest of the current run (already weighed) has gone by.
      this.countdown = this.rest + 1;
      this.rest = 0;
      this.weight = 1;
    }
    return weight;
  }
}

/** One subscription: its listener and what it asked for. */
interface Subscription {
  readonly listener: CallDurationListener;
  readonly sampling: ResolvedSampling;
}

/**
 * A breaker's duration listeners. `sampler` is set while every listener accepts sampling (the
 * tightest limits of them all apply); while any wants every call, the breaker times every call.
 */
export class CallDurationListeners {
  private subscriptions: Subscription[] = [];
  sampler: DurationSampler | undefined = undefined;

  constructor(
    private readonly random: () => number,
    private readonly onListenerError: (error: unknown) => void,
  ) {}

  get size(): number {
    return this.subscriptions.length;
  }

  /** True while some listener wants every call timed. */
  get everyCall(): boolean {
    return this.size > 0 && this.sampler === undefined;
  }

  add(subscription: Subscription): void {
    this.subscriptions = [...this.subscriptions, subscription]; // copy on write, as `Emitter`
    this.resample();
  }

  remove(subscription: Subscription): void {
    this.subscriptions = this.subscriptions.filter((s) => s !== subscription);
    this.resample();
  }

  emit(outcome: CallDurationOutcome, durationMs: number, weight: number): void {
    const subscriptions = this.subscriptions;
    for (let i = 0; i < subscriptions.length; i++) {
      try {
        subscriptions[i]!.listener(outcome, durationMs, weight);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }

  private resample(): void {
    let everyCallUpTo = 0;
    let thenOneIn = Number.POSITIVE_INFINITY;
    for (const { sampling } of this.subscriptions) {
      if (sampling === null) {
        this.sampler = undefined;
        return;
      }
      everyCallUpTo = Math.max(everyCallUpTo, sampling.everyCallUpTo);
      thenOneIn = Math.min(thenOneIn, sampling.thenOneIn);
    }
    if (this.subscriptions.length === 0) this.sampler = undefined;
    else if (this.sampler === undefined) this.sampler = new DurationSampler(everyCallUpTo, thenOneIn, this.random);
    else this.sampler.retune(everyCallUpTo, thenOneIn);
  }
}
