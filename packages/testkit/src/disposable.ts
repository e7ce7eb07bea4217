/**
 * What an event subscription returns: call `dispose()` to stop listening, or bind it with
 * `using subscription = proxy.onRequest(...)` to stop at the end of the scope.
 */
export interface Disposable {
  dispose(): void;
  /** The same as {@link Disposable.dispose}, for `using`. */
  [Symbol.dispose](): void;
}

/** Wraps `dispose` as a {@link Disposable}: both `dispose()` and `using` run it. */
export function toDisposable(dispose: () => void): Disposable {
  return { dispose, [Symbol.dispose]: dispose };
}

/**
 * A minimal typed event: subscribers are kept in a Set, emitting with no subscriber costs a size check.
 * Listener exceptions are not caught: a throwing listener in a test should fail that test loudly.
 */
export class Emitter<T> {
  readonly #listeners = new Set<(value: T) => void>();

  /** Subscribes `listener`; the returned handle unsubscribes it. */
  subscribe(listener: (value: T) => void): Disposable {
    // Wrap so the same function subscribed twice gets two independent subscriptions.
    const entry = (value: T): void => listener(value);
    this.#listeners.add(entry);
    return toDisposable(() => void this.#listeners.delete(entry));
  }

  /** Calls every current listener with `value`. */
  emit(value: T): void {
    if (this.#listeners.size === 0) return;
    for (const listener of [...this.#listeners]) listener(value);
  }
}
