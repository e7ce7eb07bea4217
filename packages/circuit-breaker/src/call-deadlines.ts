import { monotonicSource, type Clock, type TimerHandle } from './clock.js';
import type { PendingCall } from './pending-call.js';

/**
 * The calls listed between two ticks. `sealedAt` is the monotonic time of the tick that closed the
 * list — every one of those calls started at or before it — and Infinity while it is still open.
 */
export interface DeadlineEpoch {
  sealedAt: number;
  /**
   * The list its calls joined. A reconfigured breaker starts a new list for a new timeout while its
   * calls in flight stay on the old one, so a settling call finds its own list here.
   */
  readonly owner: CallDeadlines;
}

/**
 * The in-flight calls of one breaker that have a deadline, oldest first, and the one timer that
 * expires them.
 *
 * Reading the clock costs more than the rest of a timed call, so calls do not read it. Instead each
 * call joins the current epoch; while calls are in flight a timer ticks every `resolution` ms
 * (timeoutMs / 100, from 1 ms to 1 s), reads the monotonic clock once and seals the epoch with that
 * reading. A call may time out once `timeoutMs` has passed since its epoch was sealed: the seal is
 * read after the call started, so a call never times out early — not after an event-loop stall (a
 * stalled tick seals later), not under load (a late tick likewise), not when the wall clock is set
 * (monotonic time). It times out at most about two resolutions late while the loop runs freely, and
 * a stall delays it by no more than the stall itself. The first call after an idle period reads the
 * clock itself and gets an exact deadline. When a tick finds no calls left it does not re-arm, so an
 * idle breaker holds no timer.
 *
 * Epochs are sealed in order, so the list is ordered by deadline — but for calls with an exact
 * deadline of their own, which may wait behind the open epoch for at most one tick — and a linked list
 * is the priority queue: add and remove are O(1) and a tick expires from the head. Written by hand because no
 * maintained library offers a coarse, cancellable timer queue on an injectable clock.
 */
export class CallDeadlines {
  readonly resolution: number;
  private head: PendingCall | undefined = undefined;
  private tail: PendingCall | undefined = undefined;
  private timer: TimerHandle | undefined = undefined;
  private epoch: DeadlineEpoch = { sealedAt: Infinity, owner: this };
  private readonly monotonicNow: () => number;

  constructor(
    private readonly clock: Clock,
    /** The timeout of every call on this list (a reconfigured breaker's earlier lists keep theirs). */
    readonly timeoutMs: number,
  ) {
    this.resolution = Math.min(1_000, Math.max(1, timeoutMs / 100));
    this.monotonicNow = monotonicSource(clock);
  }

  /** Whether the tick timer is armed (for leak checks). */
  get armed(): boolean {
    return this.timer !== undefined;
  }

  /**
   * Lists `call`; its deadline is `timeoutMs` after its epoch is sealed. `exact`: the caller read the
   * clock for this call anyway (a time-based policy, duration listeners, admission outside CLOSED), so
   * one more read gives it an exact deadline of its own.
   */
  add(call: PendingCall, exact = false): void {
    if (this.timer === undefined) {
      // Idle until now: read the clock once, so this call's deadline is exact.
      call.epoch = { sealedAt: this.monotonicNow(), owner: this };
      this.epoch = { sealedAt: Infinity, owner: this };
      this.timer = this.clock.setTimeout(this.tick, this.resolution);
    } else if (exact) {
      // May sit behind calls of the open epoch, due at most one tick later: expired with them.
      call.epoch = { sealedAt: this.monotonicNow(), owner: this };
    } else {
      call.epoch = this.epoch;
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
    const now = this.monotonicNow();
    // Every call listed since the last tick started no later than now.
    this.epoch.sealedAt = now;
    this.epoch = { sealedAt: Infinity, owner: this };
    const timeoutMs = this.timeoutMs;
    while (this.head !== undefined && this.head.epoch!.sealedAt + timeoutMs <= now) {
      const call = this.head;
      this.remove(call);
      call.timeOut();
    }
    this.timer = this.head === undefined ? undefined : this.clock.setTimeout(this.tick, this.resolution);
  };
}
