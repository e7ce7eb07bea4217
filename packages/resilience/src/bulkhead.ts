import type { BulkheadEvent, CircuitBreakerRegistry, Clock, TimerHandle } from '@phlow/circuit-breaker';
import { checkDurationMs, checkInteger, describeValue } from '@phlow/circuit-breaker/internal';
import { AdaptiveLimit, isDrop } from './adaptive-limit.js';
import { BulkheadRejectedError } from './errors.js';
import { endOnAbort, type After, asPromise, CALL, type Context, FIRST_ATTEMPT, type Next, parentOf, type Policy, type PolicyContext, type PolicyExecuteOptions, rejectSoon, RUN, settleWith } from './policy.js';
import { checkOptionsObject, monotonic, resolveClock, resolvePolicyOptions, TIMED_POLICY_OPTION_NAMES, type TimedPolicyOptions } from './policy-options.js';
import { isRejection } from './rejection.js';

/** Options of {@link bulkhead}. */
export interface BulkheadOptions extends TimedPolicyOptions {
  /** Calls that may run at once: an integer >= 1, or an {@link AdaptiveLimit} whose limit follows latency. */
  readonly maxConcurrent: number | AdaptiveLimit;
  /** Calls that may wait for a slot (FIFO); beyond it calls are rejected at once. Default 0. */
  readonly maxQueue?: number | undefined;
  /** A call waits at most this long in the queue, then is rejected (ms). Default: no limit (the caller's signal still ends a wait). */
  readonly queueTimeoutMs?: number | undefined;
}

const OPTION_NAMES = [...TIMED_POLICY_OPTION_NAMES, 'maxConcurrent', 'maxQueue', 'queueTimeoutMs'];

/** A call waiting for a slot. */
class Waiter {
  next: Waiter | undefined = undefined;
  prev: Waiter | undefined = undefined;
  done = false;
  timer: TimerHandle | undefined = undefined;
  signal: AbortSignal | undefined = undefined;
  onAbort: (() => void) | undefined = undefined;
  constructor(
    readonly fn: (context: PolicyContext) => unknown,
    readonly parent: Context | undefined,
    readonly runner: Next,
    readonly resolve: (value: Promise<unknown>) => void,
    readonly reject: (reason: unknown) => void,
  ) {}
}

/**
 * Isolates a dependency: at most `maxConcurrent` calls run at once, `maxQueue` more wait in line, and
 * the rest are rejected at once with {@link BulkheadRejectedError} — so one slow dependency cannot take
 * every socket, worker or await slot of the process. One per dependency (per peer, per host).
 */
export class Bulkhead implements Policy {
  readonly name: string;
  readonly maxQueue: number;
  readonly queueTimeoutMs: number | undefined;
  /** The adaptive limit, when `maxConcurrent` is one. */
  readonly adaptive: AdaptiveLimit | undefined;
  private readonly fixedLimit: number;
  private readonly registry: CircuitBreakerRegistry;
  private readonly clock: Clock;
  private readonly monotonicNow: () => number;
  private running = 0;
  private waiting = 0;
  private head: Waiter | undefined = undefined;
  private tail: Waiter | undefined = undefined;
  // Set while release() starts waiters: a waiter whose function throws synchronously releases from
  // inside that loop, and must not start a nested one (100 000 such waiters would overflow the stack).
  private draining = false;
  // Shared by every fixed-limit call: settling needs no per-call state.
  private readonly releaseValue = <T>(value: T): T => {
    this.release();
    return value;
  };
  private readonly releaseError = (error: unknown): never => {
    this.release();
    throw error;
  };

  constructor(options: BulkheadOptions) {
    const o = checkOptionsObject<BulkheadOptions>('bulkhead', options, OPTION_NAMES, true);
    ({ name: this.name, registry: this.registry } = resolvePolicyOptions('bulkhead', o));
    if (o.maxConcurrent instanceof AdaptiveLimit) {
      this.adaptive = o.maxConcurrent;
      this.fixedLimit = 0;
    } else if (typeof o.maxConcurrent === 'number') {
      this.fixedLimit = checkInteger('bulkhead: maxConcurrent', o.maxConcurrent, 1);
    } else {
      throw new TypeError(`bulkhead: maxConcurrent must be an integer >= 1 or an adaptiveLimit(); got ${describeValue(o.maxConcurrent)}`);
    }
    this.maxQueue = o.maxQueue === undefined ? 0 : checkInteger('bulkhead: maxQueue', o.maxQueue, 0);
    this.queueTimeoutMs = o.queueTimeoutMs === undefined ? undefined : checkDurationMs('bulkhead: queueTimeoutMs', o.queueTimeoutMs, 1);
    this.clock = resolveClock('bulkhead', o.clock);
    this.monotonicNow = monotonic(this.clock);
  }

  /** Calls running now. */
  get inFlight(): number {
    return this.running;
  }

  /** Calls waiting for a slot now. */
  get queued(): number {
    return this.waiting;
  }

  /** The concurrency limit now. */
  get limit(): number {
    return this.adaptive === undefined ? this.fixedLimit : this.adaptive.limit;
  }

  /** Runs `fn` in a slot, after waiting in line if the queue has room; rejects with `BulkheadRejectedError` otherwise. */
  execute<T>(fn: (context: PolicyContext) => T | PromiseLike<T>, options?: PolicyExecuteOptions): Promise<T> {
    const parent = parentOf(options);
    return endOnAbort(this[RUN](fn, parent, undefined, CALL), parent);
  }

  /** @internal */
  [RUN]<T>(fn: (context: PolicyContext) => T | PromiseLike<T>, parent: Context | undefined, after: After | undefined, next: Next): Promise<T> {
    return settleWith(this.admitOrQueue(fn, parent, next), after);
  }

  /**
   * @internal The fused fast path of a pipeline: takes a slot if one is free now (true), else false and
   * nothing taken. The caller must then call {@link releaseSlot} exactly once when its call settles.
   */
  tryAcquireSlot(): boolean {
    if (this.adaptive !== undefined || this.waiting !== 0 || this.running >= this.fixedLimit) return false;
    this.running++;
    if (this.registry.policyEventsObserved) this.report('admitted');
    return true;
  }

  /** @internal Gives back a slot taken with {@link tryAcquireSlot}. */
  readonly releaseSlot = (): void => {
    this.release();
  };

  private admitOrQueue<T>(fn: (context: PolicyContext) => T | PromiseLike<T>, parent: Context | undefined, next: Next): Promise<T> {
    if (this.waiting === 0 && this.running < this.limit) return this.start(fn, parent, next);
    if (this.waiting < this.maxQueue) return this.enqueue(fn, parent, next);
    if (this.registry.policyEventsObserved) this.report('rejected');
    return rejectSoon(BulkheadRejectedError.create(this.name, 'full', this.running, this.waiting, this.limit));
  }

  private start<T>(fn: (context: PolicyContext) => T | PromiseLike<T>, parent: Context | undefined, next: Next): Promise<T> {
    this.running++;
    if (this.registry.policyEventsObserved) this.report('admitted');
    if (this.adaptive !== undefined) return this.startMeasured(fn, parent, next, this.adaptive);
    let result: T | PromiseLike<T>;
    try {
      result = next(fn, parent ?? FIRST_ATTEMPT);
    } catch (error) {
      this.release();
      return rejectSoon(error);
    }
    return asPromise(result).then(this.releaseValue, this.releaseError);
  }

  private startMeasured<T>(fn: (context: PolicyContext) => T | PromiseLike<T>, parent: Context | undefined, next: Next, limit: AdaptiveLimit): Promise<T> {
    const startedAt = this.monotonicNow();
    const inFlight = this.running;
    const done = (dropped: boolean, measured: boolean) => {
      try {
        if (measured) limit.sample(this.monotonicNow() - startedAt, inFlight, dropped);
      } finally {
        // Whatever measuring throws (a clock of yours), the slot is given back.
        this.release();
      }
    };
    let result: T | PromiseLike<T>;
    try {
      result = next(fn, parent ?? FIRST_ATTEMPT);
    } catch (error) {
      done(false, false);
      return rejectSoon(error);
    }
    return asPromise(result).then(
      (value) => {
        done(false, true);
        return value;
      },
      (error: unknown) => {
        // A rejection from inside (an open breaker) never reached the dependency: it says nothing of its latency.
        done(isDrop(error), !isRejection(error));
        throw error;
      },
    );
  }

  private release(): void {
    this.running--;
    if (this.registry.policyEventsObserved) this.report('released');
    if (this.head === undefined || this.draining) return;
    this.draining = true;
    try {
      while (this.head !== undefined && this.running < this.limit) {
        const waiter = this.head;
        this.settleWaiter(waiter);
        waiter.resolve(this.start(waiter.fn, waiter.parent, waiter.runner));
      }
    } finally {
      this.draining = false;
    }
  }

  private enqueue<T>(fn: (context: PolicyContext) => T | PromiseLike<T>, parent: Context | undefined, next: Next): Promise<T> {
    const signal = parent?.abortSignal();
    if (signal?.aborted) return rejectSoon(signal.reason);
    return new Promise<T>((resolve, reject) => {
      const waiter = new Waiter(fn, parent, next, resolve as (value: Promise<unknown>) => void, reject);
      if (this.tail === undefined) this.head = waiter;
      else {
        this.tail.next = waiter;
        waiter.prev = this.tail;
      }
      this.tail = waiter;
      this.waiting++;
      if (this.queueTimeoutMs !== undefined) {
        waiter.timer = this.clock.setTimeout(() => {
          waiter.timer = undefined;
          this.leaveQueue(waiter, 'queue_timeout', BulkheadRejectedError.create(this.name, 'queue_timeout', this.running, this.waiting - 1, this.limit));
        }, this.queueTimeoutMs);
      }
      if (signal !== undefined) {
        waiter.signal = signal;
        waiter.onAbort = () => this.leaveQueue(waiter, undefined, signal.reason);
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      if (this.registry.policyEventsObserved) this.report('queued');
    });
  }

  /** A waiter gives up (timeout or abort) and leaves the line at once: an abort storm leaves nothing behind. */
  private leaveQueue(waiter: Waiter, action: 'queue_timeout' | undefined, reason: unknown): void {
    if (waiter.done) return;
    this.settleWaiter(waiter);
    if (action !== undefined && this.registry.policyEventsObserved) this.report(action);
    waiter.reject(reason);
  }

  private settleWaiter(waiter: Waiter): void {
    waiter.done = true;
    this.waiting--;
    if (waiter.prev === undefined) this.head = waiter.next;
    else waiter.prev.next = waiter.next;
    if (waiter.next === undefined) this.tail = waiter.prev;
    else waiter.next.prev = waiter.prev;
    waiter.prev = waiter.next = undefined;
    if (waiter.timer !== undefined) this.clock.clearTimeout(waiter.timer);
    if (waiter.onAbort !== undefined) waiter.signal!.removeEventListener('abort', waiter.onAbort);
  }

  private report(action: BulkheadEvent['action']): void {
    this.registry.reportPolicyEvent({
      type: 'bulkhead',
      policyKind: 'bulkhead',
      policy: this.name,
      time: this.clock.now(),
      action,
      inFlight: this.running,
      queued: this.waiting,
      limit: this.limit,
    });
  }
}

/** A {@link Bulkhead}. */
export function bulkhead(options: BulkheadOptions): Bulkhead {
  return new Bulkhead(options);
}
