import { describe, expect, it } from 'vitest';
import {
  ADAPTER_OPTION_NAMES,
  KEYED_ADAPTER_OPTION_NAMES,
  checkFamilyName,
  resolveAdapterOptions,
  resolveFamilyBounds,
} from './adapter-options.js';
import { FAMILY_DEFAULTS } from './circuit-breaker-family.js';
import { CircuitBreakerRegistry, getCircuitBreakerRegistry } from './registry.js';

const WHAT = '@phlow/example options';
const DEFAULTS = { name: 'example', breaker: { failureThreshold: 3, timeoutMs: 10_000 } } as const;

describe('resolveAdapterOptions', () => {
  it('gives the adapter default name, the global registry and the default breaker options when nothing is given', () => {
    const resolved = resolveAdapterOptions(WHAT, {}, DEFAULTS);
    expect(resolved.name).toBe('example');
    expect(resolved.registry).toBe(getCircuitBreakerRegistry());
    expect(resolved.breaker).toEqual({ failureThreshold: 3, timeoutMs: 10_000 });
    expect(resolved.breaker).not.toBe(DEFAULTS.breaker);
  });

  it('takes a family name and a registry of the caller', () => {
    const registry = new CircuitBreakerRegistry({ logger: false });
    const resolved = resolveAdapterOptions(WHAT, { name: 'payments', registry }, DEFAULTS);
    expect(resolved.name).toBe('payments');
    expect(resolved.registry).toBe(registry);
  });

  it.each([
    ['with "/" (it separates family and key)', 'a/b', 'got "a/b"'],
    ['empty', '', 'got ""'],
    ['null (refused, not defaulted)', null, 'got null'],
    ['not a string', 7, 'got 7'],
  ])('refuses a name %s, naming the option, the value and what is allowed', (_, name, got) => {
    const resolve = () => resolveAdapterOptions(WHAT, { name: name as never }, DEFAULTS);
    expect(resolve).toThrow(TypeError);
    expect(resolve).toThrow(`${WHAT}: name must be a non-empty string without "/" (it separates family and key in breaker names); ${got}`);
  });

  it('refuses a default name with "/" too: an adapter bug shows at once', () => {
    expect(() => resolveAdapterOptions(WHAT, {}, { ...DEFAULTS, name: 'did/web' })).toThrow(`${WHAT}: name must be`);
  });

  it.each([
    ['a plain object', {}, 'got {}'],
    ['null', null, 'got null'],
    ['a registry look-alike without getBreaker', { getFamily: () => undefined }, 'got '],
  ])('refuses a registry that is %s, naming the option', (_, registry, got) => {
    const resolve = () => resolveAdapterOptions(WHAT, { registry: registry as never }, DEFAULTS);
    expect(resolve).toThrow(TypeError);
    expect(resolve).toThrow(`${WHAT}: registry must be a CircuitBreakerRegistry; ${got}`);
  });

  it('merges breaker options over the defaults by the withAdapterDefaults rule', () => {
    const over = (breaker: object) => resolveAdapterOptions(WHAT, { breaker }, DEFAULTS).breaker;
    expect(over({ timeoutMs: 2_000 })).toEqual({ failureThreshold: 3, timeoutMs: 2_000 });
    // undefined means "not given"
    expect(over({ timeoutMs: undefined })).toEqual({ failureThreshold: 3, timeoutMs: 10_000 });
    // a failure policy of the caller's replaces the default threshold
    const failurePolicy = { type: 'count-window', size: 20, minimumCalls: 10, failureRateThreshold: 0.5 } as const;
    expect(over({ failurePolicy })).toEqual({ timeoutMs: 10_000, failurePolicy });
  });

  it.each([[[]], [null], ['name']])('refuses options that are not an object (%j), instead of taking the defaults', (options) => {
    expect(() => resolveAdapterOptions(WHAT, options as never, DEFAULTS)).toThrow(new TypeError(`${WHAT}: the options must be an object; got ${JSON.stringify(options)}`));
  });

  it('refuses breaker options that are not an object, naming the option', () => {
    expect(() => resolveAdapterOptions(WHAT, { breaker: null as never }, DEFAULTS)).toThrow(
      `${WHAT}: breaker must be an object of circuit breaker options; got null`,
    );
    expect(() => resolveAdapterOptions(WHAT, { breaker: 5 as never }, DEFAULTS)).toThrow(`${WHAT}: breaker must be an object`);
  });

  it.each([
    ['a "__proto__" key from JSON.parse (else it becomes the merged options\' prototype)', '{"__proto__": {"timeoutMs": 5}}', '__proto__'],
    ['a "constructor" key', '{"constructor": 5}', 'constructor'],
    ['an option no breaker has', '{"timeout": 5}', 'timeout'],
  ])('refuses breaker options with %s, naming the option path and the allowed names', (_, json, key) => {
    expect(() => resolveAdapterOptions(WHAT, { breaker: JSON.parse(json) as never }, DEFAULTS)).toThrow(
      new RegExp(`^${WHAT}: breaker: unknown option "${key}"; allowed: failureThreshold, failurePolicy, `),
    );
  });
});

describe('resolveFamilyBounds', () => {
  it('defaults to FAMILY_DEFAULTS (1000 keys, 10 minutes idle)', () => {
    expect(resolveFamilyBounds(WHAT, {})).toEqual({ maxKeys: 1_000, idleTtlMs: 600_000 });
    expect(resolveFamilyBounds(WHAT, {})).toEqual(FAMILY_DEFAULTS);
  });

  it('takes the caller bounds', () => {
    expect(resolveFamilyBounds(WHAT, { maxKeys: 5, idleTtlMs: 1_500 })).toEqual({ maxKeys: 5, idleTtlMs: 1_500 });
  });

  it.each([
    [{ maxKeys: 0 }, `${WHAT}: maxKeys must be an integer >= 1; got 0`],
    [{ maxKeys: 2.5 }, `${WHAT}: maxKeys must be an integer >= 1; got 2.5`],
    [{ maxKeys: null }, `${WHAT}: maxKeys must be an integer >= 1; got null`],
    [{ idleTtlMs: 0 }, `${WHAT}: idleTtlMs must be a number >= 1 and <= 2147483647; got 0`],
    [{ idleTtlMs: Infinity }, `${WHAT}: idleTtlMs must be a number >= 1 and <= 2147483647; got Infinity`],
  ])('refuses %j, naming the option, the value and what is allowed', (options, message) => {
    expect(() => resolveFamilyBounds(WHAT, options as never)).toThrow(RangeError);
    expect(() => resolveFamilyBounds(WHAT, options as never)).toThrow(message);
  });
});

describe('the shared option names', () => {
  it('lists the AdapterOptions and KeyedAdapterOptions keys, for checkKnownKeys', () => {
    expect(ADAPTER_OPTION_NAMES).toEqual(['name', 'registry', 'breaker']);
    expect(KEYED_ADAPTER_OPTION_NAMES).toEqual(['name', 'registry', 'breaker', 'maxKeys', 'idleTtlMs']);
    expect(Object.isFrozen(KEYED_ADAPTER_OPTION_NAMES)).toBe(true);
  });

  it('checkFamilyName prefixes its message with the option it was given', () => {
    expect(checkFamilyName('family', 'peers')).toBe('peers');
    expect(() => checkFamilyName('family', 'a/b')).toThrow(/^family must be a non-empty string without "\/"/);
  });
});
