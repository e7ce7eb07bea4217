/** A handle returned by {@link Clock.setTimeout}. */
export type TimerHandle = unknown;

/**
 * Time as the breaker sees it. Inject a fake one in tests so recovery timeouts never need sleeping.
 * `now()` is in milliseconds since the epoch (it stamps `retryAt`, logs and call durations).
 */
export interface Clock {
  now(): number;
  /**
   * A monotonic time in ms (any origin) that never jumps when the wall clock is set: call deadlines
   * run on it, so an NTP step or a manual date change can neither fire nor delay a timeout. Optional
   * for custom clocks; without it deadlines fall back to `now()` and follow its steps.
   */
  monotonicNow?(): number;
  /** Schedules `callback` after `ms` of elapsed (monotonic) time; the timer must not keep the process alive. */
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock: wall time from `Date.now`, monotonic time from `performance.now`. Timers are unref'd: a breaker never keeps the process alive. */
export const systemClock: Clock = {
  now: Date.now,
  monotonicNow: () => performance.now(),
  setTimeout(callback, ms) {
    const timer = setTimeout(callback, ms);
    timer.unref();
    return timer;
  },
  clearTimeout(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

/** The monotonic reading of `clock`, or its wall time when it has none. */
export function monotonicSource(clock: Clock): () => number {
  const monotonic = clock.monotonicNow;
  return monotonic === undefined ? () => clock.now() : () => monotonic.call(clock);
}
