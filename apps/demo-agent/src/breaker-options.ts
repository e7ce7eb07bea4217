/**
 * One breaker configuration for every dependency of the demo: the guide's threshold (three failures in
 * a row), the operator's recovery timeout (`PHLOW_RECOVERY_MS`) and the dependency's own call timeout.
 * Built in the adapters' shape, `{ breaker }`, to spread into their options beside `registry`.
 */
import type { CircuitBreakerOptions } from '@phlow/circuit-breaker';
import type { DemoConfig } from './config.js';

/** The options every adapter of the demo takes for its breakers. */
export interface DemoBreakerOptions {
  readonly breaker: Required<Pick<CircuitBreakerOptions, 'failureThreshold' | 'recoveryTimeoutMs' | 'timeoutMs'>>;
}

/** Failures in a row that open a breaker (the guide's). */
const FAILURE_THRESHOLD = 3;

/** The breaker options of a dependency whose calls time out after `timeoutMs`. */
export function breakerOptions(config: Pick<DemoConfig, 'recoveryTimeoutMs'>, timeoutMs: number): DemoBreakerOptions {
  return { breaker: { failureThreshold: FAILURE_THRESHOLD, recoveryTimeoutMs: config.recoveryTimeoutMs, timeoutMs } };
}
