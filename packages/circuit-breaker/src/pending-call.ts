import { stopWaitingForAbort, waitForAbort, type AbortWaiter } from './abort-fanout.js';
import type { CallContext } from './call-context.js';
import type { DeadlineEpoch } from './call-deadlines.js';
import type { TimerHandle } from './clock.js';

/**
 * The call whose promise is being constructed. One module-level executor instead of a closure per
 * call: the Promise constructor runs it synchronously, so nothing else can interleave.
 * Not `Promise.withResolvers()`: it allocates a result object per call, on the hot path.
 */
let constructing: PendingCall | undefined;

function captureResolvers(resolve: (value: unknown) => void, reject: (error: unknown) => void): void {
  constructing!.captured(resolve, reject);
}

/** The breaker's side of a guarded call (timeout and/or caller signal). */
export interface CallOwner {
  callSucceeded(call: PendingCall, value: unknown): void;
  callFailed(call: PendingCall, error: unknown): void;
  callTimedOut(call: PendingCall, stuck: boolean): unknown;
  callAborted(call: PendingCall, reason: unknown): void;
  abandonedProbeSettled(call: PendingCall): void;
}

/**
 * One call racing its deadline and its caller's signal; whichever settles first wins and the others
 * are ignored. Doubles as the call's context (lazy signal), its entry in the deadline list, and its
 * caller signal's abort waiter, so a guarded call allocates one object and one promise.
 */
export class PendingCall implements CallContext, AbortWaiter {
  settled = false;
  /** Deadline-list links; see `CallDeadlines`. */
  prev: PendingCall | undefined = undefined;
  next: PendingCall | undefined = undefined;
  /** The deadline list's epoch this call joined; see `CallDeadlines`. */
  epoch: DeadlineEpoch | undefined = undefined;
  /** A half-open probe's own stuck timer, while it runs. */
  probeTimer: TimerHandle | undefined = undefined;
  /** A probe timed out while its function still runs; the owner hears when it finally settles. */
  abandoned = false;
  private controller: AbortController | undefined = undefined;
  private abortReason: unknown = undefined;
  private resolve!: (value: unknown) => void;
  private reject!: (error: unknown) => void;

  constructor(
    private readonly owner: CallOwner,
    readonly generation: number,
    readonly startedAt: number,
    private readonly callerSignal: AbortSignal | undefined,
    /** The calls it stands for, when timed for sampling duration listeners (see `DurationSampler`). */
    readonly weight = 1,
  ) {}

  /** @internal Receives the promise's resolving functions (see `captureResolvers`). */
  captured(resolve: (value: unknown) => void, reject: (error: unknown) => void): void {
    this.resolve = resolve;
    this.reject = reject;
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.settled && this.abortReason !== undefined) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  /**
   * Runs `fn`; the promise returned settles with its outcome unless a deadline or abort came first.
   * (Not kept on the call: one field less on every guarded call.)
   */
  run(fn: (context: CallContext) => unknown): Promise<unknown> {
    constructing = this;
    const promise = new Promise(captureResolvers);
    if (this.callerSignal !== undefined) waitForAbort(this.callerSignal, this);
    try {
      // `then` callbacks rather than an async function: one promise fewer per call. Adopting the result
      // runs the caller's code (a `then` getter, a promise's own `then`): inside the try, so whatever it
      // throws fails the call instead of escaping `execute` with the call still in flight.
      const result = fn(this);
      (result instanceof Promise ? result : Promise.resolve(result)).then(
        (value) => this.succeeded(value),
        (error: unknown) => this.failed(error),
      );
    } catch (error) {
      this.failed(error);
    }
    return promise;
  }

  private succeeded(value: unknown): void {
    if (!this.finish(undefined)) return this.lateSettle();
    this.owner.callSucceeded(this, value);
    this.resolve(value);
  }

  private failed(error: unknown): void {
    if (!this.finish(undefined)) return this.lateSettle();
    this.owner.callFailed(this, error);
    this.reject(error);
  }

  /** The function settled after the call was settled by a deadline or abort: only an abandoned probe cares. */
  private lateSettle(): void {
    if (!this.abandoned) return;
    this.abandoned = false;
    this.owner.abandonedProbeSettled(this);
  }

  /** The deadline passed (`stuck`: a probe's `halfOpenMaxWaitMs`). */
  timeOut(stuck = false): void {
    if (this.settled) return;
    const error = this.owner.callTimedOut(this, stuck);
    this.finish(error);
    this.reject(error);
  }

  /** The caller's signal aborted. */
  aborted(reason: unknown): void {
    if (this.settled) return;
    this.finish(reason);
    this.owner.callAborted(this, reason);
    this.reject(reason);
  }

  /** Marks the call settled; false when something else settled it first. */
  private finish(abortReason: unknown): boolean {
    if (this.settled) return false;
    this.settled = true;
    if (this.callerSignal !== undefined) stopWaitingForAbort(this.callerSignal, this);
    if (abortReason !== undefined) {
      this.abortReason = abortReason;
      this.controller?.abort(abortReason);
    }
    return true;
  }
}
