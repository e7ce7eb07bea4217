/** What an event subscription returns: call `dispose()` to stop listening. */
export interface Disposable {
  dispose(): void;
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
    return { dispose: () => void this.#listeners.delete(entry) };
  }

  /** Calls every current listener with `value`. */
  emit(value: T): void {
    if (this.#listeners.size === 0) return;
    for (const listener of [...this.#listeners]) listener(value);
  }
}
