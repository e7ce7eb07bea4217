/** Something that can be undone: a subscription, an attached store. */
export interface Disposable {
  dispose(): void;
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
    return {
      dispose: () => {
        if (disposed) return;
        disposed = true;
        this.listeners = this.listeners.filter((l) => l !== listener);
      },
    };
  };

  emit(event: T): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }
}

/** One disposable for many. */
export function combineDisposables(disposables: Iterable<Disposable>): Disposable {
  const all = [...disposables];
  return {
    dispose() {
      for (const d of all.splice(0)) d.dispose();
    },
  };
}
