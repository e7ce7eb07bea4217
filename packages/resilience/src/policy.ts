import { describeValue, untilAborted } from '@phlow/circuit-breaker/internal';

/** What a function run through a policy or a pipeline receives. */
export interface PolicyContext {
  /**
   * Aborts when the caller's signal aborts, a `timeout` policy gives up, or a `hedge` drops this
   * attempt. Pass it on to `fetch` and friends. Without any of them it never aborts (a fresh signal
   * per read: a function that never reads it pays nothing).
   */
  readonly signal: AbortSignal;
  /** The attempt this call is, from 1: set by the nearest `retry` or `hedge` around it, else 1. */
  readonly attempt: number;
}

/** Options of one `execute` call. */
export interface PolicyExecuteOptions {
  /** The caller's signal: its abort ends the call at once with the signal's reason. */
  readonly signal?: AbortSignal | undefined;
}

/** Anything that runs a function with `execute(fn, { signal })`: a policy, a pipeline, a `CircuitBreaker`. */
export interface Executable<C = { readonly signal: AbortSignal }> {
  execute<T>(fn: (context: C) => T | PromiseLike<T>, options?: { readonly signal?: AbortSignal }): Promise<T>;
}

/**
 * Where a call's signal comes from, without creating one: a real signal, a foreign context (a breaker's,
 * whose signal is created on first read) or nothing (the call cannot be aborted).
 */
export type SignalSource = AbortSignal | { readonly signal: AbortSignal } | undefined;

/** @internal How our policies run inside a pipeline: with the parent's context, no options object. */
export const RUN = Symbol('phlow.resilience.run');

/**
 * Called once, synchronously, just before a policy's promise settles: how an outer bulkhead releases
 * its slot without a promise hop of its own (see `Pipeline`).
 */
export type After = () => void;

/** A function run through a policy. */
export type Fn<T> = (context: PolicyContext) => T | PromiseLike<T>;

/**
 * How a policy runs the function in a context: a plain call, or — inside a pipeline — the layers
 * within it. Passing it along (instead of wrapping `fn` in a closure per layer) keeps a pipeline call
 * free of per-layer allocations.
 */
export type Next = <T>(fn: Fn<T>, context: Context) => T | PromiseLike<T>;

/** The plain {@link Next}: calls the function. */
export const CALL: Next = (fn, context) => fn(context);

/** A policy of this package. */
export interface Policy extends Executable<PolicyContext> {
  /** @internal Runs `next(fn, context)` under the policy, `after` called as it settles. */
  [RUN]<T>(fn: Fn<T>, parent: Context | undefined, after: After | undefined, next: Next): Promise<T>;
}

/** `promise` with `after` called as it settles (for policies with no callbacks of their own to call it from). */
export function settleWith<T>(promise: Promise<T>, after: After | undefined): Promise<T> {
  if (after === undefined) return promise;
  return promise.then(
    (value) => {
      after();
      return value;
    },
    (error: unknown) => {
      after();
      throw error;
    },
  );
}

/**
 * The context a policy hands on. The signal is resolved on read so a call that never reads it costs
 * nothing; {@link Context.source} lets a policy look for a real signal without making one.
 */
export class Context implements PolicyContext {
  constructor(
    readonly source: SignalSource,
    readonly attempt: number,
  ) {}

  get signal(): AbortSignal {
    const source = this.source;
    if (source === undefined) return new AbortController().signal;
    return source instanceof AbortSignal ? source : source.signal;
  }

  /** The real signal, created if the source is a lazy one; undefined when nothing can abort the call. */
  abortSignal(): AbortSignal | undefined {
    const source = this.source;
    if (source === undefined || source instanceof AbortSignal) return source;
    return source.signal;
  }
}

/** The context of a first attempt nobody can abort: shared, so the plain path allocates nothing. */
export const FIRST_ATTEMPT = new Context(undefined, 1);

/** The context for `fn` with the parent's signal and `attempt`, reusing one where it fits. */
export function contextFor(parent: Context | undefined, attempt: number): Context {
  if (parent === undefined) return attempt === 1 ? FIRST_ATTEMPT : new Context(undefined, attempt);
  return parent.attempt === attempt ? parent : new Context(parent.source, attempt);
}

/** A public `execute`'s options as the parent context of the call (undefined: nothing to carry). */
export function parentOf(options: PolicyExecuteOptions | undefined): Context | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`execute options must be an object { signal? }; got ${describeValue(options)}`);
  }
  const signal = options.signal;
  if (signal === undefined) return undefined;
  if (!(signal instanceof AbortSignal)) {
    throw new TypeError(`execute options: signal must be an AbortSignal or undefined; got ${describeValue(signal)}`);
  }
  return new Context(signal, 1);
}

/** Whether `value` is a policy of this package (it runs inside a pipeline without an options object). */
export function isPolicy(value: unknown): value is Policy {
  return typeof value === 'object' && value !== null && typeof (value as Partial<Policy>)[RUN] === 'function';
}

/** A rejected promise one microtask later: an already-rejected promise costs more in Node's bookkeeping. */
export function rejectSoon(error: unknown): Promise<never> {
  return Promise.resolve().then(() => {
    throw error;
  });
}

/**
 * `result` as a promise. `instanceof` and `Promise.resolve` run the caller's code (a Proxy's traps, an
 * own `then` getter): whatever they throw becomes the call's rejection, never a synchronous throw that
 * would leave a slot taken or a call counted.
 */
export function asPromise<T>(result: T | PromiseLike<T>): Promise<T> {
  try {
    return result instanceof Promise ? result : Promise.resolve(result);
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Runs `next(fn, context)`, turning a synchronous throw or a foreign thenable into a promise. */
export function invoke<T>(next: Next, fn: Fn<T>, context: Context): Promise<T> {
  let result: T | PromiseLike<T>;
  try {
    result = next(fn, context);
    if (result instanceof Promise) return result;
    return Promise.resolve(result);
  } catch (error) {
    return rejectSoon(error);
  }
}

/** A public `execute`'s promise: with a caller signal, its abort ends the call at once, whatever the function does. */
export function endOnAbort<T>(promise: Promise<T>, parent: Context | undefined): Promise<T> {
  return untilAborted(promise, parent?.abortSignal());
}
