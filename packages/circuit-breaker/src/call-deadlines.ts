import type { Clock, TimerHandle } from './clock.js';
import type { PendingCall } from './pending-call.js';

/**
 * The in-flight calls of one breaker, oldest first, with one timer for the oldest deadline.
 *
 * Every call of a breaker gets the same timeout, so deadlines arrive in order and a linked list is a
 * priority queue: add and remove are O(1), and a timer is armed once per `timeoutMs` instead of once
 * per call (a `setTimeout` + `clearTimeout` pair per call would cost more than the whole breaker).
 * When the list empties the armed timer fires once, finds nothing and is not re-armed, so an idle
 * breaker holds no timer. Written by hand because no maintained library offers an ordered timer
 * queue with O(1) cancellation on an injectable clock.
 */
export class CallDeadlines {
  private head: PendingCall | undefined = undefined;
  private tail: PendingCall | undefined = undefined;
  private timer: TimerHandle | undefined = undefined;
  private count = 0;

  constructor(private readonly clock: Clock) {}

  /** Calls waiting for their deadline. */
  get size(): number {
    return this.count;
  }

  /** Whether a timer is armed (for leak checks). */
  get armed(): boolean {
    return this.timer !== undefined;
  }

  add(call: PendingCall): void {
    call.prev = this.tail;
    call.next = undefined;
    if (this.tail === undefined) this.head = call;
    else this.tail.next = call;
    this.tail = call;
    this.count++;
    if (this.timer === undefined) this.arm(call.deadline);
  }

  remove(call: PendingCall): void {
    if (call.prev === undefined && this.head !== call) return; // not listed
    if (call.prev === undefined) this.head = call.next;
    else call.prev.next = call.next;
    if (call.next === undefined) this.tail = call.prev;
    else call.next.prev = call.prev;
    call.prev = call.next = undefined;
    this.count--;
  }

  private arm(deadline: number): void {
    this.timer = this.clock.setTimeout(this.expire, Math.max(0, deadline - this.clock.now()));
  }

  private readonly expire = (): void => {
    this.timer = undefined;
    const now = this.clock.now();
    while (this.head !== undefined && this.head.deadline <= now) {
      const call = this.head;
      this.remove(call);
      call.timeOut();
    }
    if (this.head !== undefined) this.arm(this.head.deadline);
  };

  /** Stops the timer; listed calls stay pending (used when the breaker is reset and discarded). */
  clear(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
