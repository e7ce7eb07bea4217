/** The latest breaker state changes, newest first, for the dashboard's event list. */
import type { CircuitBreakerRegistry } from '@phlow/circuit-breaker';

export interface Transition {
  readonly at: number;
  readonly name: string;
  readonly from: string;
  readonly to: string;
  readonly reason: string;
}

export class RecentTransitions {
  readonly #list: Transition[] = [];
  readonly #subscription: { dispose(): void };

  /** Listens to `registry` until {@link dispose}, keeping the latest `max`. */
  constructor(registry: CircuitBreakerRegistry, max = 20) {
    this.#subscription = registry.onStateChange((e) => {
      this.#list.unshift({ at: Date.now(), name: e.breaker.name, from: e.from, to: e.to, reason: e.reason });
      this.#list.length = Math.min(this.#list.length, max);
    });
  }

  get list(): readonly Transition[] {
    return this.#list;
  }

  dispose(): void {
    this.#subscription.dispose();
  }
}
