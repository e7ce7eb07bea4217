/**
 * What the resilience policies of the relay did, for the dashboard: retries (and retries the budget
 * refused), which tier of the address chain answered, calls the per-peer bulkheads refused. Counted
 * from the registry's policy events, the same events telemetry reports as metrics.
 */
import type { CircuitBreakerRegistry, PolicyEvent } from '@phlow/circuit-breaker';

export interface PolicyActivityCounts {
  /** Retries made (attempts after the first). */
  readonly retries: number;
  /** Retries not made because the retry budget was spent. */
  readonly budgetExhausted: number;
  /** Answers of the fallback chains, by the tier that answered (`none`: no tier did). */
  readonly fallbacks: Readonly<Record<string, number>>;
  /** Calls the bulkheads refused (full, or queued too long). */
  readonly bulkheadRejections: number;
}

/** Most distinct tier names counted (tier names come from code, but cap them anyway). */
const MAX_TIERS = 20;

export class PolicyActivity {
  #retries = 0;
  #budgetExhausted = 0;
  #bulkheadRejections = 0;
  readonly #fallbacks = new Map<string, number>();
  readonly #subscription: { dispose(): void };

  constructor(registry: CircuitBreakerRegistry) {
    this.#subscription = registry.onPolicyEvent((event) => this.#count(event));
  }

  #count(event: PolicyEvent): void {
    switch (event.type) {
      case 'retry_attempt':
        if (event.attempt > 1) this.#retries++;
        return;
      case 'retry_budget_exhausted':
        this.#budgetExhausted++;
        return;
      case 'fallback': {
        const tier = event.tier ?? 'none';
        if (this.#fallbacks.has(tier) || this.#fallbacks.size < MAX_TIERS) this.#fallbacks.set(tier, (this.#fallbacks.get(tier) ?? 0) + 1);
        return;
      }
      case 'bulkhead':
        if (event.action === 'rejected' || event.action === 'queue_timeout') this.#bulkheadRejections++;
        return;
      default:
    }
  }

  get counts(): PolicyActivityCounts {
    return {
      retries: this.#retries,
      budgetExhausted: this.#budgetExhausted,
      fallbacks: Object.fromEntries(this.#fallbacks),
      bulkheadRejections: this.#bulkheadRejections,
    };
  }

  dispose(): void {
    this.#subscription.dispose();
  }
}
