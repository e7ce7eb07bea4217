/** A handle returned by {@link Clock.setTimeout}. */
export type TimerHandle = unknown;

/**
 * Time as the breaker sees it. Inject a fake one in tests so recovery timeouts never need sleeping.
 * `now()` is in milliseconds since the epoch (it also stamps `retryAt` and logs).
 */
export interface Clock {
  now(): number;
  /** Schedules `callback`; the timer must not keep the process alive. */
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock. Its timers are unref'd: a breaker never keeps the process alive. */
export const systemClock: Clock = {
  now: Date.now,
  setTimeout(callback, ms) {
    const timer = setTimeout(callback, ms);
    timer.unref();
    return timer;
  },
  clearTimeout(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};
