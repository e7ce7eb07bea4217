import { describeValue } from '@phlow/circuit-breaker/internal';
import { Bulkhead } from './bulkhead.js';
import { type After, Context, endOnAbort, type Executable, FIRST_ATTEMPT, type PolicyContext, type PolicyExecuteOptions, parentOf, type Policy, RUN, isPolicy, settleWith, CALL, type Next } from './policy.js';

type Layer = (fn: (context: PolicyContext) => unknown, parent: Context | undefined, after?: After) => unknown;

/**
 * Policies and breakers composed into one, outermost first: `pipeline(bulkhead, retry, breaker)` runs
 * a call in a bulkhead slot, retries inside the slot, and sends each attempt through the breaker (so the
 * breaker counts every attempt, and an open breaker's rejection reaches the retry, which never retries
 * it). One signal runs through all of them: the caller's, narrowed by each `timeout` or `hedge` on the
 * way in; the function receives `{ signal, attempt }`. With a caller signal, its abort ends the
 * pipeline at once, whatever the layers inside do.
 */
export class Pipeline implements Policy {
  /** The layers, outermost first. */
  readonly layers: readonly Executable<unknown>[];
  private readonly run: Layer;
  /** Whether the outermost layer is ours: it returns a promise (a throwing clock of yours aside). */
  private readonly settles: boolean;

  constructor(layers: readonly Executable<unknown>[]) {
    for (const [index, layer] of layers.entries()) {
      if (typeof layer !== 'object' || layer === null || typeof (layer as Partial<Executable>).execute !== 'function') {
        throw new TypeError(`pipeline: layer ${index} must have execute(fn, { signal }) (a policy or a CircuitBreaker); got ${describeValue(layer)}`);
      }
    }
    this.layers = [...layers];
    // Compiled once, innermost first: a call allocates one callback per layer and nothing else.
    let run: Layer = callInContext;
    for (let i = layers.length - 1; i >= 0; i--) run = wrapLayer(layers[i]!, run, layers[i + 1]);
    this.run = run;
    this.settles = layers.length > 0 && isPolicy(layers[0]);
  }

  /** Runs `fn` through every layer. */
  execute<T>(fn: (context: PolicyContext) => T | PromiseLike<T>, options?: PolicyExecuteOptions): Promise<T> {
    const parent = parentOf(options);
    return endOnAbort(this.settled(fn, parent), parent);
  }

  /** @internal */
  [RUN]<T>(fn: (context: PolicyContext) => T | PromiseLike<T>, parent: Context | undefined, after: After | undefined, next: Next): Promise<T> {
    // Nested: run our layers, then whatever runs around the function outside (`next`).
    return settleWith(this.settled(next === CALL ? fn : (context) => next(fn, context as Context), parent), after);
  }

  private settled<T>(fn: (context: PolicyContext) => T | PromiseLike<T>, parent: Context | undefined): Promise<T> {
    try {
      if (this.settles) return this.run(fn as (context: PolicyContext) => unknown, parent) as Promise<T>;
      const result = this.run(fn as (context: PolicyContext) => unknown, parent) as T | PromiseLike<T>;
      return result instanceof Promise ? result : Promise.resolve(result);
    } catch (error) {
      return Promise.reject(error);
    }
  }
}

function wrapLayer(layer: Executable<unknown>, next: Layer, inner: Executable<unknown> | undefined): Layer {
  if (layer instanceof Bulkhead && inner !== undefined && isPolicy(inner)) {
    // A bulkhead around one of our policies: that policy releases the slot from its own settle
    // callbacks, which saves the bulkhead's promise hop on every call.
    // (`next` runs that policy, handing it `after`.)
    const bulk = layer;
    return (fn, parent, after) => {
      if (after === undefined && bulk.tryAcquireSlot()) {
        try {
          return next(fn, parent, bulk.releaseSlot);
        } catch (error) {
          // A policy throws synchronously only before it has taken `after` (a clock of yours that
          // throws): its slot must come back, or the bulkhead loses it for good.
          bulk.releaseSlot();
          throw error;
        }
      }
      return bulk[RUN](fn, parent, after, next as Next);
    };
  }
  if (isPolicy(layer)) {
    const policy: Policy = layer;
    // The policy runs `next` (the layers within it) itself: no closure per call.
    return (fn, parent, after) => policy[RUN](fn, parent, after, next as Next);
  }
  // A breaker (or anything with execute): hand it the signal only when there is one, so a breaker
  // without a timeout stays on its fastest path; its context's signal (created on read) flows inward.
  // Such a breaker hands every call the same context object: keep the last wrapper of it, so the
  // plain path allocates no context per call.
  let lastForeign: unknown;
  let lastWrapped: Context | undefined;
  const innermost = next === callInContext;
  return (fn, parent) => {
    const attempt = parent === undefined ? 1 : parent.attempt;
    const signal = parent === undefined || parent.source === undefined ? undefined : parent.abortSignal();
    return layer.execute(
      (context) => {
        if (context !== lastForeign || lastWrapped!.attempt !== attempt) {
          lastForeign = context;
          lastWrapped = new Context(context as { readonly signal: AbortSignal }, attempt);
        }
        return innermost ? fn(lastWrapped!) : next(fn, lastWrapped!);
      },
      signal === undefined ? undefined : { signal },
    );
  };
}

/** The innermost layer: the function itself. */
const callInContext: Layer = (fn, parent) => fn(parent ?? FIRST_ATTEMPT);

/** Composes `layers` (policies, breakers, pipelines), outermost first, into one {@link Pipeline}. */
export function pipeline(...layers: Executable<unknown>[]): Pipeline {
  return new Pipeline(layers);
}
