import { UNABORTABLE, type CallContext, type ExecuteOptions } from './call-context.js';
import { CallDeadlines } from './call-deadlines.js';
import { CallDurationListeners, resolveCallDurationOptions, type CallDurationListener, type CallDurationOptions, type DurationSampler } from './call-durations.js';
import type {
  CallFailureEvent,
  CallIgnoredEvent,
  CallRejectedEvent,
  CallSuccessEvent,
  CallTimeoutEvent,
  ProbeAbandonedEvent,
  StateChangeEvent,
} from './circuit-events.js';
import { CIRCUIT_STATES, type CircuitSnapshot, type CircuitState, type TransitionReason } from './circuit-state.js';
import { CircuitOpenError, CircuitTimeoutError } from './errors.js';
import { Emitter, toDisposable, type Disposable, type Event } from './event.js';
import type { FailurePolicy, FailurePolicySpec } from './failure-policy.js';
import { describeThrown, transitionLevel, transitionMessage } from './json-logger.js';
import { differences, internOptions, patchOptions, resolveOptions, type CircuitBreakerInit, type CircuitBreakerOptions, type Outcome, type ResolvedOptions } from './options.js';
import { PendingCall, type CallOwner } from './pending-call.js';
import { createPolicy } from './policies.js';
import type { StoreConnection } from './state-store.js';
import { checkInteger, describeValue } from './validate.js';

/** The state inside: each state carries exactly what it needs (STYLE rule 3). */
type Inner =
  | { readonly kind: 'closed' }
  | { readonly kind: 'open'; readonly openedAt: number; readonly retryAt: number }
  | HalfOpen
  | { readonly kind: 'forced_open' }
  | { readonly kind: 'disabled' };

interface HalfOpen {
  readonly kind: 'half_open';
  readonly openedAt: number;
  /** When this half-open period began (epoch ms): abandoned probes hold permits for its first `halfOpenMaxWaitMs`. */
  readonly since: number;
  /** Start times of the trial calls in flight (at most `halfOpenMaxCalls`). */
  readonly probes: number[];
  successes: number;
}

interface OutcomeHandlers {
  readonly generation: number;
  readonly value: (value: unknown) => unknown;
  readonly error: (error: unknown) => never;
}

interface Listeners {
  stateChanges?: Emitter<StateChangeEvent>;
  successes?: Emitter<CallSuccessEvent>;
  failures?: Emitter<CallFailureEvent>;
  ignored?: Emitter<CallIgnoredEvent>;
  rejections?: Emitter<CallRejectedEvent>;
  timeouts?: Emitter<CallTimeoutEvent>;
  abandonedProbes?: Emitter<ProbeAbandonedEvent>;
}

const CLOSED: Inner = Object.freeze({ kind: 'closed' });
const FORCED_OPEN: Inner = Object.freeze({ kind: 'forced_open' });
const DISABLED: Inner = Object.freeze({ kind: 'disabled' });

/** What {@link CircuitBreaker.reconfigure} changed, kept and reset. */
export interface ReconfigureReport {
  /** The options whose value changed (`failureThreshold` shows as `failurePolicy`, which it is short for). */
  readonly changed: readonly string[];
  /**
   * `kept`: the failures counted toward opening survived (same policy, or a consecutive count carried
   * into a new threshold, at most one below it); `reset`: any other change of the failure policy.
   */
  readonly failureCounts: 'kept' | 'reset';
  /** The state after the change (it is never changed by it, but an open breaker may now be due a probe). */
  readonly state: CircuitState;
  /** An open breaker's retry time under the new options (epoch ms), else null. */
  readonly retryAt: number | null;
}

/** Where a breaker sits in a keyed family (see `CircuitBreakerFamily`). */
export interface FamilyMembership {
  readonly family: string;
  readonly key: string;
}

/**
 * Counters and state in the guide's shape (`state`, `failure_count`, `success_count`,
 * `failure_threshold`) plus cumulative totals that survive transitions. After every admitted call has
 * settled, `total_calls = total_successes + total_failures + total_rejections + total_ignored`.
 */
export interface CircuitBreakerStats {
  readonly state: CircuitState;
  /** Failures counted toward opening right now. */
  readonly failure_count: number;
  /** Successful trial calls in the current half-open period. */
  readonly success_count: number;
  readonly failure_threshold: number;
  readonly total_calls: number;
  readonly total_successes: number;
  /** Includes timeouts. */
  readonly total_failures: number;
  readonly total_timeouts: number;
  readonly total_rejections: number;
  readonly total_ignored: number;
  /** Admitted calls not settled yet, plus abandoned probes (below) whose functions still run. */
  readonly in_flight: number;
  /**
   * Half-open probes aborted (stuck past `halfOpenMaxWaitMs`, or timed out) whose functions have not
   * settled yet: work still running against the dependency although its caller got a timeout.
   */
  readonly abandoned_probes: number;
  readonly generation: number;
  /** Epoch ms, or null. */
  readonly opened_at: number | null;
  /** Epoch ms when an open breaker admits its next probe, or null. */
  readonly retry_at: number | null;
}

/**
 * A circuit breaker: CLOSED → OPEN when failures reach the threshold, OPEN → HALF_OPEN when the
 * recovery timeout expires, HALF_OPEN → CLOSED on successful probes, HALF_OPEN → OPEN on a failed one.
 *
 * @example
 * const breaker = new CircuitBreaker('external_api', { failureThreshold: 3, timeoutMs: 5_000 });
 * try {
 *   const data = await breaker.execute(({ signal }) => fetch(url, { signal }).then((r) => r.json()));
 * } catch (error) {
 *   if (CircuitBreakerError.isInstance(error)) useCachedData(); else throw error;
 * }
 */
export class CircuitBreaker implements CallOwner {
  readonly name: string;
  /** The family and key this breaker belongs to, if it was created by a keyed family. */
  readonly membership: FamilyMembership | undefined;
  /** Validated options with defaults applied (replaced, never changed, by {@link CircuitBreaker.reconfigure}). */
  readonly options: ResolvedOptions;

  private inner: Inner = CLOSED;
  private generation = 0;
  private failedProbes = 0;
  private policy: FailurePolicy;
  private deadlines: CallDeadlines | undefined = undefined;
  /** The `halfOpenMaxWaitMs` each probe in flight started under, for its error if it gets stuck. */
  private probeWaits: WeakMap<PendingCall, number> | undefined = undefined;
  /** Deadline lists of earlier timeouts that calls in flight still wait on (after a reconfigure). */
  private retiredDeadlines: CallDeadlines[] | undefined = undefined;
  private store: StoreConnection | undefined = undefined;
  /** Read the clock for every call: the policy needs time, or someone listens for durations. */
  private timed: boolean;

  private calls = 0;
  private successes = 0;
  private failures = 0;
  private timeouts = 0;
  private rejections = 0;
  private ignored = 0;
  /** Probes timed out whose functions have not settled yet (they ignored the abort, or are slow to honour it). */
  private abandoned = 0;

  /** No result classifier, no state store, no listeners: a success needs no more than a count. */
  private get plain(): boolean {
    return this.options.classifyResult === undefined && this.store === undefined && !this.listeners?.successes?.size;
  }

  /** Settlement callbacks of untimed calls, shared by every call of one generation. */
  private handlers: OutcomeHandlers | undefined = undefined;
  /** The error rejections of the current generation share. */
  private rejection: CircuitOpenError | undefined = undefined;
  private rejectionGeneration = -1;
  /** Created on the first subscription: an unobserved breaker carries one empty field, not six. */
  private listeners: Listeners | undefined = undefined;
  /** Duration listeners ({@link CircuitBreaker.onCallDuration}), and the sampler that picks the calls they hear about. */
  private durations: CallDurationListeners | undefined = undefined;

  /**
   * @param name shown in logs, stats, errors and metric labels.
   * @param options the guide's options in camelCase; invalid ones throw a RangeError/TypeError naming
   *   the option, the value and what is allowed. Pass already-resolved options to share them.
   */
  constructor(name: string, options?: CircuitBreakerInit | ResolvedOptions, membership?: FamilyMembership) {
    if (typeof name !== 'string' || name.length === 0) {
      throw new TypeError(`circuit breaker name must be a non-empty string; got ${describeValue(name)}`);
    }
    if (membership === undefined && name.includes('/')) {
      // One naming rule: "family/key" names a keyed family's member and nothing else, so a plain
      // breaker can never be mistaken for (or shadow) a member in stats, resets and metrics.
      throw new TypeError(
        `circuit breaker name must not contain "/" (reserved for keyed family members, named family/key); got ${describeValue(name)}`,
      );
    }
    this.name = name;
    this.membership = membership;
    const init = options as CircuitBreakerInit | undefined;
    this.options = isResolved(options) ? options : sharedOptions(init);
    this.policy = createPolicy(this.options.failurePolicy);
    this.timed = this.policy.needsTime;
    if (init?.initialState !== undefined) this.restore(init.initialState);
    if (this.options.stateStore !== undefined) {
      // Read when used, not copied: a reconfigured threshold reaches a store counting fleet-wide.
      const self = this;
      this.store = this.options.stateStore.connect({
        name: this.name,
        get threshold() {
          return self.policy.threshold;
        },
        get halfOpenMaxCalls() {
          return self.options.halfOpenMaxCalls;
        },
        retryAtFor: (openedAt, failedProbes) => openedAt + this.openDurationMs(failedProbes),
        snapshot: () => this.toJSON(),
        applyRemote: (snapshot) => this.applyRemote(snapshot),
      });
    }
  }

  /** The current state; an open breaker whose recovery timeout passed reads `half_open`. */
  get state(): CircuitState {
    this.refresh(this.options.clock.now());
    return this.inner.kind;
  }

  /** Runs `fn` through the breaker (the guide's `acall`). Rejects with `CircuitOpenError` without running when open. */
  execute<T>(fn: (context: CallContext) => T | PromiseLike<T>, options?: ExecuteOptions): Promise<T> {
    // What a call timed for sampling duration listeners stands for (0: not chosen), and who chose it
    // (kept: reading `options.signal` runs the caller's code, which may unsubscribe the last listener).
    let weight = 0;
    let sampler: DurationSampler | undefined;
    if (this.inner === CLOSED && !this.timed) {
      sampler = this.durations?.sampler;
      if (sampler !== undefined && --sampler.countdown <= 0) weight = 1;
      else if (options === undefined) {
        // The hot paths, kept flat (measured ~5 % faster at 1000 calls in flight than calling run()):
        // closed, no clock read, no caller signal.
        const deadlines = this.deadlines;
        if (deadlines !== undefined) {
          // Timed (the deadline list exists once timeoutMs > 0): one PendingCall joins the list.
          this.calls++;
          const call = new PendingCall(this, this.generation, NaN, undefined);
          deadlines.add(call);
          return call.run(fn) as Promise<T>;
        }
        const handlers = this.handlers;
        if (this.options.timeoutMs === 0 && handlers !== undefined && handlers.generation === this.generation) {
          // Untimed, with the shared handlers of this generation ready.
          this.calls++;
          let result: T | PromiseLike<T>;
          try {
            result = fn(UNABORTABLE);
            // Inside the try: `instanceof` and `then` run the caller's code too (a Proxy, an own `then`).
            if (result instanceof Promise) return result.then(handlers.value as (value: T) => T, handlers.error);
          } catch (error) {
            this.settleError(error, handlers.generation, NaN);
            return rejectSoon(error);
          }
          return this.settleNonPromise(result, handlers.generation, NaN);
        }
      }
    }
    if (options !== undefined) checkExecuteOptions(options);
    let startedAt = NaN;
    if (this.inner !== CLOSED) {
      startedAt = this.options.clock.now();
      weight = 1;
      const rejection = this.admit(startedAt);
      if (rejection !== undefined) return rejectSoon(rejection);
      if (this.inner.kind === 'half_open') {
        // A probe: always guarded, so it has an abortable signal and its own stuck timer even with
        // timeoutMs 0 — a probe that outlives halfOpenMaxWaitMs must be aborted and counted.
        if (this.store?.acquireProbe !== undefined) return this.executeWithFleetPermit(fn, options, startedAt);
        this.calls++;
        return this.runGuarded(fn, options?.signal, startedAt, true);
      }
    } else if (this.timed) {
      startedAt = this.options.clock.now();
      weight = 1;
    } else if (weight !== 0) {
      startedAt = this.options.clock.now();
      weight = sampler!.started(startedAt);
    }
    this.calls++;
    const signal = options?.signal;
    if (this.options.timeoutMs === 0 && signal === undefined) return this.run(fn, this.generation, startedAt, weight);
    return this.runGuarded(fn, signal, startedAt, false, weight);
  }

  /** Wraps a function so every call goes through the breaker; `this` and arguments pass through. */
  wrap<A extends unknown[], R>(fn: (...args: A) => R | PromiseLike<R>): (...args: A) => Promise<Awaited<R>> {
    const breaker = this;
    return function (this: unknown, ...args: A) {
      return breaker.execute(() => fn.apply(this, args) as Awaited<R> | PromiseLike<Awaited<R>>);
    };
  }

  /**
   * The hot path: no timeout, no caller signal. Plain `then` callbacks measured faster than an async
   * function here (one promise fewer per call).
   */
  private run<T>(fn: (context: CallContext) => T | PromiseLike<T>, generation: number, startedAt: number, weight: number): Promise<T> {
    let result: T | PromiseLike<T>;
    try {
      result = fn(UNABORTABLE);
      if (result instanceof Promise) return this.track(result as Promise<T>, generation, startedAt, weight);
    } catch (error) {
      this.settleError(error, generation, startedAt, weight);
      return rejectSoon(error);
    }
    return this.settleNonPromise(result, generation, startedAt, weight);
  }

  /** Settles the breaker's side of `promise` and passes its outcome on to the caller. */
  private track<T>(promise: Promise<T>, generation: number, startedAt: number, weight: number): Promise<T> {
    if (startedAt !== startedAt) {
      // Untimed calls of one generation need nothing per call: reuse one pair of handlers.
      if (this.handlers?.generation !== generation) this.handlers = this.handlersFor(generation);
      return promise.then(this.handlers.value as (value: T) => T, this.handlers.error);
    }
    return promise.then(
      (value) => {
        this.settleValue(value, generation, startedAt, weight);
        return value;
      },
      (error: unknown) => {
        this.settleError(error, generation, startedAt, weight);
        throw error;
      },
    );
  }

  /**
   * A plain value settles now; another thenable is adopted into a Promise first. Reading `then` runs
   * the caller's code (a getter, a Proxy): if it throws, the call failed with that error — it must
   * never escape `execute` synchronously and leave the call counted in flight.
   */
  private settleNonPromise<T>(result: T | PromiseLike<T>, generation: number, startedAt: number, weight = 1): Promise<T> {
    let thenable: boolean;
    try {
      thenable = isThenable(result);
    } catch (error) {
      this.settleError(error, generation, startedAt, weight);
      return rejectSoon(error);
    }
    if (thenable) return this.track(Promise.resolve(result), generation, startedAt, weight);
    this.settleValue(result, generation, startedAt, weight);
    return Promise.resolve(result);
  }

  private handlersFor(generation: number): OutcomeHandlers {
    return {
      generation,
      value: (value) => {
        if (
          generation === this.generation &&
          this.inner === CLOSED &&
          this.plain &&
          !this.timed // started untimed, but the policy may need time since (reconfigure)
        ) {
          // The common case with nothing to classify, share or tell: count it and move on.
          this.successes++;
          if (this.policy.recordSuccess(NaN, NaN)) this.trip();
        } else {
          this.settleValue(value, generation, NaN);
        }
        return value;
      },
      error: (error) => {
        this.settleError(error, generation, NaN);
        throw error;
      },
    };
  }

  private runGuarded<T>(
    fn: (context: CallContext) => T | PromiseLike<T>,
    signal: AbortSignal | undefined,
    startedAt: number,
    probe = false,
    weight = 1,
  ): Promise<T> {
    if (signal?.aborted) {
      // Never started: the caller gave up before we could run it. Not the dependency's fault.
      this.settleIgnored(this.generation, startedAt, 'aborted', signal.reason, weight);
      return rejectSoon(signal.reason);
    }
    const call = new PendingCall(this, this.generation, startedAt, signal, weight);
    const timeoutMs = this.options.timeoutMs;
    if (timeoutMs > 0) (this.deadlines ??= new CallDeadlines(this.options.clock, timeoutMs)).add(call, startedAt === startedAt);
    if (probe) {
      // Probes are few (halfOpenMaxCalls at a time): each gets its own exact timer.
      const waitMs = this.options.halfOpenMaxWaitMs;
      call.probeTimer = this.options.clock.setTimeout(() => call.timeOut(true), waitMs);
      (this.probeWaits ??= new WeakMap()).set(call, waitMs);
    }
    return call.run(fn) as Promise<T>;
  }

  /** @internal CallOwner: a guarded call resolved. */
  callSucceeded(call: PendingCall, value: unknown): void {
    call.epoch?.owner.remove(call);
    if (call.probeTimer !== undefined) this.stopProbeTimer(call);
    if (call.generation === this.generation && this.inner === CLOSED && call.startedAt !== call.startedAt && this.plain && !this.timed) {
      // The common timed case with nothing to classify, share or tell (as in `handlersFor`).
      this.successes++;
      if (this.policy.recordSuccess(NaN, NaN)) this.trip();
      return;
    }
    this.settleValue(value, call.generation, call.startedAt, call.weight);
  }

  /** @internal CallOwner: a guarded call threw. */
  callFailed(call: PendingCall, error: unknown): void {
    call.epoch?.owner.remove(call);
    if (call.probeTimer !== undefined) this.stopProbeTimer(call);
    this.settleError(error, call.generation, call.startedAt, call.weight);
  }

  /**
   * @internal CallOwner: a guarded call passed its deadline (`stuck`: a probe passed
   * `halfOpenMaxWaitMs`); returns the error to reject it with and abort its signal with.
   */
  callTimedOut(call: PendingCall, stuck: boolean): unknown {
    call.epoch?.owner.remove(call);
    const probe = call.probeTimer !== undefined;
    if (probe) this.stopProbeTimer(call);
    // The limit the call ran under: a reconfigure since may have changed the breaker's.
    const limitMs = stuck ? (this.probeWaits?.get(call) ?? this.options.halfOpenMaxWaitMs) : (call.epoch?.owner.timeoutMs ?? this.options.timeoutMs);
    const error = new CircuitTimeoutError(this.name, limitMs);
    this.timeouts++;
    if (this.listeners?.timeouts?.size) this.listeners.timeouts.emit({ breaker: this, timeoutMs: limitMs });
    this.settleFailure(call.generation, call.startedAt, 'timeout', error, stuck ? 'probe_stuck' : 'probe_failed', call.weight);
    if (probe) {
      // Its function is still running: it stays in flight until it settles (see `abandonedProbes`).
      call.abandoned = true;
      this.abandoned++;
      if (this.listeners?.abandonedProbes?.size) {
        this.listeners.abandonedProbes.emit({ breaker: this, limitMs, abandonedProbes: this.abandoned });
      }
    }
    return error;
  }

  /** @internal CallOwner: the function of a timed-out probe settled at last. */
  abandonedProbeSettled(): void {
    this.abandoned--;
  }

  /** @internal CallOwner: the caller's signal aborted a guarded call. */
  callAborted(call: PendingCall, reason: unknown): void {
    call.epoch?.owner.remove(call);
    if (call.probeTimer !== undefined) this.stopProbeTimer(call);
    this.settleIgnored(call.generation, call.startedAt, 'aborted', reason, call.weight);
  }

  private stopProbeTimer(call: PendingCall): void {
    this.options.clock.clearTimeout(call.probeTimer);
    call.probeTimer = undefined;
  }

  /** Admission outside CLOSED; returns the rejection, or undefined when the call may run. */
  private admit(now: number): CircuitOpenError | undefined {
    this.refresh(now);
    const inner = this.inner;
    switch (inner.kind) {
      case 'closed':
      case 'disabled':
        return undefined;
      case 'half_open': {
        const maxWait = this.options.halfOpenMaxWaitMs;
        // Probes aborted earlier whose functions still run keep their permits for the first
        // halfOpenMaxWaitMs of this period: the dependency sees no more trials than allowed unless a
        // function ignores its abort that long, and even then the breaker keeps probing afterwards.
        const held = this.abandoned > 0 && now - inner.since < maxWait ? this.abandoned : 0;
        if (inner.probes.length + held < this.options.halfOpenMaxCalls) {
          inner.probes.push(now);
          return undefined;
        }
        const probeFree = inner.probes.length > 0 ? Math.min(...inner.probes) + maxWait : Infinity;
        return this.reject(now, Math.min(probeFree, held > 0 ? inner.since + maxWait : Infinity));
      }
      case 'open':
        return this.reject(now, inner.retryAt);
      case 'forced_open':
        return this.reject(now, null);
    }
  }

  private reject(now: number, retryAt: number | null): CircuitOpenError {
    this.calls++;
    this.rejections++;
    const state = this.inner.kind;
    if (this.listeners?.rejections?.size) this.listeners.rejections.emit({ breaker: this, state, retryAt });
    let error = this.rejection;
    if (error === undefined || this.rejectionGeneration !== this.generation || error.state !== state) {
      // One error per open period (see CircuitOpenError); a half-open one keeps its first retry hint.
      error = this.rejection = new CircuitOpenError(this.name, state, retryAt, this.options.clock);
      this.rejectionGeneration = this.generation;
    }
    return error;
  }

  /**
   * Applies the transition time alone causes: the recovery timeout is over. (A probe stuck past
   * `halfOpenMaxWaitMs` is timed out by its own timer, see `runGuarded`.)
   */
  private refresh(now: number): void {
    const inner = this.inner;
    if (inner.kind === 'open') {
      if (now >= inner.retryAt) {
        this.moveTo({ kind: 'half_open', openedAt: inner.openedAt, since: now, probes: [], successes: 0 }, 'recovery_timeout', now);
      }
    }
  }

  private async executeWithFleetPermit<T>(
    fn: (context: CallContext) => T | PromiseLike<T>,
    options: ExecuteOptions | undefined,
    startedAt: number,
  ): Promise<T> {
    const generation = this.generation;
    const store = this.store!;
    let granted: boolean;
    try {
      granted = await store.acquireProbe!(generation);
    } catch {
      granted = true; // the store is unreachable: the local permit decides, calls must not fail for it
    }
    const inner = this.inner;
    if (!granted || generation !== this.generation || inner.kind !== 'half_open') {
      if (inner.kind === 'half_open' && generation === this.generation) removeOne(inner.probes, startedAt);
      if (granted) store.releaseProbe?.(generation);
      const now = this.options.clock.now();
      throw this.reject(now, this.fleetRetryAt(now));
    }
    this.calls++;
    try {
      return await this.runGuarded(fn, options?.signal, startedAt, true);
    } finally {
      store.releaseProbe?.(generation);
    }
  }

  /**
   * When a call refused a fleet permit may try again. Another replica holds the permit; we cannot see
   * when its probe started, but within `halfOpenMaxWaitMs` it has settled or been declared stuck.
   */
  private fleetRetryAt(now: number): number | null {
    const inner = this.inner;
    switch (inner.kind) {
      case 'open':
        return inner.retryAt;
      case 'forced_open':
        return null;
      case 'half_open':
        return now + this.options.halfOpenMaxWaitMs;
      default:
        return now; // closed or disabled meanwhile: a retry runs at once
    }
  }

  private settleValue(value: unknown, generation: number, startedAt: number, weight = 1): void {
    const classify = this.options.classifyResult;
    let outcome: Outcome = 'success';
    if (classify !== undefined) {
      try {
        outcome = classify(value);
      } catch (error) {
        this.reportListenerError(error);
      }
    }
    if (outcome === 'success') this.settleSuccess(generation, startedAt, weight);
    else if (outcome === 'failure') this.settleFailure(generation, startedAt, 'result', value, 'probe_failed', weight);
    else this.settleIgnored(generation, startedAt, 'result', value, weight);
  }

  private settleError(error: unknown, generation: number, startedAt: number, weight = 1): void {
    let outcome: Outcome;
    try {
      outcome = this.options.classifyError(error);
    } catch (classifierError) {
      this.reportListenerError(classifierError);
      outcome = 'failure';
    }
    if (outcome === 'failure') this.settleFailure(generation, startedAt, 'error', error, 'probe_failed', weight);
    else if (outcome === 'ignored') this.settleIgnored(generation, startedAt, 'error', error, weight);
    else this.settleSuccess(generation, startedAt, weight);
  }

  private settleSuccess(generation: number, startedAt: number, weight = 1): void {
    this.successes++;
    const now = this.settledAt(startedAt);
    const current = generation === this.generation;
    if (current) {
      const inner = this.inner;
      if (inner === CLOSED) {
        this.store?.successRecorded?.();
        if (this.policy.recordSuccess(now, now - startedAt)) this.trip();
      } else if (inner.kind === 'half_open') {
        removeOne(inner.probes, startedAt);
        if (++inner.successes >= this.options.successThreshold) {
          this.failedProbes = 0;
          this.moveTo(CLOSED, 'probe_succeeded', this.options.clock.now());
        }
      }
    }
    if (this.listeners?.successes?.size) this.listeners.successes.emit({ breaker: this, durationMs: now - startedAt, stale: !current });
    if (this.durations !== undefined && startedAt === startedAt) this.durations.emit('success', now - startedAt, weight);
  }

  private settleFailure(
    generation: number,
    startedAt: number,
    cause: CallFailureEvent['cause'],
    error: unknown,
    probeReason: TransitionReason = 'probe_failed',
    weight = 1,
  ): void {
    this.failures++;
    const now = this.settledAt(startedAt);
    const current = generation === this.generation;
    if (current) {
      const inner = this.inner;
      if (inner === CLOSED) {
        this.store?.failureRecorded?.();
        if (this.policy.recordFailure(now, now - startedAt)) this.trip();
      } else if (inner.kind === 'half_open') {
        this.reopen(probeReason, this.options.clock.now());
      }
    }
    if (this.listeners?.failures?.size) {
      this.listeners.failures.emit({ breaker: this, durationMs: now - startedAt, stale: !current, cause, error });
    }
    if (this.durations !== undefined && startedAt === startedAt) this.durations.emit(cause === 'timeout' ? 'timeout' : 'failure', now - startedAt, weight);
  }

  /**
   * When a call settled, if anyone needs to know: the call was timed, or the policy counts in time —
   * a call started untimed before a reconfigure to a time window must land in a real bucket (a NaN
   * time would count it in no bucket, so it would never age out).
   */
  private settledAt(startedAt: number): number {
    return startedAt === startedAt || this.policy.needsTime ? this.options.clock.now() : NaN;
  }

  private settleIgnored(generation: number, startedAt: number, cause: CallIgnoredEvent['cause'], error: unknown, weight = 1): void {
    this.ignored++;
    const inner = this.inner;
    const current = generation === this.generation;
    if (current && inner.kind === 'half_open') removeOne(inner.probes, startedAt);
    const listeners = this.listeners?.ignored?.size ? this.listeners.ignored : undefined;
    const durations = startedAt === startedAt ? this.durations : undefined;
    if (listeners === undefined && durations === undefined) return;
    const durationMs = this.options.clock.now() - startedAt;
    listeners?.emit({ breaker: this, durationMs, stale: !current, cause, error });
    durations?.emit('ignored', durationMs, weight);
  }

  /** CLOSED → OPEN: the failure policy says so. */
  private trip(): void {
    const now = this.options.clock.now();
    this.failedProbes = 0;
    this.moveTo({ kind: 'open', openedAt: now, retryAt: now + this.openDurationMs() }, 'failure_threshold', now);
  }

  /** HALF_OPEN → OPEN: a probe failed or hung; the open period may back off. */
  private reopen(reason: TransitionReason, now: number): void {
    this.failedProbes++;
    this.moveTo({ kind: 'open', openedAt: now, retryAt: now + this.openDurationMs() }, reason, now);
  }

  private openDurationMs(failedProbes = this.failedProbes): number {
    const base = this.options.recoveryTimeoutMs;
    const backoff = this.options.openBackoff;
    if (backoff === null || failedProbes === 0) return base;
    const grown = Math.min(backoff.maxMs, base * backoff.multiplier ** failedProbes);
    return grown * (1 - backoff.jitter * this.options.random());
  }

  private moveTo(next: Inner, reason: TransitionReason, now: number): void {
    const from = this.inner.kind;
    this.inner = next;
    this.generation++;
    if (next === CLOSED) this.policy.reset();
    if (reason !== 'remote') this.store?.transitioned(this.toJSON());
    this.announce(from, reason, now);
  }

  private announce(from: CircuitState, reason: TransitionReason, now: number): void {
    const to = this.inner.kind;
    const logger = this.options.logger;
    if (logger === null && !this.listeners?.stateChanges?.size) return;
    const failureCount = this.policy.failureCount(now);
    const threshold = this.policy.threshold;
    const retryAt = this.inner.kind === 'open' ? this.inner.retryAt : null;
    if (logger !== null) {
      try {
        logger({
          timestamp: now / 1000,
          level: transitionLevel(to),
          event: 'state_change',
          message: transitionMessage(this.name, to),
          name: this.name,
          from,
          to,
          reason,
          failure_count: failureCount,
          threshold,
          generation: this.generation,
          ...(retryAt === null ? {} : { retry_at: retryAt / 1000 }),
        });
      } catch {
        // A broken log sink must not break the breaker.
      }
    }
    this.listeners?.stateChanges?.emit({
      breaker: this,
      from,
      to,
      reason,
      generation: this.generation,
      failureCount,
      threshold,
      at: now,
      retryAt,
    });
  }

  // --- manual control -------------------------------------------------------------------------

  /** Rejects every call until `reset()` (resilience4j's FORCED_OPEN, cockatiel's isolate). */
  forceOpen(): void {
    if (this.inner.kind !== 'forced_open') this.moveTo(FORCED_OPEN, 'manual', this.options.clock.now());
  }

  /** Lets every call through and records outcomes without ever opening, until `reset()`. */
  disable(): void {
    if (this.inner.kind !== 'disabled') this.moveTo(DISABLED, 'manual', this.options.clock.now());
  }

  /**
   * Back to CLOSED with counts toward the threshold cleared (the guide's `reset_breaker`); ends forced
   * open and disabled modes. Cumulative totals are kept.
   */
  reset(): void {
    this.failedProbes = 0;
    if (this.inner !== CLOSED) this.moveTo(CLOSED, 'manual', this.options.clock.now());
    else this.policy.reset();
  }

  /**
   * Applies new options to the running breaker, without a restart (as Polly v8 reloads options): how a
   * threshold advisor's advice, or an operator's, takes effect. `options` names only what changes; an
   * option named with `undefined` returns to its default. `clock` and `stateStore` cannot change.
   *
   * What is kept: the state, the generation (calls in flight still count), cumulative totals, an open
   * breaker's failed-probe count. Calls in flight keep the timeout they started with. What follows the
   * new options at once: an open breaker's retry time (recomputed from when it opened), the half-open
   * permits and successes needed. Failure counts are kept when the failure policy is unchanged, carried
   * over (below the new threshold) from one consecutive threshold to another, and reset on any other
   * change of policy (its kind, window, rates or minimum calls) — the returned report says which. A
   * keyed family's members are reconfigured through the family (`CircuitBreakerFamily.reconfigure`), the registry's by name.
   *
   * @example
   * const report = breaker.reconfigure({ failureThreshold: 8, recoveryTimeoutMs: 15_000 });
   * // { changed: ['failurePolicy', 'recoveryTimeoutMs'], failureCounts: 'kept', state: 'closed', retryAt: null }
   */
  reconfigure(options: CircuitBreakerOptions): ReconfigureReport {
    return this.applyOptions(patchedOptions(this.options, options));
  }

  /** @internal Applies options already resolved (a family resolves them once for all its members). */
  applyOptions(next: ResolvedOptions): ReconfigureReport {
    const previous = this.options;
    const changed = differences(previous, next);
    const now = previous.clock.now();
    let failureCounts: 'kept' | 'reset' = 'kept';
    if (changed.includes('failurePolicy')) {
      const carried = carriedFailures(previous.failurePolicy, next.failurePolicy, this.policy.failureCount(now));
      this.policy = createPolicy(next.failurePolicy);
      if (carried === undefined) failureCounts = 'reset';
      else for (let i = 0; i < carried; i++) this.policy.recordFailure(now, 0);
      // Outcome listeners still want durations, whatever the new policy needs.
      this.timed = this.needsTiming();
    }
    (this as { options: ResolvedOptions }).options = next;
    // Calls in flight stay on the list they joined (it expires them with the old timeout and stops
    // by itself once empty); new calls get a list with the new one.
    if (changed.includes('timeoutMs')) {
      // Lists whose calls have all ended are let go here too: a breaker retuned again and again must
      // not hold every list it ever had.
      const retired = this.retiredDeadlines?.filter((list) => list.armed) ?? [];
      if (this.deadlines?.armed) retired.push(this.deadlines);
      this.retiredDeadlines = retired.length > 0 ? retired : undefined;
      this.deadlines = undefined;
    }
    const inner = this.inner;
    if (inner.kind === 'open' && (changed.includes('recoveryTimeoutMs') || changed.includes('openBackoff'))) {
      this.inner = { kind: 'open', openedAt: inner.openedAt, retryAt: inner.openedAt + this.openDurationMs() };
    }
    this.rejection = undefined; // it carries the old retry time
    this.refresh(now);
    const after = this.inner;
    return Object.freeze({ changed: Object.freeze(changed), failureCounts, state: after.kind, retryAt: after.kind === 'open' ? after.retryAt : null });
  }

  // --- state export, restore, sharing -----------------------------------------------------------

  /** The state, serialisable; pass it back as `initialState` to restore it. */
  toJSON(): CircuitSnapshot {
    const inner = this.inner;
    return {
      state: inner.kind,
      generation: this.generation,
      openedAt: inner.kind === 'open' || inner.kind === 'half_open' ? inner.openedAt : null,
      retryAt: inner.kind === 'open' ? inner.retryAt : null,
      failedProbes: this.failedProbes,
    };
  }

  private restore(snapshot: CircuitSnapshot): void {
    this.adopt(checkSnapshot(snapshot), this.options.clock.now());
  }

  private adopt(snapshot: CircuitSnapshot, now: number): void {
    this.generation = snapshot.generation;
    this.failedProbes = snapshot.failedProbes;
    const openedAt = snapshot.openedAt ?? now;
    switch (snapshot.state) {
      case 'closed':
        this.inner = CLOSED;
        this.policy.reset();
        break;
      case 'open':
        this.inner = { kind: 'open', openedAt, retryAt: snapshot.retryAt ?? now + this.openDurationMs() };
        break;
      case 'half_open':
        this.inner = { kind: 'half_open', openedAt, since: now, probes: [], successes: 0 };
        break;
      case 'forced_open':
        this.inner = FORCED_OPEN;
        break;
      case 'disabled':
        this.inner = DISABLED;
        break;
    }
  }

  /**
   * Adopts a peer replica's transition (called by a state store). Ignored unless its generation is
   * newer than ours, so a late or duplicated message never moves the breaker backwards.
   */
  applyRemote(snapshot: CircuitSnapshot): void {
    const checked = checkSnapshot(snapshot);
    if (checked.generation <= this.generation) return;
    const from = this.inner.kind;
    const now = this.options.clock.now();
    if (checked.state === from && from !== 'open') {
      // Same state, newer generation (a late joiner catching up, a conflict resolved elsewhere):
      // take the fleet's generation quietly — nothing changed that a log or listener should hear.
      // Counts toward the threshold are kept; calls in flight become stale.
      this.generation = checked.generation;
      this.failedProbes = checked.failedProbes;
      const inner = this.inner;
      if (inner.kind === 'half_open') this.inner = { kind: 'half_open', openedAt: inner.openedAt, since: now, probes: [], successes: 0 };
      return;
    }
    if (checked.state === 'open' && from === 'open') {
      this.generation = checked.generation;
      this.failedProbes = checked.failedProbes;
      this.adopt(checked, now);
      return;
    }
    this.adopt(checked, now);
    this.announce(from, 'remote', now);
  }

  // --- stats ------------------------------------------------------------------------------------

  /** Counters and state; see {@link CircuitBreakerStats}. */
  getStats(): CircuitBreakerStats {
    const now = this.options.clock.now();
    this.refresh(now);
    const inner = this.inner;
    const settled = this.successes + this.failures + this.rejections + this.ignored;
    return {
      state: inner.kind,
      failure_count: this.policy.failureCount(now),
      success_count: inner.kind === 'half_open' ? inner.successes : 0,
      failure_threshold: this.policy.threshold,
      total_calls: this.calls,
      total_successes: this.successes,
      total_failures: this.failures,
      total_timeouts: this.timeouts,
      total_rejections: this.rejections,
      total_ignored: this.ignored,
      in_flight: this.calls - settled + this.abandoned,
      abandoned_probes: this.abandoned,
      generation: this.generation,
      opened_at: inner.kind === 'open' || inner.kind === 'half_open' ? inner.openedAt : null,
      retry_at: inner.kind === 'open' ? inner.retryAt : null,
    };
  }

  /** @internal The state as stored, without applying the recovery timeout (no transition, no allocation). */
  get storedState(): CircuitState {
    return this.inner.kind;
  }

  /** Calls admitted and not yet settled, abandoned probes included (see {@link CircuitBreakerStats.abandoned_probes}). */
  get inFlight(): number {
    return this.calls - this.successes - this.failures - this.rejections - this.ignored + this.abandoned;
  }

  /**
   * Timers this breaker holds right now: 0 or 1, plus one per earlier timeout that calls still in
   * flight were started with (see {@link CircuitBreaker.reconfigure}); an idle breaker holds none.
   */
  get activeTimers(): number {
    const retired = this.retiredDeadlines?.filter((list) => list.armed);
    this.retiredDeadlines = retired?.length ? retired : undefined;
    return (this.deadlines?.armed ? 1 : 0) + (retired?.length ?? 0);
  }

  /**
   * Detaches from the state store and makes every call in flight stale: those calls still end as they
   * would (their deadlines still fire, so no caller waits forever) but their outcomes change nothing.
   * The deadline timer stops by itself once they have ended. A keyed family disposes the members it
   * retires; do not use a disposed breaker.
   */
  dispose(): void {
    this.store?.dispose();
    this.store = undefined;
    // Quietly: nothing to announce, nobody to tell; late outcomes just become stale.
    this.generation++;
  }

  /** The same as {@link CircuitBreaker.dispose}, so `using breaker = new CircuitBreaker(...)` works. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  // --- events -----------------------------------------------------------------------------------

  /** Every state change, including those caused by time (on the next read or call) and by peers. */
  get onStateChange(): Event<StateChangeEvent> {
    return (this.events().stateChanges ??= this.emitter()).event;
  }

  /** A call succeeded. */
  get onSuccess(): Event<CallSuccessEvent> {
    return this.outcomeEvent((this.events().successes ??= this.emitter()));
  }

  /** A call failed (error, timeout or failing result). */
  get onFailure(): Event<CallFailureEvent> {
    return this.outcomeEvent((this.events().failures ??= this.emitter()));
  }

  /** A call ended in a way that counts neither way (unexpected error, ignored result, caller abort). */
  get onIgnored(): Event<CallIgnoredEvent> {
    return this.outcomeEvent((this.events().ignored ??= this.emitter()));
  }

  /** A call was rejected without running. */
  get onReject(): Event<CallRejectedEvent> {
    return (this.events().rejections ??= this.emitter()).event;
  }

  /** A call timed out. */
  get onTimeout(): Event<CallTimeoutEvent> {
    return (this.events().timeouts ??= this.emitter()).event;
  }

  /**
   * A half-open probe was aborted — stuck past `halfOpenMaxWaitMs`, or timed out — while its function
   * still runs. It counts as a failed probe (the breaker reopens) and stays in `in_flight` and
   * `abandoned_probes` until the function settles.
   */
  get onProbeAbandoned(): Event<ProbeAbandonedEvent> {
    return (this.events().abandonedProbes ??= this.emitter()).event;
  }

  private events(): Listeners {
    return (this.listeners ??= {});
  }

  private emitter<T>(): Emitter<T> {
    return new Emitter<T>((error) => this.reportListenerError(error));
  }

  /** Outcome listeners want durations, so subscribing switches call timing on (and off again). */
  private outcomeEvent<T>(emitter: Emitter<T>): Event<T> {
    return (listener) => {
      const subscription = emitter.event(listener);
      this.timed = true;
      return toDisposable(() => {
        subscription.dispose();
        this.timed = this.needsTiming();
      });
    };
  }

  /**
   * How long calls take, for telemetry, without building an event per call: `listener` hears each timed
   * call's outcome, duration (ms) and the number of calls it stands for. By default every call is
   * timed up to 1000 a second, then one in 64 at random (see {@link DurationSampling}); `{ sampling:
   * false }` times every call. Outcome listeners (`onSuccess`, …) time every call whatever this says,
   * and so does a failure policy counting in time: then every call is heard, with weight 1.
   *
   * @example
   * const subscription = breaker.onCallDuration((outcome, ms, weight) => histogram.record(ms, weight, outcome));
   */
  onCallDuration(listener: CallDurationListener, options?: CallDurationOptions): Disposable {
    const subscription = { listener, sampling: resolveCallDurationOptions(listener, options) };
    const durations = (this.durations ??= new CallDurationListeners(
      () => this.options.random(),
      (error) => this.reportListenerError(error),
    ));
    durations.add(subscription);
    this.timed = this.needsTiming();
    let disposed = false;
    return toDisposable(() => {
      if (disposed) return;
      disposed = true;
      durations.remove(subscription);
      if (durations.size === 0 && this.durations === durations) this.durations = undefined;
      this.timed = this.needsTiming();
    });
  }

  /** Whether every call reads the clock: the policy needs time, or a listener wants every call's duration. */
  private needsTiming(): boolean {
    const l = this.listeners;
    return this.policy.needsTime || Boolean(l?.successes?.size || l?.failures?.size || l?.ignored?.size || this.durations?.everyCall);
  }

  /** A listener or classifier threw: log it as what it is, never as a state change. */
  private reportListenerError(error: unknown): void {
    const logger = this.options.logger;
    if (logger === null) return;
    try {
      const text = describeThrown(error);
      logger({
        timestamp: this.options.clock.now() / 1000,
        level: 'warning',
        event: 'listener_error',
        message: `Circuit breaker ${this.name}: a listener or classifier threw: ${text}`,
        name: this.name,
        generation: this.generation,
        state: this.inner.kind,
        error: text,
      });
    } catch {
      // nowhere left to report
    }
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * A promise that rejects one microtask from now, once the caller has attached its handler. An
 * already-rejected promise costs ~0.8 µs more here: Node's unhandled-rejection tracking records it on
 * creation and forgets it when the handler arrives — that bookkeeping would be most of a rejection.
 */
function rejectSoon<T>(reason: unknown): Promise<T> {
  return new Promise<T>((_, reject) => queueMicrotask(() => reject(reason)));
}

function checkExecuteOptions(options: ExecuteOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`execute options must be an object { signal? }; got ${describeValue(options)}`);
  }
  const signal = options.signal as unknown;
  if (signal !== undefined && !(typeof signal === 'object' && signal !== null && typeof (signal as AbortSignal).aborted === 'boolean' && typeof (signal as AbortSignal).addEventListener === 'function')) {
    throw new TypeError(`execute options: signal must be an AbortSignal or undefined; got ${describeValue(signal)}`);
  }
}

function isResolved(options: unknown): options is ResolvedOptions {
  return typeof options === 'object' && options !== null && RESOLVED.has(options);
}

/** Resolved option objects, so a family can share one without re-validating it per breaker. */
const RESOLVED = new WeakSet<object>();

/** Validates options once so many breakers can share the result (identical configurations share one object). */
export function sharedOptions(options?: CircuitBreakerInit): ResolvedOptions {
  const resolved = internOptions(resolveOptions(options));
  RESOLVED.add(resolved);
  return resolved;
}

/**
 * How many failures a new policy starts with: all of them for the same policy, a consecutive count
 * carried to a new consecutive threshold (at most one below it: a change of threshold alone never
 * opens a breaker), undefined (start afresh) for another kind or window of policy.
 */
function carriedFailures(from: FailurePolicySpec, to: FailurePolicySpec, counted: number): number | undefined {
  if (from.type !== 'consecutive' || to.type !== 'consecutive') return undefined;
  return Math.min(counted, to.threshold - 1);
}

/** `current` patched by `reconfigure`'s options, resolved for sharing like {@link sharedOptions}. */
export function patchedOptions(current: ResolvedOptions, patch: CircuitBreakerOptions): ResolvedOptions {
  const resolved = patchOptions(current, patch);
  RESOLVED.add(resolved);
  return resolved;
}

function removeOne(values: number[], value: number): void {
  const i = values.indexOf(value);
  // NaN never matches indexOf; any entry will do then, since only the count and the oldest matter.
  values.splice(i === -1 ? 0 : i, values.length === 0 ? 0 : 1);
}

function checkSnapshot(snapshot: CircuitSnapshot): CircuitSnapshot {
  if (typeof snapshot !== 'object' || snapshot === null) {
    throw new TypeError(`initialState must be a snapshot from toJSON(); got ${describeValue(snapshot)}`);
  }
  if (!CIRCUIT_STATES.includes(snapshot.state)) {
    throw new RangeError(`initialState.state must be one of ${CIRCUIT_STATES.join(', ')}; got ${describeValue(snapshot.state)}`);
  }
  checkInteger('initialState.generation', snapshot.generation, 0);
  checkInteger('initialState.failedProbes', snapshot.failedProbes, 0);
  for (const key of ['openedAt', 'retryAt'] as const) {
    const value = snapshot[key];
    if (value !== null && (typeof value !== 'number' || !Number.isFinite(value))) {
      throw new TypeError(`initialState.${key} must be an epoch-ms number or null; got ${describeValue(value)}`);
    }
  }
  return snapshot;
}
