import type { Clock, TimerHandle } from './clock.js';

interface Timer {
  /** Monotonic time it falls due. */
  readonly at: number;
  readonly seq: number;
  readonly callback: () => void;
}

/**
 * A clock that moves only when told to, for tests (yours and ours): recovery timeouts and call
 * timeouts without sleeping. Timers fire in deadline order during {@link ManualClock.advance}.
 * Wall time (`now`) and monotonic time (`monotonicNow`) move together on `advance`; {@link jump}
 * steps the wall clock alone, as NTP or an operator does, and fires nothing.
 */
export class ManualClock implements Clock {
  private current: number;
  private monotonic = 0;
  private seq = 0;
  private readonly timers = new Set<Timer>();

  constructor(start = 1_700_000_000_000) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  monotonicNow(): number {
    return this.monotonic;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const timer = { at: this.monotonic + Math.max(0, ms), seq: this.seq++, callback };
    this.timers.add(timer);
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle as Timer);
  }

  /** Timers scheduled and not yet fired or cleared. */
  get pendingTimers(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, firing each timer that falls due, in order, at its own time. */
  advance(ms: number): void {
    const target = this.monotonic + ms;
    for (;;) {
      let next: Timer | undefined;
      for (const timer of this.timers) {
        if (timer.at <= target && (next === undefined || timer.at < next.at || (timer.at === next.at && timer.seq < next.seq))) {
          next = timer;
        }
      }
      if (next === undefined) break;
      this.timers.delete(next);
      if (next.at > this.monotonic) {
        this.current += next.at - this.monotonic;
        this.monotonic = next.at;
      }
      next.callback();
    }
    this.current += target - this.monotonic;
    this.monotonic = target;
  }

  /**
   * Lets `ms` pass with the event loop blocked: wall and monotonic time move, but no timer fires
   * until the next {@link advance}, when every overdue one fires late — as after a long synchronous
   * task, a GC pause or a starved CPU.
   */
  stall(ms: number): void {
    this.current += ms;
    this.monotonic += ms;
  }

  /** Steps the wall clock by `ms` (negative: backwards) without moving monotonic time or firing timers. */
  jump(ms: number): void {
    this.current += ms;
  }
}
