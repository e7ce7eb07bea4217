/**
 * p50 and p99 of each breaker's recent calls, for the dashboard: the durations the breaker measures
 * itself (its success and failure events; rejected calls never ran and are not counted). Each breaker
 * keeps its last `maxCalls` durations in a fixed ring, and only those younger than `windowMs` count, so
 * memory is `maxRows × maxCalls` numbers however busy or numerous the breakers get ({@link BreakerRows}).
 * Percentiles are exact over that sample (nearest rank), computed when read, not per call.
 */
import type { CircuitBreaker, CircuitBreakerRegistry } from '@phlow/circuit-breaker';
import { BreakerRows } from './breaker-rows.js';

export interface Latency {
  /** Calls in the sample. */
  readonly calls: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
}

export interface CallLatenciesOptions {
  /** Most recent calls kept per breaker. Default 500. */
  readonly maxCalls?: number;
  /** Calls older than this (ms) no longer count. Default 300 000 (5 minutes). */
  readonly windowMs?: number;
  /** Most breakers followed. Default 24. */
  readonly maxRows?: number;
  /** Wall time (epoch ms); injectable for tests. Default `Date.now`. */
  readonly now?: () => number;
}

class Ring {
  readonly durations: Float64Array;
  readonly at: Float64Array;
  /** Calls recorded so far (the ring holds the last `durations.length`). */
  count = 0;
  readonly #subscriptions: { dispose(): void }[];

  constructor(breaker: CircuitBreaker, size: number, now: () => number) {
    this.durations = new Float64Array(size);
    this.at = new Float64Array(size);
    const record = (e: { durationMs: number }) => {
      // NaN: the call started before this listener was attached, so the breaker did not time it.
      if (Number.isNaN(e.durationMs)) return;
      const i = this.count++ % size;
      this.durations[i] = e.durationMs;
      this.at[i] = now();
    };
    this.#subscriptions = [breaker.onSuccess(record), breaker.onFailure(record)];
  }

  dispose(): void {
    for (const s of this.#subscriptions) s.dispose();
  }
}

/** The value at rank ceil(q × n) of `sorted` (nearest rank: always one of the measured durations). */
function percentile(sorted: Float64Array, q: number): number {
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
}

export class CallLatencies {
  readonly #rows: BreakerRows<Ring>;
  readonly #windowMs: number;
  readonly #now: () => number;

  /** Measures the calls of `registry`'s breakers until {@link dispose}. */
  constructor(registry: CircuitBreakerRegistry, { maxCalls = 500, windowMs = 300_000, maxRows = 24, now = Date.now }: CallLatenciesOptions = {}) {
    if (!Number.isInteger(maxCalls) || maxCalls < 1) throw new RangeError(`maxCalls must be an integer >= 1; got ${String(maxCalls)}`);
    if (!Number.isFinite(windowMs) || windowMs <= 0) throw new RangeError(`windowMs must be a number > 0; got ${String(windowMs)}`);
    this.#windowMs = windowMs;
    this.#now = now;
    this.#rows = new BreakerRows(registry, maxRows, (breaker) => new Ring(breaker, maxCalls, now));
  }

  /** Each followed breaker's latency by name; null for one without a call in the window. */
  read(): Map<string, Latency | null> {
    const start = this.#now() - this.#windowMs;
    const result = new Map<string, Latency | null>();
    for (const [breaker, ring] of this.#rows.entries()) {
      const held = Math.min(ring.count, ring.durations.length);
      const recent: number[] = [];
      for (let i = 0; i < held; i++) if (ring.at[i]! > start) recent.push(ring.durations[i]!);
      if (recent.length === 0) {
        result.set(breaker.name, null);
        continue;
      }
      const sorted = Float64Array.from(recent).sort();
      result.set(breaker.name, { calls: sorted.length, p50_ms: percentile(sorted, 0.5), p99_ms: percentile(sorted, 0.99) });
    }
    return result;
  }

  dispose(): void {
    this.#rows.dispose();
  }
}
