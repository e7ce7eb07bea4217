/**
 * Something we hand out that can be undone: a subscription, an observation, an attached store.
 * Call `dispose()`, or bind it with `using` and it is disposed when the scope ends:
 *
 * ```ts
 * {
 *   using subscription = breaker.onStateChange((event) => console.log(event.to));
 *   await breaker.execute(call);
 * } // unsubscribed here
 * ```
 *
 * Disposing twice is harmless.
 */
export interface Disposable {
  dispose(): void;
  /** The same as {@link Disposable.dispose}, for `using`. */
  [Symbol.dispose](): void;
}

/**
 * What we accept back from your code (a `registry.observe` callback's result, a state store's
 * connection): a plain `{ dispose() }` is enough, so code written before `using` keeps working; we only
 * ever call `dispose()` on it.
 */
export interface DisposableLike {
  dispose(): void;
}

/** Wraps `dispose` as a {@link Disposable}: both `dispose()` and `using` run it. */
export function toDisposable(dispose: () => void): Disposable {
  return { dispose, [Symbol.dispose]: dispose };
}

/** Subscribes a listener; the returned disposable unsubscribes it. */
export type Event<T> = (listener: (event: T) => void) => Disposable;

/** Where a listener's exception goes, so a broken listener never breaks a call. */
export type ListenerErrorHandler = (error: unknown) => void;

/**
 * A list of listeners that costs nothing while empty: the breaker checks {@link Emitter.size}
 * (a field read) before building an event object.
 */
export class Emitter<T> {
  private listeners: Array<(event: T) => void> = [];

  constructor(private readonly onListenerError: ListenerErrorHandler) {}

  get size(): number {
    return this.listeners.length;
  }

  readonly event: Event<T> = (listener) => {
    // Copy on write: emitting while a listener unsubscribes must still reach everyone once.
    this.listeners = [...this.listeners, listener];
    let disposed = false;
    return toDisposable(() => {
      if (disposed) return;
      disposed = true;
      this.listeners = this.listeners.filter((l) => l !== listener);
    });
  };

  /** Events emitted by a listener while an emission is running, delivered after it (see {@link emit}). */
  private queued: T[] | undefined = undefined;

  /**
   * Calls every listener with `event`. An event emitted from inside a listener (one that resets the
   * breaker on a state change, say) waits until every listener has seen the current one, so all of them
   * see events in the order they happened.
   */
  emit(event: T): void {
    if (this.queued !== undefined) {
      this.queued.push(event);
      return;
    }
    const queued: T[] = (this.queued = []);
    try {
      let next: T | undefined = event;
      for (let i = 0; ; next = queued[i++]) {
        for (const listener of this.listeners) {
          try {
            listener(next as T);
          } catch (error) {
            this.onListenerError(error);
          }
        }
        if (i >= queued.length) break;
      }
    } finally {
      this.queued = undefined;
    }
  }
}

/** One disposable for many. */
export function combineDisposables(disposables: Iterable<DisposableLike>): Disposable {
  const all = [...disposables];
  return toDisposable(() => {
    for (const d of all.splice(0)) d.dispose();
  });
}
