import { CircuitBreakerError, type CircuitBreakerRegistry, CircuitTimeoutError, isTransient } from '@phlow/circuit-breaker';
import { checkFunction, describeValue, untilAborted } from '@phlow/circuit-breaker/internal';
import { FallbackExhaustedError, type TierFailure, TimeoutError } from './errors.js';
import { FIRST_ATTEMPT, type PolicyContext, type PolicyExecuteOptions, parentOf } from './policy.js';
import { checkOptionsObject, POLICY_OPTION_NAMES, type PolicyOptions, resolvePolicyOptions } from './policy-options.js';
import { isRejection } from './rejection.js';

/** One source of a fallback chain. */
export interface FallbackTier<T, I = unknown> {
  /** Names the tier in the result, the events and the errors (`"registry"`, `"did"`, `"last-known"`). */
  readonly name: string;
  /**
   * Gets the answer: receives the caller's signal and the call's `input` (what to look up). Usually a
   * breaker's or a pipeline's `execute`.
   */
  readonly run: (context: PolicyContext, input: I) => T | PromiseLike<T>;
}

/** Options of one {@link Fallback.execute} call. */
export interface FallbackExecuteOptions<I> extends PolicyExecuteOptions {
  /** Handed to every tier's `run` (a peer id, a key). */
  readonly input?: I;
}

/**
 * Which failures fall through to the next tier: `kind` `'error'` for what a tier threw, `'result'` for
 * what it returned. Default: every error, and the results our adapters mark transient. Rejections and
 * breaker errors always fall through. If it throws, an error falls through and a result is kept.
 */
export type FallThroughClassifier = (failure: unknown, kind: 'error' | 'result') => boolean;

/** Options of {@link fallback}. */
export interface FallbackOptions extends PolicyOptions {
  readonly fallThroughOn?: FallThroughClassifier | undefined;
}

/** What a fallback chain answered, and from where. */
export interface FallbackResult<T> {
  readonly value: T;
  /** The name of the tier that answered. */
  readonly tier: string;
  /** Its position, 0 for the primary. */
  readonly tierIndex: number;
  /** The tiers tried before it, with why each did not answer (empty when the primary did). */
  readonly skipped: readonly TierFailure[];
}

// Any: a tier's parameter types are checked where it is written; here only its value and input are read.
type AnyTier = FallbackTier<any, any>;
type TierValue<Tiers extends readonly AnyTier[]> = Awaited<ReturnType<Tiers[number]['run']>>;
/** The input every tier accepts: inferred from a contravariant position, so it is the intersection of theirs. */
type TierInput<Tiers extends readonly AnyTier[]> = Tiers[number] extends { run: (context: PolicyContext, input: infer I) => unknown } ? I : never;
/** `execute`'s arguments: the options, with `input` required when a tier needs one. */
type ExecuteArgs<I> = undefined extends I ? [options?: FallbackExecuteOptions<I>] : [options: FallbackExecuteOptions<I> & { readonly input: I }];

const defaultFallThrough: FallThroughClassifier = (failure, kind) => kind === 'error' || isTransient(failure);

/**
 * The guide's "primary → backup → cache": tries each tier in order and answers from the first that
 * succeeds, telling the caller which one did and why the others did not. When every tier fails it
 * rejects with {@link FallbackExhaustedError} (`failures`: each tier's reason and failure). An error the
 * classifier does not let fall through, or the caller's abort, reaches the caller at once.
 */
export class Fallback<T, I = unknown> {
  readonly name: string;
  readonly tiers: readonly FallbackTier<T, I>[];
  private readonly registry: CircuitBreakerRegistry;
  private readonly fallThroughOn: FallThroughClassifier;

  constructor(tiers: readonly FallbackTier<T, I>[], options?: FallbackOptions) {
    const o = checkOptionsObject<FallbackOptions>('fallback', options, [...POLICY_OPTION_NAMES, 'fallThroughOn'], false);
    ({ name: this.name, registry: this.registry } = resolvePolicyOptions('fallback', o));
    this.fallThroughOn = o.fallThroughOn === undefined ? defaultFallThrough : checkFunction('fallback: fallThroughOn', o.fallThroughOn);
    if (tiers.length === 0) throw new RangeError('fallback needs at least one tier; got none');
    const names = new Set<string>();
    for (const [index, tier] of tiers.entries()) {
      if (typeof tier !== 'object' || tier === null || typeof tier.run !== 'function' || typeof tier.name !== 'string' || tier.name === '') {
        throw new TypeError(`fallback: tier ${index} must be { name: non-empty string, run: function }; got ${describeValue(tier)}`);
      }
      if (names.has(tier.name)) throw new RangeError(`fallback: tier names must be unique; ${JSON.stringify(tier.name)} appears twice`);
      names.add(tier.name);
    }
    this.tiers = [...tiers];
  }

  /** Tries the tiers in order; see {@link Fallback}. */
  execute(...args: ExecuteArgs<I>): Promise<FallbackResult<T>> {
    const options = args[0] as FallbackExecuteOptions<I> | undefined;
    const parent = parentOf(options);
    return this.run(parent, options?.input as I);
  }

  private async run(parent: ReturnType<typeof parentOf>, input: I): Promise<FallbackResult<T>> {
    const signal = parent?.abortSignal();
    const context = parent ?? FIRST_ATTEMPT;
    const skipped: TierFailure[] = [];
    for (let index = 0; index < this.tiers.length; index++) {
      const tier = this.tiers[index]!;
      if (signal?.aborted) throw signal.reason;
      let value: T;
      try {
        value = await untilAborted(tier.run(context, input), signal);
      } catch (error) {
        if (signal?.aborted) throw error;
        const reason = this.errorReason(error);
        if (reason === undefined) throw error;
        skipped.push({ tier: tier.name, reason, failure: error });
        continue;
      }
      if (this.fails(value, 'result')) {
        skipped.push({ tier: tier.name, reason: 'result', failure: value });
        continue;
      }
      if (index > 0) this.report(tier.name, index, skipped);
      return { value, tier: tier.name, tierIndex: index, skipped };
    }
    this.report(null, null, skipped);
    throw new FallbackExhaustedError(this.name, skipped);
  }

  private errorReason(error: unknown): TierFailure['reason'] | undefined {
    if (isRejection(error)) return 'rejected';
    if (TimeoutError.isInstance(error) || CircuitTimeoutError.isInstance(error)) return 'timeout';
    if (CircuitBreakerError.isInstance(error)) return 'rejected';
    return this.fails(error, 'error') ? 'error' : undefined;
  }

  private fails(failure: unknown, kind: 'error' | 'result'): boolean {
    try {
      return this.fallThroughOn(failure, kind) === true;
    } catch {
      return kind === 'error';
    }
  }

  private report(tier: string | null, tierIndex: number | null, skipped: readonly TierFailure[]): void {
    if (!this.registry.policyEventsObserved) return;
    this.registry.reportPolicyEvent({
      type: 'fallback',
      policyKind: 'fallback',
      policy: this.name,
      time: Date.now(),
      tier,
      tierIndex,
      skipped: skipped.map((s) => ({ tier: s.tier, reason: s.reason })),
    });
  }
}

/**
 * A fallback chain of `tiers`, tried in order. Pass options first if you need them:
 * `fallback({ name: 'peer-lookup' }, registryTier, didTier, lastKnownTier)`.
 */
export function fallback<Tiers extends readonly AnyTier[]>(...tiers: Tiers): Fallback<TierValue<Tiers>, TierInput<Tiers>>;
export function fallback<Tiers extends readonly AnyTier[]>(options: FallbackOptions, ...tiers: Tiers): Fallback<TierValue<Tiers>, TierInput<Tiers>>;
export function fallback(...args: unknown[]): Fallback<unknown> {
  const first = args[0];
  const hasOptions = typeof first === 'object' && first !== null && !('run' in first);
  return hasOptions
    ? new Fallback(args.slice(1) as FallbackTier<unknown>[], first as FallbackOptions)
    : new Fallback(args as FallbackTier<unknown>[]);
}

