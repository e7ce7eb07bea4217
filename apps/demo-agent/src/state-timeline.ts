/**
 * The dashboard's state timeline: for each breaker, the states it was in over the last few minutes, as
 * segments `[from, to)` (epoch ms; `to` is null for the state it is in now). Bounded twice, because
 * breaker names and state changes can come from hostile peers: at most `maxRows` breakers
 * ({@link BreakerRows}), and at most `maxSegments` segments per breaker — a breaker that flaps faster
 * keeps its latest ones, and its row says from when on its history is known (`known_from`).
 */
import type { CircuitBreaker, CircuitBreakerRegistry, CircuitState } from '@phlow/circuit-breaker';
import { BreakerRows } from './breaker-rows.js';

export interface Segment {
  readonly state: CircuitState;
  readonly from: number;
  /** When it ended; null while the breaker is still in it. */
  readonly to: number | null;
}

export interface TimelineRow {
  readonly name: string;
  /** Start of the history kept: the window's start, or later when segments were dropped or the breaker is younger. */
  readonly known_from: number;
  /** Oldest first, clipped to the window. */
  readonly segments: readonly Segment[];
}

export interface Timeline {
  readonly now: number;
  readonly window_ms: number;
  readonly max_rows: number;
  readonly max_segments: number;
  /** Breakers in the registry that have no row (more than `max_rows`). */
  readonly hidden: number;
  readonly rows: readonly TimelineRow[];
}

export interface StateTimelineOptions {
  /** How far back the timeline reaches (ms). Default 300 000 (5 minutes). */
  readonly windowMs?: number;
  /** Most breakers with a row. Default 24. */
  readonly maxRows?: number;
  /** Most segments kept per breaker. Default 32. */
  readonly maxSegments?: number;
  /** Wall time (epoch ms); injectable for tests. Default `Date.now`. */
  readonly now?: () => number;
}

class History {
  /** Ended segments, oldest first, then the current state. */
  readonly ended: Segment[] = [];
  knownFrom: number;
  state: CircuitState;
  since: number;
  readonly #subscription: { dispose(): void };

  constructor(breaker: CircuitBreaker, now: () => number, maxSegments: number) {
    this.state = breaker.state;
    this.since = this.knownFrom = now();
    this.#subscription = breaker.onStateChange((e) => {
      const at = now();
      this.ended.push({ state: this.state, from: this.since, to: at });
      // The current state is a segment too: keep maxSegments - 1 ended ones.
      if (this.ended.length > maxSegments - 1) this.knownFrom = this.ended.splice(0, this.ended.length - (maxSegments - 1)).at(-1)!.to!;
      this.state = e.to;
      this.since = at;
    });
  }

  dispose(): void {
    this.#subscription.dispose();
  }
}

export class StateTimeline {
  readonly #rows: BreakerRows<History>;
  readonly #windowMs: number;
  readonly #maxSegments: number;
  readonly #now: () => number;

  /** Records the state changes of `registry`'s breakers until {@link dispose}. */
  constructor(registry: CircuitBreakerRegistry, { windowMs = 300_000, maxRows = 24, maxSegments = 32, now = Date.now }: StateTimelineOptions = {}) {
    if (!Number.isFinite(windowMs) || windowMs <= 0) throw new RangeError(`windowMs must be a number > 0; got ${String(windowMs)}`);
    if (!Number.isInteger(maxSegments) || maxSegments < 1) throw new RangeError(`maxSegments must be an integer >= 1; got ${String(maxSegments)}`);
    this.#windowMs = windowMs;
    this.#maxSegments = maxSegments;
    this.#now = now;
    this.#rows = new BreakerRows(registry, maxRows, (breaker) => new History(breaker, now, maxSegments));
  }

  /** The timeline now; also forgets segments that ended before the window. */
  read(): Timeline {
    const now = this.#now();
    const start = now - this.#windowMs;
    const rows: TimelineRow[] = [];
    for (const [breaker, history] of this.#rows.entries()) {
      const old = history.ended.findIndex((s) => s.to! > start);
      history.ended.splice(0, old === -1 ? history.ended.length : old);
      const segments = [...history.ended, { state: history.state, from: history.since, to: null }].map((s) => (s.from < start ? { ...s, from: start } : s));
      rows.push({ name: breaker.name, known_from: Math.max(start, history.knownFrom), segments });
    }
    return { now, window_ms: this.#windowMs, max_rows: this.#rows.maxRows, max_segments: this.#maxSegments, hidden: this.#rows.hidden, rows };
  }

  dispose(): void {
    this.#rows.dispose();
  }
}
