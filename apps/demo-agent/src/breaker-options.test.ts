import { CircuitBreakerRegistry } from '@phlow/circuit-breaker';
import { describe, expect, it } from 'vitest';
import { breakerOptions } from './breaker-options.js';
import { readConfig } from './config.js';

describe('breakerOptions', () => {
  it("is one shape for every dependency: the guide's threshold, the operator's recovery time, the dependency's timeout", () => {
    const config = readConfig({ PHLOW_RECOVERY_MS: '2500', PHLOW_PEER_TIMEOUT_MS: '700' });
    const { breaker } = breakerOptions(config, config.peerTimeoutMs);
    expect(breaker).toEqual({ failureThreshold: 3, recoveryTimeoutMs: 2_500, timeoutMs: 700 });
    // A breaker accepts them as they are.
    const stats = new CircuitBreakerRegistry().getBreaker('peer', breaker).getStats();
    expect(stats.failure_threshold).toBe(3);
    expect(breakerOptions(config, config.supabaseTimeoutMs).breaker.timeoutMs).toBe(10_000);
  });
});
