import type { CircuitBreakerRegistry, Clock, TimerHandle } from '@phlow/circuit-breaker';
import { checkDurationMs, checkFunction, checkInteger, describeValue } from '@phlow/circuit-breaker/internal';
import { HedgeLostError } from './errors.js';
import { type After, CALL, Context, invoke, type Next, parentOf, type Policy, type PolicyContext, type PolicyExecuteOptions, rejectSoon, RUN, settleWith } from './policy.js';
import { checkOptionsObject, resolveClock, resolvePolicyOptions, TIMED_POLICY_OPTION_NAMES, type TimedPolicyOptions } from './policy-options.js';

/** Options of {@link hedge}. */
export interface HedgeOptions extends TimedPolicyOptions {
  /**
   * How long to wait for an answer before starting another attempt (ms): a number, or a function read
   * at each hedge (the dependency's p95 latency, say). A function that throws or returns anything but a
   * finite number >= 0 means "do not hedge this time".
   */
  readonly delayMs: number | (() => number);
  /** Extra attempts at most (an integer >= 1). Default 1. */
  readonly maxHedged?: number | undefined;
}

/**
 * Tail-latency hedging: if no answer came after `delayMs`, start another attempt beside the first;
 * the first attempt to answer wins and the others are aborted (their signals abort with a
 * {@link HedgeLostError}). It is for slow answers, not failures: when every started attempt failed,
 * the caller gets the first failure at once. Hedge only idempotent calls (reads), since every
 * attempt may reach the dependency. `attempt` in the context numbers the attempts from 1.
 */
export class Hedge implements Policy {
  readonly name: string;
  readonly maxHedged: number;
  private readonly delay: () => number;
  private readonly registry: CircuitBreakerRegistry;
  private readonly clock: Clock;
  private readonly lost: HedgeLostError;

  constructor(options: HedgeOptions) {
    const o = checkOptionsObject<HedgeOptions>('hedge', options, [...TIMED_POLICY_OPTION_NAMES, 'delayMs', 'maxHedged'], true);
    ({ name: this.name, registry: this.registry } = resolvePolicyOptions('hedge', o));
    if (typeof o.delayMs === 'number') {
      const ms = checkDurationMs('hedge: delayMs', o.delayMs);
      this.delay = () => ms;
    } else if (typeof o.delayMs === 'function') {
      this.delay = checkFunction<() => number>('hedge: delayMs', o.delayMs);
    } else {
      throw new TypeError(`hedge: delayMs must be a duration in ms or a function returning one; got ${describeValue(o.delayMs)}`);
    }
    this.maxHedged = o.maxHedged === undefined ? 1 : checkInteger('hedge: maxHedged', o.maxHedged, 1, 100);
    this.clock = resolveClock('hedge', o.clock);
    this.lost = HedgeLostError.create(this.name);
  }

  /** Runs `fn`, hedging it after `delayMs`; the first answer wins. */
  execute<T>(fn: (context: PolicyContext) => T | PromiseLike<T>, options?: PolicyExecuteOptions): Promise<T> {
    return this[RUN](fn, parentOf(options), undefined, CALL);
  }

  /** @internal */
  [RUN]<T>(fn: (context: PolicyContext) => T | PromiseLike<T>, parent: Context | undefined, after: After | undefined, next: Next): Promise<T> {
    return settleWith(this.run(fn, parent, next), after);
  }

  private run<T>(fn: (context: PolicyContext) => T | PromiseLike<T>, parent: Context | undefined, next: Next): Promise<T> {
    const parentSignal = parent?.abortSignal();
    if (parentSignal?.aborted) return rejectSoon(parentSignal.reason);
    return new Promise<T>((resolve, reject) => {
      const controllers: AbortController[] = [];
      let pending = 0;
      let done = false;
      let timer: TimerHandle | undefined;
      let firstFailure: { error: unknown } | undefined;
      const finish = (winner: AbortController | undefined, reason: unknown) => {
        done = true;
        if (timer !== undefined) this.clock.clearTimeout(timer);
        parentSignal?.removeEventListener('abort', onParentAbort);
        for (const controller of controllers) if (controller !== winner) controller.abort(reason);
      };
      const onParentAbort = () => {
        if (done) return;
        finish(undefined, parentSignal!.reason);
        reject(parentSignal!.reason);
      };
      const schedule = () => {
        timer = undefined;
        if (controllers.length > this.maxHedged) return;
        let ms: number;
        try {
          ms = this.delay();
        } catch {
          return;
        }
        if (typeof ms !== 'number' || !(ms >= 0) || ms > 2_147_483_647) return;
        timer = this.clock.setTimeout(launch, ms);
      };
      const launch = () => {
        const controller = new AbortController();
        controllers.push(controller);
        const attempt = controllers.length;
        pending++;
        if (attempt > 1 && this.registry.policyEventsObserved) this.report('hedged', attempt);
        invoke(next, fn, new Context(controller.signal, attempt)).then(
          (value) => {
            if (done) return;
            finish(controller, this.lost);
            if (this.registry.policyEventsObserved) this.report('won', attempt);
            resolve(value);
          },
          (error: unknown) => {
            pending--;
            if (done) return;
            firstFailure ??= { error };
            if (pending === 0) {
              finish(undefined, this.lost);
              reject(firstFailure.error);
            }
          },
        );
        if (!done) schedule();
      };
      parentSignal?.addEventListener('abort', onParentAbort, { once: true });
      launch();
    });
  }

  private report(action: 'hedged' | 'won', attempt: number): void {
    this.registry.reportPolicyEvent({ type: 'hedge', policyKind: 'hedge', policy: this.name, time: this.clock.now(), action, attempt });
  }
}

/** A {@link Hedge} policy. */
export function hedge(options: HedgeOptions): Hedge {
  return new Hedge(options);
}
