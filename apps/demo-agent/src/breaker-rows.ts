/**
 * Per-breaker rows for the dashboard's timeline and latency figures, at most `maxRows` of them.
 * Breaker names come from peers and DID hosts, so a flood of invented ones must not grow what the agent
 * keeps or what the page draws: the first `maxRows` breakers get a row, the rest wait (counted, as
 * `hidden`) and take a row when a breaker with one is retired. First come rather than most recent,
 * because the agent creates its own dependencies' breakers at start-up: a flood that arrives later
 * cannot push them out.
 */
import type { CircuitBreaker, CircuitBreakerRegistry } from '@phlow/circuit-breaker';

export interface BreakerRow {
  /** Stops listening to the breaker (it was retired, or the rows are disposed). */
  dispose(): void;
}

export class BreakerRows<R extends BreakerRow> {
  readonly #rows = new Map<CircuitBreaker, R>();
  /** Breakers without a row, oldest first. The registry holds them anyway; they leave when retired. */
  readonly #waiting = new Set<CircuitBreaker>();
  readonly #observation: { dispose(): void };
  #disposed = false;

  /** Observes `registry` until {@link dispose}, making a row with `create` for up to `maxRows` breakers. */
  constructor(registry: CircuitBreakerRegistry, readonly maxRows: number, create: (breaker: CircuitBreaker) => R) {
    if (!Number.isInteger(maxRows) || maxRows < 1) throw new RangeError(`maxRows must be an integer >= 1; got ${String(maxRows)}`);
    const admit = (breaker: CircuitBreaker) => {
      if (this.#rows.size < maxRows) this.#rows.set(breaker, create(breaker));
      else this.#waiting.add(breaker);
    };
    this.#observation = registry.observe((breaker) => {
      admit(breaker);
      return {
        dispose: () => {
          this.#waiting.delete(breaker);
          const row = this.#rows.get(breaker);
          if (row === undefined) return;
          row.dispose();
          this.#rows.delete(breaker);
          if (this.#disposed) return;
          const next = this.#waiting.values().next();
          if (!next.done) {
            this.#waiting.delete(next.value);
            admit(next.value);
          }
        },
      };
    });
  }

  /** Breakers with a row, in the order they got it. */
  entries(): IterableIterator<[CircuitBreaker, R]> {
    return this.#rows.entries();
  }

  get(breaker: CircuitBreaker): R | undefined {
    return this.#rows.get(breaker);
  }

  /** Breakers in the registry without a row. */
  get hidden(): number {
    return this.#waiting.size;
  }

  dispose(): void {
    this.#disposed = true;
    this.#observation.dispose();
  }
}
