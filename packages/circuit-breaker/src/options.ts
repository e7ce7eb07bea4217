import type { CircuitSnapshot } from './circuit-state.js';
import { systemClock, type Clock } from './clock.js';
import type { FailurePolicySpec } from './failure-policy.js';
import { jsonLineLogger, type CircuitLogger } from './json-logger.js';
import type { CircuitStateStore } from './state-store.js';
import {
  checkDurationMs,
  checkFunction,
  checkInteger,
  checkKnownKeys,
  checkNumber,
  checkOneOf,
  describeValue,
} from './validate.js';

/** How one call ended, as far as the breaker is concerned. `ignored` is neither success nor failure. */
export type Outcome = 'success' | 'failure' | 'ignored';

/** Any error class (`TypeError`, a class of yours, an SDK's error class). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ErrorClass = abstract new (...args: any[]) => unknown;

/**
 * Which errors count as failures — the guide's `expected_exception`: a class, a list of classes, or a
 * predicate. Errors that do not match are passed to the caller and ignored by the breaker.
 */
export type ExpectedError = ErrorClass | readonly ErrorClass[] | ((error: unknown) => boolean);

/** Exponential growth of the open duration after failed probes. */
export interface OpenBackoffOptions {
  /** The longest the breaker stays open between probes (ms). */
  readonly maxMs: number;
  /** Each failed probe multiplies the open duration by this (default 2). */
  readonly multiplier?: number;
  /** Fraction of the duration taken off at random, so replicas do not probe in step (default 0.2). */
  readonly jitter?: number;
}

/**
 * Options of one breaker. Names follow the guide in camelCase with the unit on durations; defaults
 * are the guide's (5 failures, 60 s recovery, 30 s timeout).
 */
export interface CircuitBreakerOptions {
  /** Open after this many failures in a row (the guide's policy). Default 5. */
  readonly failureThreshold?: number;
  /** Another failure policy (count or time window, slow calls). Do not combine with `failureThreshold`. */
  readonly failurePolicy?: FailurePolicySpec;
  /** How long the breaker stays open before a probe is let through (ms). Default 60 000. */
  readonly recoveryTimeoutMs?: number;
  /** A call that has not settled after this long fails with `CircuitTimeoutError` (ms); 0 turns it off. Default 30 000. */
  readonly timeoutMs?: number;
  /** Which errors count as failures (others are ignored). Default: every error. */
  readonly expectedError?: ExpectedError;
  /** Judges a returned value: e.g. a supabase-js `{ error }` result or a 5xx `Response` is a failure. */
  readonly classifyResult?: (value: unknown) => Outcome;
  /** Trial calls allowed in flight while half-open; excess calls are rejected at once. Default 1. */
  readonly halfOpenMaxCalls?: number;
  /** Successful trial calls needed to close. Default 1. */
  readonly successThreshold?: number;
  /**
   * A trial call still unsettled after this long (ms) counts as a failed probe, so a probe that never
   * settles cannot wedge the breaker half-open. Default: `timeoutMs`, or `recoveryTimeoutMs` when the
   * timeout is off.
   */
  readonly halfOpenMaxWaitMs?: number;
  /** Grow the open duration after repeated failed probes; off (constant `recoveryTimeoutMs`) by default. */
  readonly openBackoff?: OpenBackoffOptions | false;
  /** Time source (inject a fake one in tests). */
  readonly clock?: Clock;
  /** Random source for backoff jitter, in [0, 1). */
  readonly random?: () => number;
  /** Receives state-change log entries; `false` turns logging off. Default: JSON lines on stderr. */
  readonly logger?: CircuitLogger | false;
  /** Shares state with other replicas (e.g. on Redis). */
  readonly stateStore?: CircuitStateStore;
}

/** Options of one breaker instance that are not part of its configuration. */
export interface CircuitBreakerInit extends CircuitBreakerOptions {
  /** Start from an exported state (`breaker.toJSON()`). */
  readonly initialState?: CircuitSnapshot;
}

/** Options after defaults and validation; shared by every breaker of a family. */
export interface ResolvedOptions {
  readonly failurePolicy: FailurePolicySpec;
  readonly recoveryTimeoutMs: number;
  readonly timeoutMs: number;
  readonly expectedError: ExpectedError | undefined;
  readonly classifyError: (error: unknown) => Outcome;
  readonly classifyResult: ((value: unknown) => Outcome) | undefined;
  readonly halfOpenMaxCalls: number;
  readonly successThreshold: number;
  readonly halfOpenMaxWaitMs: number;
  readonly openBackoff: Required<OpenBackoffOptions> | null;
  readonly clock: Clock;
  readonly random: () => number;
  readonly logger: CircuitLogger | null;
  readonly stateStore: CircuitStateStore | undefined;
}

/** Every option name `CircuitBreakerInit` accepts (adapters that pass options through check against it). */
export const CIRCUIT_BREAKER_OPTION_NAMES = [
  'failureThreshold',
  'failurePolicy',
  'recoveryTimeoutMs',
  'timeoutMs',
  'expectedError',
  'classifyResult',
  'halfOpenMaxCalls',
  'successThreshold',
  'halfOpenMaxWaitMs',
  'openBackoff',
  'clock',
  'random',
  'logger',
  'stateStore',
  'initialState',
] as const;

export const DEFAULTS = { failureThreshold: 5, recoveryTimeoutMs: 60_000, timeoutMs: 30_000 } as const;

/** What each option accepts, for the error a `null` gets (null never means "default" or "off"). */
const ACCEPTS: Record<(typeof CIRCUIT_BREAKER_OPTION_NAMES)[number], string> = {
  failureThreshold: 'an integer >= 1',
  failurePolicy: 'a failure policy object { type, ... }',
  recoveryTimeoutMs: 'a duration in ms >= 0',
  timeoutMs: 'a duration in ms (0 turns the timeout off)',
  expectedError: 'an error class, a list of error classes or a predicate',
  classifyResult: 'a function (value) => outcome',
  halfOpenMaxCalls: 'an integer >= 1',
  successThreshold: 'an integer >= 1',
  halfOpenMaxWaitMs: 'a duration in ms >= 1',
  openBackoff: 'an object { maxMs, multiplier?, jitter? }, or false for no backoff',
  clock: 'a clock { now, monotonicNow?, setTimeout, clearTimeout }',
  random: 'a function returning a number in [0, 1)',
  logger: 'a function (entry) => void, or false for no logging',
  stateStore: 'a state store { connect }',
  initialState: 'a snapshot from toJSON()',
};

/**
 * `null` is refused for every option: `??` would quietly read it as "use the default" (so
 * `timeoutMs: null` meant 30 s, not off). Leave an option out, or pass `undefined`, for its default.
 */
function refuseNulls(options: object): void {
  for (const [key, value] of Object.entries(options)) {
    if (value === null) {
      const accepts = ACCEPTS[key as keyof typeof ACCEPTS];
      throw new TypeError(`${key} must be ${accepts}; got null (leave the option out, or pass undefined, for its default)`);
    }
  }
}

const defaultLogger = jsonLineLogger();
const countEverything = (): Outcome => 'failure';

/** Applies the guide's defaults and validates; throws a RangeError/TypeError naming the bad option. */
export function resolveOptions(options: CircuitBreakerInit = {}): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`circuit breaker options must be an object; got ${describeValue(options)}`);
  }
  checkKnownKeys('circuit breaker options', options, CIRCUIT_BREAKER_OPTION_NAMES);
  refuseNulls(options);
  if (options.failureThreshold !== undefined && options.failurePolicy !== undefined) {
    throw new TypeError(
      'failureThreshold and failurePolicy are exclusive: failureThreshold is short for failurePolicy { type: "consecutive", threshold }',
    );
  }
  const failurePolicy =
    options.failurePolicy !== undefined
      ? checkPolicy(options.failurePolicy)
      : {
          type: 'consecutive' as const,
          threshold: checkInteger('failureThreshold', options.failureThreshold ?? DEFAULTS.failureThreshold, 1),
        };
  const recoveryTimeoutMs = checkDurationMs('recoveryTimeoutMs', options.recoveryTimeoutMs ?? DEFAULTS.recoveryTimeoutMs);
  const timeoutMs = checkDurationMs('timeoutMs', options.timeoutMs ?? DEFAULTS.timeoutMs);
  const halfOpenMaxCalls = checkInteger('halfOpenMaxCalls', options.halfOpenMaxCalls ?? 1, 1);
  const successThreshold = checkInteger('successThreshold', options.successThreshold ?? 1, 1);
  const halfOpenMaxWaitMs = checkDurationMs(
    'halfOpenMaxWaitMs',
    options.halfOpenMaxWaitMs ?? (timeoutMs || recoveryTimeoutMs || 60_000),
    1,
  );
  const expectedError = options.expectedError;
  return {
    failurePolicy,
    recoveryTimeoutMs,
    timeoutMs,
    expectedError,
    classifyError: expectedError === undefined ? countEverything : expectedErrorClassifier(expectedError),
    classifyResult:
      options.classifyResult === undefined ? undefined : checkFunction('classifyResult', options.classifyResult),
    halfOpenMaxCalls,
    successThreshold,
    halfOpenMaxWaitMs,
    openBackoff: checkBackoff(options.openBackoff, recoveryTimeoutMs),
    clock: options.clock === undefined ? systemClock : checkClock(options.clock),
    random: options.random === undefined ? Math.random : checkFunction('random', options.random),
    logger: options.logger === false ? null : options.logger === undefined ? defaultLogger : checkFunction('logger', options.logger),
    stateStore: options.stateStore === undefined ? undefined : checkStore(options.stateStore),
  };
}

function checkPolicy(spec: FailurePolicySpec): FailurePolicySpec {
  if (typeof spec !== 'object' || spec === null) {
    throw new TypeError(`failurePolicy must be an object with a type; got ${describeValue(spec)}`);
  }
  const type = checkOneOf('failurePolicy.type', spec.type, ['consecutive', 'count-window', 'time-window'] as const);
  if (spec.type === 'consecutive') {
    checkKnownKeys('failurePolicy (consecutive)', spec, ['type', 'threshold']);
    return { type, threshold: checkInteger('failurePolicy.threshold', spec.threshold, 1) } as FailurePolicySpec;
  }
  const common = ['type', 'failureRateThreshold', 'minimumCalls', 'slowCallDurationMs', 'slowCallRateThreshold'];
  checkKnownKeys(
    `failurePolicy (${spec.type})`,
    spec,
    spec.type === 'count-window' ? [...common, 'size'] : [...common, 'windowMs', 'buckets'],
  );
  checkNumber('failurePolicy.failureRateThreshold', spec.failureRateThreshold, 0, 1, true);
  const minimumCalls = checkInteger('failurePolicy.minimumCalls', spec.minimumCalls, 1);
  if ((spec.slowCallDurationMs === undefined) !== (spec.slowCallRateThreshold === undefined)) {
    throw new TypeError(
      'failurePolicy.slowCallDurationMs and failurePolicy.slowCallRateThreshold go together: give both or neither',
    );
  }
  if (spec.slowCallDurationMs !== undefined) {
    checkDurationMs('failurePolicy.slowCallDurationMs', spec.slowCallDurationMs, 1);
    checkNumber('failurePolicy.slowCallRateThreshold', spec.slowCallRateThreshold, 0, 1, true);
  }
  if (spec.type === 'count-window') {
    const size = checkInteger('failurePolicy.size', spec.size, 1, 1_000_000);
    if (minimumCalls > size) {
      throw new RangeError(
        `failurePolicy.minimumCalls must be <= failurePolicy.size (${size}); got ${minimumCalls}: the window could never hold enough calls to decide`,
      );
    }
  } else {
    checkDurationMs('failurePolicy.windowMs', spec.windowMs, 1);
    if (spec.buckets !== undefined) checkInteger('failurePolicy.buckets', spec.buckets, 1, 10_000);
  }
  return { ...spec };
}

function checkBackoff(backoff: OpenBackoffOptions | false | undefined, recoveryTimeoutMs: number) {
  if (backoff === undefined || backoff === false) return null;
  if (typeof backoff !== 'object' || backoff === null) {
    throw new TypeError(`openBackoff must be an object { maxMs, multiplier?, jitter? } or false; got ${describeValue(backoff)}`);
  }
  checkKnownKeys('openBackoff', backoff, ['maxMs', 'multiplier', 'jitter']);
  const maxMs = checkDurationMs('openBackoff.maxMs', backoff.maxMs);
  if (maxMs < recoveryTimeoutMs) {
    throw new RangeError(`openBackoff.maxMs must be >= recoveryTimeoutMs (${recoveryTimeoutMs}); got ${maxMs}`);
  }
  return {
    maxMs,
    multiplier: checkNumber('openBackoff.multiplier', backoff.multiplier === undefined ? 2 : backoff.multiplier, 1, 1000, true),
    jitter: checkNumber('openBackoff.jitter', backoff.jitter === undefined ? 0.2 : backoff.jitter, 0, 1),
  };
}

function checkClock(clock: Clock): Clock {
  for (const method of ['now', 'setTimeout', 'clearTimeout'] as const) {
    checkFunction(`clock.${method}`, (clock as unknown as Record<string, unknown>)?.[method]);
  }
  if (clock.monotonicNow !== undefined) checkFunction('clock.monotonicNow', clock.monotonicNow);
  return clock;
}

function checkStore(store: CircuitStateStore): CircuitStateStore {
  checkFunction('stateStore.connect', (store as unknown as Record<string, unknown>)?.connect);
  return store;
}

function isErrorClass(fn: Function): boolean {
  return fn === Error || fn.prototype instanceof Error || /^class[\s{]/.test(Function.prototype.toString.call(fn));
}

/** Turns the guide's `expected_exception` into a classifier: a match is a failure, anything else is ignored. */
function expectedErrorClassifier(expected: ExpectedError): (error: unknown) => Outcome {
  if (Array.isArray(expected)) {
    const classes = expected as readonly ErrorClass[];
    classes.forEach((c, i) => {
      if (typeof c !== 'function' || !isErrorClass(c)) {
        throw new TypeError(`expectedError[${i}] must be an error class; got ${describeValue(c)}`);
      }
    });
    return (error) => (classes.some((c) => error instanceof c) ? 'failure' : 'ignored');
  }
  if (typeof expected !== 'function') {
    throw new TypeError(
      `expectedError must be an error class, a list of error classes or a predicate (error) => boolean; got ${describeValue(expected)}`,
    );
  }
  if (isErrorClass(expected)) {
    const cls = expected as ErrorClass;
    return (error) => (error instanceof cls ? 'failure' : 'ignored');
  }
  const predicate = expected as (error: unknown) => boolean;
  return (error) => (predicate(error) ? 'failure' : 'ignored');
}

/**
 * The first option in which two configurations differ, or undefined. Functions and objects (clock,
 * logger, store, predicates) compare by identity: define them once, not inline per call.
 */
export function firstDifference(a: ResolvedOptions, b: ResolvedOptions): string | undefined {
  for (const key of Object.keys(a) as (keyof ResolvedOptions)[]) {
    if (key === 'classifyError') continue; // derived from expectedError
    const x = a[key];
    const y = b[key];
    if (x === y) continue;
    if (typeof x === 'object' && typeof y === 'object' && x !== null && y !== null && !Array.isArray(x)) {
      if (isPlainData(x) && isPlainData(y) && canonicalJson(x) === canonicalJson(y)) continue;
    }
    if (Array.isArray(x) && Array.isArray(y) && x.length === y.length && x.every((v, i) => v === y[i])) continue;
    return key;
  }
  return undefined;
}

function isPlainData(value: object): boolean {
  return Object.getPrototypeOf(value) === Object.prototype && Object.values(value).every((v) => typeof v !== 'function');
}

/** JSON with sorted keys, so `{ type, threshold }` and `{ threshold, type }` compare equal. */
function canonicalJson(value: object): string {
  return JSON.stringify(value, Object.keys(value).sort());
}

/**
 * Identical configurations share one frozen resolved object, so a thousand breakers made with the
 * same options cost one options object, not a thousand (~175 bytes each). Functions and objects take
 * part by identity. Bounded: past 256 distinct configurations the oldest is forgotten (breakers keep
 * theirs; only sharing is lost).
 */
export function internOptions(resolved: ResolvedOptions): ResolvedOptions {
  const key = [
    canonicalJson(resolved.failurePolicy),
    resolved.recoveryTimeoutMs,
    resolved.timeoutMs,
    identityOf(resolved.expectedError),
    identityOf(resolved.classifyResult),
    resolved.halfOpenMaxCalls,
    resolved.successThreshold,
    resolved.halfOpenMaxWaitMs,
    resolved.openBackoff === null ? 'null' : canonicalJson(resolved.openBackoff),
    identityOf(resolved.clock),
    identityOf(resolved.random),
    identityOf(resolved.logger),
    identityOf(resolved.stateStore),
  ].join('|');
  const existing = interned.get(key);
  if (existing !== undefined) return existing;
  if (interned.size >= 256) interned.delete(interned.keys().next().value!);
  const frozen = Object.freeze(resolved);
  interned.set(key, frozen);
  return frozen;
}

const interned = new Map<string, ResolvedOptions>();
const identities = new WeakMap<object, number>();
let nextIdentity = 0;

function identityOf(value: unknown): string {
  if (value === undefined || value === null) return String(value);
  const object = value as object;
  let id = identities.get(object);
  if (id === undefined) identities.set(object, (id = nextIdentity++));
  return `#${id}`;
}

/** The options `reconfigure` refuses to change: the breaker's timers and its store connection are bound to them. */
const FIXED_AT_CONSTRUCTION = ['clock', 'stateStore'] as const;

/**
 * `current` with the options named in `patch` replaced (an option named with `undefined` returns to its
 * default; options left out stay), validated as a whole. `failureThreshold` replaces a `failurePolicy`
 * and the other way round; a `halfOpenMaxWaitMs` that was the default follows the new timeouts.
 */
export function patchOptions(current: ResolvedOptions, patch: CircuitBreakerOptions): ResolvedOptions {
  if (typeof patch !== 'object' || patch === null) {
    throw new TypeError(`reconfigure: options must be an object; got ${describeValue(patch)}`);
  }
  checkKnownKeys('reconfigure: options', patch, CIRCUIT_BREAKER_OPTION_NAMES.filter((name) => name !== 'initialState'));
  for (const key of FIXED_AT_CONSTRUCTION) {
    if (key in patch && patch[key] !== current[key]) {
      throw new TypeError(`reconfigure: ${key} cannot change on a running breaker (its timers and connections are bound to it); got ${describeValue(patch[key])}`);
    }
  }
  const defaultWait = current.halfOpenMaxWaitMs === (current.timeoutMs || current.recoveryTimeoutMs || 60_000);
  const base: { -readonly [K in keyof CircuitBreakerOptions]: CircuitBreakerOptions[K] } = {
    failurePolicy: current.failurePolicy,
    recoveryTimeoutMs: current.recoveryTimeoutMs,
    timeoutMs: current.timeoutMs,
    expectedError: current.expectedError,
    classifyResult: current.classifyResult,
    halfOpenMaxCalls: current.halfOpenMaxCalls,
    successThreshold: current.successThreshold,
    halfOpenMaxWaitMs: defaultWait ? undefined : current.halfOpenMaxWaitMs,
    openBackoff: current.openBackoff ?? false,
    clock: current.clock,
    random: current.random,
    logger: current.logger ?? false,
    stateStore: current.stateStore,
  };
  if ('failureThreshold' in patch) delete base.failurePolicy;
  return internOptions(resolveOptions({ ...base, ...patch }));
}

/** Every option in which two configurations differ (see {@link firstDifference}). */
export function differences(a: ResolvedOptions, b: ResolvedOptions): (keyof ResolvedOptions)[] {
  const changed: (keyof ResolvedOptions)[] = [];
  for (const key of Object.keys(a) as (keyof ResolvedOptions)[]) {
    if (key !== 'classifyError' && firstDifference({ [key]: a[key] } as unknown as ResolvedOptions, { [key]: b[key] } as unknown as ResolvedOptions) !== undefined) changed.push(key);
  }
  return changed;
}
