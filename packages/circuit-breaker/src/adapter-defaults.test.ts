import { describe, expect, it } from 'vitest';
import { withAdapterDefaults } from './adapter-defaults.js';
import { resolveOptions } from './options.js';

const DEFAULTS = { failureThreshold: 3, recoveryTimeoutMs: 30_000, timeoutMs: 10_000 } as const;

describe('withAdapterDefaults', () => {
  it('takes the defaults when the user gives nothing', () => {
    expect(withAdapterDefaults(DEFAULTS, undefined)).toEqual(DEFAULTS);
    expect(withAdapterDefaults(DEFAULTS, {})).toEqual(DEFAULTS);
  });

  it('lets a user failurePolicy replace the default threshold', () => {
    const policy = { type: 'count-window', size: 10, minimumCalls: 5, failureRateThreshold: 0.5 } as const;
    const merged = withAdapterDefaults(DEFAULTS, { failurePolicy: policy });
    expect(merged).toEqual({ recoveryTimeoutMs: 30_000, timeoutMs: 10_000, failurePolicy: policy });
    expect(resolveOptions(merged).failurePolicy).toEqual(policy);
  });

  it('lets a user failureThreshold replace a default failurePolicy', () => {
    const defaults = { failurePolicy: { type: 'consecutive', threshold: 9 } } as const;
    expect(withAdapterDefaults(defaults, { failureThreshold: 2 })).toEqual({ failureThreshold: 2 });
  });

  it('keeps both when the user wrote both, so the core names the conflict', () => {
    const merged = withAdapterDefaults(DEFAULTS, { failureThreshold: 2, failurePolicy: { type: 'consecutive', threshold: 2 } });
    expect(() => resolveOptions(merged)).toThrow(/failureThreshold and failurePolicy are exclusive/);
  });

  it('treats undefined as "not given" and passes null through to the core checks', () => {
    expect(withAdapterDefaults(DEFAULTS, { timeoutMs: undefined }).timeoutMs).toBe(10_000);
    const merged = withAdapterDefaults(DEFAULTS, { timeoutMs: null as unknown as number });
    expect(merged.timeoutMs).toBeNull();
  });

  it('names the option when the user options are not an object', () => {
    expect(() => withAdapterDefaults(DEFAULTS, 5 as never, 'breaker')).toThrow(/^breaker must be an object of circuit breaker options; got 5$/);
    expect(() => withAdapterDefaults(DEFAULTS, null as never, 'breaker')).toThrow(TypeError);
  });
});
