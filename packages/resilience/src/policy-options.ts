import { type CircuitBreakerRegistry, type Clock, getCircuitBreakerRegistry } from '@phlow/circuit-breaker';
import { checkFunction, checkKnownKeys, describeValue } from '@phlow/circuit-breaker/internal';

/** Options every policy takes. */
export interface PolicyOptions {
  /** Names the policy in its events and errors (`"registry-lookup"`). Default: the policy kind. */
  readonly name?: string | undefined;
  /** Where the policy reports its events (`onPolicyEvent`). Default: `getCircuitBreakerRegistry()`. */
  readonly registry?: CircuitBreakerRegistry | undefined;
}

/** Options of policies that measure or wait for time. */
export interface TimedPolicyOptions extends PolicyOptions {
  /** `{ now, monotonicNow?, setTimeout, clearTimeout }`; `ManualClock` in tests. Default: the system clock. */
  readonly clock?: Clock | undefined;
}

export const POLICY_OPTION_NAMES = ['name', 'registry'] as const;
export const TIMED_POLICY_OPTION_NAMES = [...POLICY_OPTION_NAMES, 'clock'] as const;

/** The options object of `what`, checked for unknown keys (a misspelled option is a bug). */
export function checkOptionsObject<T extends object>(what: string, options: unknown, known: readonly string[], required: boolean): T {
  if (options === undefined && !required) return {} as T;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`${what} options must be an object; got ${describeValue(options)}`);
  }
  checkKnownKeys(what, options, known);
  return options as T;
}

export interface ResolvedPolicyOptions {
  readonly name: string;
  readonly registry: CircuitBreakerRegistry;
}

export function resolvePolicyOptions(what: string, options: PolicyOptions): ResolvedPolicyOptions {
  const name = options.name ?? what;
  if (typeof name !== 'string' || name.length === 0) {
    throw new TypeError(`${what}: name must be a non-empty string; got ${describeValue(name)}`);
  }
  const registry = options.registry ?? getCircuitBreakerRegistry();
  if (typeof registry !== 'object' || registry === null || typeof registry.reportPolicyEvent !== 'function') {
    throw new TypeError(`${what}: registry must be a CircuitBreakerRegistry; got ${describeValue(registry)}`);
  }
  return { name, registry };
}

/**
 * The default clock of policies. Unlike the core's `systemClock`, its timers keep the process alive:
 * a policy's timer is something a caller awaits (a retry's wait, a hedge's delay, a timeout), and a
 * script awaiting a retry must not exit in the middle of its backoff. Every such timer is cleared when
 * its call settles, so nothing lingers.
 */
export const policyClock: Clock = {
  now: Date.now,
  monotonicNow: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export function resolveClock(what: string, clock: unknown): Clock {
  if (clock === undefined) return policyClock;
  if (typeof clock !== 'object' || clock === null) {
    throw new TypeError(`${what}: clock must be an object { now, monotonicNow?, setTimeout, clearTimeout }; got ${describeValue(clock)}`);
  }
  const c = clock as Clock;
  checkFunction(`${what}: clock.now`, c.now);
  checkFunction(`${what}: clock.setTimeout`, c.setTimeout);
  checkFunction(`${what}: clock.clearTimeout`, c.clearTimeout);
  if (c.monotonicNow !== undefined) checkFunction(`${what}: clock.monotonicNow`, c.monotonicNow);
  return c;
}

/** Monotonic ms of `clock` (its wall time when it has none): waits and latencies must not follow NTP steps. */
export function monotonic(clock: Clock): () => number {
  const read = clock.monotonicNow;
  return read === undefined ? () => clock.now() : () => read.call(clock);
}
