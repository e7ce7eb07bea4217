/**
 * Writes that could not reach Supabase are not lost: they wait here (in memory, bounded) and are
 * replayed, oldest first, once the Supabase breaker lets requests through again. The replay runs when
 * the breaker closes and every `intervalMs` while rows wait; when the breaker is half-open the replay
 * itself is the probe. Rows are written with `replayed = true`. The outbox lives in the agent's
 * memory: a crash loses what waits in it (a durable queue is the production answer; the health
 * endpoint and the dashboard show what is pending and what was dropped past `maxRows`).
 */
import type { CircuitBreaker, CircuitBreakerRegistry } from '@phlow/circuit-breaker';
import type { SupabaseClient } from '@supabase/supabase-js';

export interface MessageRow {
  peer_id: string;
  peer_url: string;
  request: string;
  reply: string;
  resolved_via: string;
  replayed: boolean;
}

export interface OutboxStats {
  readonly pending: number;
  readonly replayed: number;
  readonly dropped: number;
  readonly stored: number;
}

export class Outbox {
  readonly #supabase: SupabaseClient;
  readonly #breaker: () => CircuitBreaker | undefined;
  readonly #rows: MessageRow[] = [];
  readonly #maxRows: number;
  readonly #timer: NodeJS.Timeout;
  readonly #subscription: { dispose(): void };
  #flushing: Promise<void> | undefined;
  #replayed = 0;
  #dropped = 0;
  #stored = 0;

  constructor(supabase: SupabaseClient, registry: CircuitBreakerRegistry, breakerName: string, { maxRows = 10_000, intervalMs = 1_000 } = {}) {
    this.#supabase = supabase;
    this.#maxRows = maxRows;
    this.#breaker = () => registry.get(breakerName);
    this.#subscription = registry.onStateChange((event) => {
      if (event.breaker.name === breakerName && event.to === 'closed') void this.flush();
    });
    this.#timer = setInterval(() => void this.flush(), intervalMs);
    this.#timer.unref();
  }

  get stats(): OutboxStats {
    return { pending: this.#rows.length, replayed: this.#replayed, dropped: this.#dropped, stored: this.#stored };
  }

  /** Writes the row, or queues it when Supabase refuses or fails. Rows already waiting go first. */
  async record(row: MessageRow): Promise<'stored' | 'outbox'> {
    if (this.#rows.length === 0) {
      const { error } = await this.#supabase.from('messages').insert(row);
      if (error === null) {
        this.#stored++;
        return 'stored';
      }
    }
    this.#rows.push({ ...row, replayed: true });
    if (this.#rows.length > this.#maxRows) {
      this.#rows.shift();
      this.#dropped++;
    }
    void this.flush();
    return 'outbox';
  }

  /** Replays waiting rows in batches while Supabase takes them; skipped while the breaker is open. */
  flush(): Promise<void> {
    if (this.#rows.length === 0) return Promise.resolve();
    this.#flushing ??= this.#flush().finally(() => (this.#flushing = undefined));
    return this.#flushing;
  }

  async #flush(): Promise<void> {
    while (this.#rows.length > 0) {
      const state = this.#breaker()?.state;
      if (state === 'open' || state === 'forced_open') return;
      const batch = this.#rows.slice(0, 500);
      const { error } = await this.#supabase.from('messages').insert(batch);
      if (error !== null) return;
      this.#rows.splice(0, batch.length);
      this.#replayed += batch.length;
      this.#stored += batch.length;
    }
  }

  dispose(): void {
    clearInterval(this.#timer);
    this.#subscription.dispose();
  }
}
