import type { Clock, TimerHandle } from './clock.js';
import type { PendingCall } from './pending-call.js';

/**
 * The in-flight calls of one breaker that have a deadline, oldest first, and the one timer that
 * expires them.
 *
 * Reading the clock costs more than the rest of a timed call, so calls do not read it: while calls are
 * in flight a timer ticks every `resolution` ms (timeoutMs / 100, from 1 ms to 1 s) and refreshes a
 * coarse `now`; a call's deadline is that coarse time plus one resolution plus `timeoutMs`. A call
 * therefore never times out early and at most two resolutions (2 %) late. The first call after an idle
 * period reads the clock and gets an exact deadline. When a tick finds no calls left it does not re-arm,
 * so an idle breaker holds no timer.
 *
 * Deadlines arrive (nearly) in order, so a linked list is the priority queue: add and remove are O(1)
 * and a tick expires from the head. Written by hand because no maintained library offers a coarse,
 * cancellable timer queue on an injectable clock.
 */
export class CallDeadlines {
  readonly resolution: number;
  private head: PendingCall | undefined = undefined;
  private tail: PendingCall | undefined = undefined;
  private timer: TimerHandle | undefined = undefined;
  private coarseNow = 0;

  constructor(
    private readonly clock: Clock,
    private readonly timeoutMs: number,
  ) {
    this.resolution = Math.min(1_000, Math.max(1, timeoutMs / 100));
  }

  /** Whether the tick timer is armed (for leak checks). */
  get armed(): boolean {
    return this.timer !== undefined;
  }

  /** Lists `call` with a deadline from `startedAt` when known (already read), else from the coarse clock. */
  add(call: PendingCall, startedAt: number): void {
    if (this.timer === undefined) {
      this.coarseNow = startedAt === startedAt ? startedAt : this.clock.now();
      call.deadline = this.coarseNow + this.timeoutMs;
      this.timer = this.clock.setTimeout(this.tick, this.resolution);
    } else {
      call.deadline = (startedAt === startedAt ? startedAt : this.coarseNow + this.resolution) + this.timeoutMs;
    }
    call.prev = this.tail;
    call.next = undefined;
    if (this.tail === undefined) this.head = call;
    else this.tail.next = call;
    this.tail = call;
  }

  remove(call: PendingCall): void {
    if (call.prev === undefined && this.head !== call) return; // not listed
    if (call.prev === undefined) this.head = call.next;
    else call.prev.next = call.next;
    if (call.next === undefined) this.tail = call.prev;
    else call.next.prev = call.prev;
    call.prev = call.next = undefined;
  }

  private readonly tick = (): void => {
    const now = (this.coarseNow = this.clock.now());
    // Exact deadlines (from a known start) can sit behind a coarse one; scanning until the first
    // call not yet due keeps the tick O(expired) at the cost of expiring those up to one tick late.
    while (this.head !== undefined && this.head.deadline <= now) {
      const call = this.head;
      this.remove(call);
      call.timeOut();
    }
    this.timer = this.head === undefined ? undefined : this.clock.setTimeout(this.tick, this.resolution);
  };

  /** Stops the timer; listed calls stay pending (the breaker is being discarded). */
  clear(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
