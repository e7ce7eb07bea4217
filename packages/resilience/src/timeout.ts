import type { CircuitBreakerRegistry, Clock } from '@phlow/circuit-breaker';
import { checkDurationMs } from '@phlow/circuit-breaker/internal';
import { TimeoutError } from './errors.js';
import { type After, CALL, Context, invoke, type Next, parentOf, type Policy, type PolicyContext, type PolicyExecuteOptions, rejectSoon, RUN, settleWith } from './policy.js';
import { checkOptionsObject, resolveClock, resolvePolicyOptions, TIMED_POLICY_OPTION_NAMES, type TimedPolicyOptions } from './policy-options.js';

/** Options of {@link timeout} (besides the duration). */
export type TimeoutOptions = TimedPolicyOptions;

/**
 * Gives up on a call after `timeoutMs`: its signal aborts with a {@link TimeoutError} and the caller
 * gets that error at once, whether or not the function honours the abort. Put it inside a `retry` to
 * bound each attempt, outside to bound them all.
 */
export class Timeout implements Policy {
  readonly name: string;
  readonly timeoutMs: number;
  private readonly registry: CircuitBreakerRegistry;
  private readonly clock: Clock;

  constructor(timeoutMs: number, options?: TimeoutOptions) {
    const o = checkOptionsObject<TimeoutOptions>('timeout', options, TIMED_POLICY_OPTION_NAMES, false);
    ({ name: this.name, registry: this.registry } = resolvePolicyOptions('timeout', o));
    this.timeoutMs = checkDurationMs('timeout: timeoutMs', timeoutMs, 1);
    this.clock = resolveClock('timeout', o.clock);
  }

  /** Runs `fn`, giving up on it after `timeoutMs`. */
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
    const controller = new AbortController();
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const finish = () => {
        settled = true;
        this.clock.clearTimeout(timer);
        parentSignal?.removeEventListener('abort', onParentAbort);
      };
      const onParentAbort = () => {
        if (settled) return;
        finish();
        controller.abort(parentSignal!.reason);
        reject(parentSignal!.reason);
      };
      const timer = this.clock.setTimeout(() => {
        if (settled) return;
        finish();
        const error = new TimeoutError(this.name, this.timeoutMs);
        if (this.registry.policyEventsObserved) {
          this.registry.reportPolicyEvent({ type: 'timeout', policyKind: 'timeout', policy: this.name, time: this.clock.now(), timeoutMs: this.timeoutMs });
        }
        controller.abort(error);
        reject(error);
      }, this.timeoutMs);
      parentSignal?.addEventListener('abort', onParentAbort, { once: true });
      invoke(next, fn, new Context(controller.signal, parent?.attempt ?? 1)).then(
        (value) => {
          if (settled) return;
          finish();
          resolve(value);
        },
        (error: unknown) => {
          if (settled) return;
          finish();
          reject(error);
        },
      );
    });
  }
}

/** A {@link Timeout} policy of `timeoutMs`. */
export function timeout(timeoutMs: number, options?: TimeoutOptions): Timeout {
  return new Timeout(timeoutMs, options);
}
