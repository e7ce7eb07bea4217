import type { Clock } from '@phlow/circuit-breaker';

/**
 * Resolves after `ms` on `clock`, or rejects with `signal.reason` the moment `signal` aborts (the timer
 * is cleared and the listener removed either way, so an abandoned wait holds nothing).
 */
export function sleep(clock: Clock, ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clock.clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
