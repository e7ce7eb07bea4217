import { CircuitBreaker } from './circuit-breaker.js';
import { ManualClock } from './manual-clock.js';
import type { CircuitBreakerInit } from './options.js';

/**
 * A breaker on a manual clock (starting at `clockStart`, when a test reads absolute times), logging
 * off and no timeout unless `options` say otherwise.
 */
export function breakerOnClock(options: CircuitBreakerInit = {}, name = 'dep', clockStart?: number) {
  const clock = new ManualClock(clockStart);
  const breaker = new CircuitBreaker(name, { logger: false, timeoutMs: 0, clock, ...options });
  return { breaker, clock };
}

export class DependencyDown extends Error {}

export const fail = () => Promise.reject(new DependencyDown('down'));
export const succeed = () => Promise.resolve('ok');

/** Runs `fn` through the breaker and returns the error it rejected with (or the value). */
export async function settle<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    return { ok: false, error };
  }
}

/** A promise to settle by hand, standing in for a dependency call that is still in flight. */
export function deferred<T = string>() {
  return Promise.withResolvers<T>();
}

/** Lets queued promise reactions run. */
export const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
