import { CircuitBreakerRegistry } from '@phlow/circuit-breaker';
import { describe, expect, it } from 'vitest';
import { A2A_BREAKER_DEFAULTS, resolveProtection } from './a2a-protection-options.js';

describe('breaker options over the A2A defaults', () => {
  const registry = new CircuitBreakerRegistry({ logger: false });

  it('keep the guide defaults when nothing is given', () => {
    expect(resolveProtection('test', { peer: 'planner', registry }).breakerOptions).toMatchObject({
      failureThreshold: 3,
      recoveryTimeoutMs: 45_000,
      timeoutMs: 20_000,
      expectedError: A2A_BREAKER_DEFAULTS.expectedError,
    });
  });

  it('take a failure policy of the user in place of the default threshold, and the family accepts it', () => {
    const failurePolicy = { type: 'time-window', windowMs: 10_000, minimumCalls: 4, failureRateThreshold: 0.5 } as const;
    const resolved = resolveProtection('test', { peer: 'planner', registry, family: 'a2a-policy', breaker: { failurePolicy } });
    expect(resolved.breakerOptions).not.toHaveProperty('failureThreshold');
    const family = registry.getFamily(resolved.family, resolved.breakerOptions, resolved.familyOptions);
    expect(family.get('planner').options.failurePolicy).toEqual(failurePolicy);
  });

  it('treat undefined as not given', () => {
    expect(resolveProtection('test', { peer: 'planner', registry, breaker: { timeoutMs: undefined } }).breakerOptions.timeoutMs).toBe(20_000);
  });
});
