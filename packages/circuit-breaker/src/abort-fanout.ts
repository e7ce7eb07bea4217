/**
 * One `abort` listener per caller signal, however many calls share it. A request's signal is often
 * passed to every call made for that request; a listener per call would trip Node's
 * MaxListenersExceededWarning at eleven concurrent calls and make abort O(listeners) per removal.
 */

export interface AbortWaiter {
  /** The signal aborted; `reason` is the signal's. */
  aborted(reason: unknown): void;
}

const waiting = new WeakMap<AbortSignal, Set<AbortWaiter>>();

function onAbort(this: AbortSignal): void {
  const waiters = waiting.get(this);
  waiting.delete(this);
  if (waiters === undefined) return;
  for (const waiter of waiters) waiter.aborted(this.reason);
}

export function waitForAbort(signal: AbortSignal, waiter: AbortWaiter): void {
  let waiters = waiting.get(signal);
  if (waiters === undefined) {
    waiting.set(signal, (waiters = new Set()));
    signal.addEventListener('abort', onAbort, { once: true });
  }
  waiters.add(waiter);
}

export function stopWaitingForAbort(signal: AbortSignal, waiter: AbortWaiter): void {
  const waiters = waiting.get(signal);
  if (waiters === undefined || !waiters.delete(waiter) || waiters.size > 0) return;
  waiting.delete(signal);
  signal.removeEventListener('abort', onAbort);
}
