/**
 * The outbox's metrics on an OpenTelemetry meter, built once; counters through intent methods. Names
 * follow @phlow/otel's (`phlow.*`); in Prometheus `phlow.outbox.pending` is `phlow_outbox_pending` and
 * the counters end in `_total`.
 */
import type { Attributes, BatchObservableCallback, Counter, Meter } from '@opentelemetry/api';

export interface OutboxGauges {
  readonly pending: number;
  readonly pendingBytes: number;
  readonly deadLetters: number;
  readonly maxRows: number;
  readonly maxBytes: number;
  /** Writes wait on a failure no breaker sees (stats.lastErrorKind 'attention'). */
  readonly stalled: boolean;
}

export class OutboxMetrics {
  readonly #attributes: Attributes;
  readonly #delivered: Counter;
  readonly #replayed: Counter;
  readonly #deadLettered: Counter;
  readonly #refused: Counter;
  readonly #refusedBy: Record<'full' | 'unstorable' | 'closed', Attributes>;
  readonly #dispose: () => void;

  constructor(meter: Meter, name: string, gauges: () => OutboxGauges) {
    this.#attributes = { outbox: name };
    this.#refusedBy = { full: { outbox: name, reason: 'full' }, unstorable: { outbox: name, reason: 'unstorable' }, closed: { outbox: name, reason: 'closed' } };
    this.#delivered = meter.createCounter('phlow.outbox.delivered', { description: 'Writes that reached the database (first attempt or replay)', unit: '{write}' });
    this.#replayed = meter.createCounter('phlow.outbox.replayed', { description: 'Writes that reached the database on a replay, after their first attempt failed or the process restarted', unit: '{write}' });
    this.#deadLettered = meter.createCounter('phlow.outbox.dead_lettered', { description: 'Writes the database refused for good, moved to the dead letters', unit: '{write}' });
    this.#refused = meter.createCounter('phlow.outbox.refused', { description: 'Writes refused before they were queued (reason: full, unstorable, closed)', unit: '{write}' });
    const pending = meter.createObservableGauge('phlow.outbox.pending', { description: 'Writes waiting in the outbox', unit: '{write}' });
    const bytes = meter.createObservableGauge('phlow.outbox.pending_bytes', { description: 'Bytes (rows as JSON) waiting in the outbox', unit: 'By' });
    const dead = meter.createObservableGauge('phlow.outbox.dead_letters', { description: 'Writes in the dead letters', unit: '{write}' });
    const maxRows = meter.createObservableGauge('phlow.outbox.max_rows', { description: 'The outbox cap in writes (maxRows)', unit: '{write}' });
    const maxBytes = meter.createObservableGauge('phlow.outbox.max_bytes', { description: 'The outbox cap in bytes (maxBytes)', unit: 'By' });
    const stalled = meter.createObservableGauge('phlow.outbox.stalled', {
      description: '1 while writes wait on a failure no breaker sees (Supabase answers, they do not land: a missing column or permission, an answer that is not the rows, the outbox file failing)',
    });
    const observables = [pending, bytes, dead, maxRows, maxBytes, stalled];
    const observe: BatchObservableCallback = (result) => {
        const now = gauges();
        result.observe(pending, now.pending, this.#attributes);
        result.observe(bytes, now.pendingBytes, this.#attributes);
        result.observe(dead, now.deadLetters, this.#attributes);
        result.observe(maxRows, now.maxRows, this.#attributes);
        result.observe(maxBytes, now.maxBytes, this.#attributes);
        result.observe(stalled, now.stalled ? 1 : 0, this.#attributes);
    };
    meter.addBatchObservableCallback(observe, observables);
    this.#dispose = () => meter.removeBatchObservableCallback(observe, observables);
  }

  /** Stops observing the gauges (the outbox is closed). */
  dispose(): void {
    this.#dispose();
  }

  recordDelivered(count: number, replayed: number): void {
    if (count > 0) this.#delivered.add(count, this.#attributes);
    if (replayed > 0) this.#replayed.add(replayed, this.#attributes);
  }

  recordDeadLettered(): void {
    this.#deadLettered.add(1, this.#attributes);
  }

  recordRefused(reason: 'full' | 'unstorable' | 'closed'): void {
    this.#refused.add(1, this.#refusedBy[reason]);
  }
}
