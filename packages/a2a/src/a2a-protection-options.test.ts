import { CircuitBreakerRegistry } from '@phlow/circuit-breaker';
import { describe, expect, it } from 'vitest';
import { A2A_BREAKER_DEFAULTS, peerFamily, resolveProtection } from './a2a-protection-options.js';

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
    const resolved = resolveProtection('test', { peer: 'planner', registry, name: 'a2a-policy', breaker: { failurePolicy } });
    expect(resolved.breakerOptions).not.toHaveProperty('failureThreshold');
    expect(peerFamily(resolved).get('planner').options.failurePolicy).toEqual(failurePolicy);
  });

  it('name the family a2a and bound it by the shared defaults when nothing is given', () => {
    expect(resolveProtection('test', { peer: 'planner', registry })).toMatchObject({ name: 'a2a', familyOptions: { maxKeys: 1000, idleTtlMs: 600_000 } });
  });

  it('treat undefined as not given', () => {
    expect(resolveProtection('test', { peer: 'planner', registry, breaker: { timeoutMs: undefined } }).breakerOptions.timeoutMs).toBe(20_000);
  });
});
