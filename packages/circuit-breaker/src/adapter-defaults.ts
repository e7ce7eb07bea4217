import type { CircuitBreakerOptions } from './options.js';
import { describeValue } from './validate.js';

/**
 * An adapter's breaker defaults with the user's options over them, by one rule every adapter shares:
 *
 * - an option the user leaves out (or sets to `undefined`) takes the adapter's default;
 * - a failure policy the user chooses replaces the adapter's: a user `failurePolicy` drops the default
 *   `failureThreshold` (short for a consecutive policy) and a user `failureThreshold` drops a default
 *   `failurePolicy`, so the two never meet unless the user wrote both (which the core refuses);
 * - everything else is passed through unchanged for the core to validate, so `null` or `''` reach the
 *   core's checks and fail there with the option's name instead of silently meaning "default".
 *
 * @example
 * const options = withAdapterDefaults({ failureThreshold: 3, timeoutMs: 10_000 }, userOptions, 'breaker');
 * const breaker = registry.getBreaker('supabase', options);
 */
export function withAdapterDefaults(
  defaults: CircuitBreakerOptions,
  options: CircuitBreakerOptions | undefined,
  option = 'breaker',
): CircuitBreakerOptions {
  if (options === undefined) return { ...defaults };
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`${option} must be an object of circuit breaker options; got ${describeValue(options)}`);
  }
  const merged: Record<string, unknown> = { ...defaults };
  if (options.failurePolicy !== undefined) delete merged['failureThreshold'];
  if (options.failureThreshold !== undefined) delete merged['failurePolicy'];
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined) merged[key] = value;
  }
  return merged as CircuitBreakerOptions;
}
