import type { Disposable, Event } from '@phlow/circuit-breaker';

/** Why the store stopped trusting Redis. */
export type DegradationReason =
  /** The connection dropped or could not be made. */
  | 'connection_lost'
  /** A command failed or passed `commandTimeoutMs`. */
  | 'command_failed'
  /** A half-open call gave up waiting `probeWaitMs` for its fleet permit. */
  | 'timeout';

/** Redis became unreachable or failed a command: breakers now decide on local state only. */
export interface StoreDegradedEvent {
  readonly reason: DegradationReason;
  readonly error: unknown;
  /** Epoch ms. */
  readonly at: number;
}

/** Redis answers again; every attached breaker is being reconciled with the fleet. */
export interface StoreRecoveredEvent {
  /** Epoch ms. */
  readonly at: number;
  /** How long the store ran on local state. */
  readonly degradedForMs: number;
}

/** A listener list that costs nothing while empty and never lets a listener's exception out. */
export class StoreEmitter<T> {
  private listeners: Array<(event: T) => void> = [];

  get size(): number {
    return this.listeners.length;
  }

  readonly event: Event<T> = (listener): Disposable => {
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
      } catch {
        // A broken metrics hook must not break the store.
      }
    }
  }
}
