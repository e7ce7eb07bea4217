import { withAdapterDefaults } from './adapter-defaults.js';
import { FAMILY_DEFAULTS, type FamilyOptions } from './circuit-breaker-family.js';
import { CIRCUIT_BREAKER_OPTION_NAMES, type CircuitBreakerOptions } from './options.js';
import { getCircuitBreakerRegistry, type CircuitBreakerRegistry } from './registry.js';
import { checkDurationMs, checkInteger, checkKnownKeys, describeValue } from './validate.js';

/**
 * The options every adapter of ours takes, with one name, one meaning and one defaults rule (the
 * core README's "Adapter options"). An adapter's breakers form a keyed family: `name` is the family,
 * each member is `{name}/{key}` (`supabase/rest`, `a2a/planner`, `did/web:example.com`).
 */
export interface AdapterOptions<Breaker extends CircuitBreakerOptions = CircuitBreakerOptions> {
  /** The family of the adapter's breakers: metrics label, logs, errors. No `/`. Default: the adapter's own. */
  readonly name?: string;
  /** Where the breakers live (shared by name, observed by `@phlow/otel`). Default: `getCircuitBreakerRegistry()`. */
  readonly registry?: CircuitBreakerRegistry;
  /**
   * Options of every breaker of the family, over the adapter's defaults ({@link withAdapterDefaults}: a
   * left-out or `undefined` option takes the default; a failure policy of yours replaces the default's).
   * They are the family's: a second adapter on the same family with different ones throws.
   */
  readonly breaker?: Breaker;
}

/** {@link AdapterOptions} of an adapter whose keys come from outside (hosts, peers): the family is bounded. */
export interface KeyedAdapterOptions<Breaker extends CircuitBreakerOptions = CircuitBreakerOptions> extends AdapterOptions<Breaker> {
  /** Most breakers the family holds at once; the least useful member is retired first. Default 1000. */
  readonly maxKeys?: number;
  /** A member nobody has called for this long is retired (ms). Default 600 000 (10 min). */
  readonly idleTtlMs?: number;
}

/** The shared adapter options after defaults and checks. */
export interface ResolvedAdapterOptions {
  readonly name: string;
  readonly registry: CircuitBreakerRegistry;
  readonly breaker: CircuitBreakerOptions;
}

/** A family name: non-empty, without `/` (it separates family and key). */
export function checkFamilyName(option: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.includes('/')) {
    throw new TypeError(`${option} must be a non-empty string without "/" (it separates family and key in breaker names); got ${describeValue(value)}`);
  }
  return value;
}

/** What an adapter brings to {@link resolveAdapterOptions}. */
export interface AdapterDefaults {
  /** The family name when the user gives none. */
  readonly name: string;
  /** The adapter's breaker defaults. */
  readonly breaker: CircuitBreakerOptions;
  /** The breaker options a user may give. Default: every option of the core. */
  readonly breakerOptionNames?: readonly string[];
  /**
   * Breaker options the adapter sets itself, each with the message that refuses it (saying what to use
   * instead), e.g. `{ classifyResult: 'breaker.classifyResult is not accepted: pass classifyResult' }`.
   */
  readonly ownedBreakerOptions?: Readonly<Record<string, string>>;
}

/**
 * Defaults and checks of {@link AdapterOptions}; `what` prefixes every message (`'@phlow/a2a options'`),
 * naming the option, the value and what is allowed. An option set to `null` is refused, not defaulted.
 * `breaker` is read once: the checks and the merge see the same object.
 */
export function resolveAdapterOptions(what: string, options: AdapterOptions, defaults: AdapterDefaults): ResolvedAdapterOptions {
  // An array passes `typeof === 'object'` and has no unknown keys when empty: refused, not defaulted.
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`${what}: the options must be an object; got ${describeValue(options)}`);
  }
  const name = checkFamilyName(`${what}: name`, options.name === undefined ? defaults.name : options.name);
  const registry = options.registry === undefined ? getCircuitBreakerRegistry() : options.registry;
  const shape = registry as unknown as Record<string, unknown> | null;
  if (typeof shape !== 'object' || shape === null || typeof shape['getFamily'] !== 'function' || typeof shape['getBreaker'] !== 'function') {
    throw new TypeError(`${what}: registry must be a CircuitBreakerRegistry; got ${describeValue(registry)}`);
  }
  const given = options.breaker;
  if (typeof given === 'object' && given !== null) {
    for (const [key, message] of Object.entries(defaults.ownedBreakerOptions ?? {})) {
      if (key in given) throw new TypeError(`${what}: ${message}`);
    }
    // Checked before merging: an own "__proto__" key (an object from JSON.parse) would otherwise become
    // the merged options' prototype, and its options would be silently dropped or read from there.
    checkKnownKeys(`${what}: breaker`, given, defaults.breakerOptionNames ?? CIRCUIT_BREAKER_OPTION_NAMES);
  }
  const breaker = withAdapterDefaults(defaults.breaker, given, `${what}: breaker`);
  return { name, registry, breaker };
}

/** Defaults and checks of {@link KeyedAdapterOptions}' family bounds. */
export function resolveFamilyBounds(what: string, options: KeyedAdapterOptions): Required<FamilyOptions> {
  return {
    maxKeys: options.maxKeys === undefined ? FAMILY_DEFAULTS.maxKeys : checkInteger(`${what}: maxKeys`, options.maxKeys, 1),
    idleTtlMs: options.idleTtlMs === undefined ? FAMILY_DEFAULTS.idleTtlMs : checkDurationMs(`${what}: idleTtlMs`, options.idleTtlMs, 1),
  };
}

/** The option names of {@link AdapterOptions} and {@link KeyedAdapterOptions}, for `checkKnownKeys`. */
export const ADAPTER_OPTION_NAMES = Object.freeze(['name', 'registry', 'breaker'] as const);
export const KEYED_ADAPTER_OPTION_NAMES = Object.freeze([...ADAPTER_OPTION_NAMES, 'maxKeys', 'idleTtlMs'] as const);
