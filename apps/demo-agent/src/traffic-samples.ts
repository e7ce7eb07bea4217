/**
 * The dashboard's chart: calls, failures and rejections of every breaker per interval, from the
 * registry's running totals. Starts with a full window of zeros, so the chart is drawn from the first
 * second.
 */
import type { CircuitBreakerRegistry, CircuitBreakerStats } from '@phlow/circuit-breaker';

export interface Sample {
  readonly t: number;
  readonly calls: number;
  readonly failures: number;
  readonly rejections: number;
}

type Totals = Omit<Sample, 't'>;

function totals(stats: Record<string, CircuitBreakerStats>): Totals {
  let calls = 0;
  let failures = 0;
  let rejections = 0;
  for (const s of Object.values(stats)) {
    calls += s.total_calls;
    failures += s.total_failures;
    rejections += s.total_rejections;
  }
  return { calls, failures, rejections };
}

export interface TrafficSamplesOptions {
  /** Samples kept (the window). Default 120. */
  readonly size?: number;
  /** Interval a sample covers (ms). Default 1 000. */
  readonly everyMs?: number;
}

export class TrafficSamples {
  readonly #registry: CircuitBreakerRegistry;
  readonly #size: number;
  readonly #samples: Sample[];
  #last: Totals = { calls: 0, failures: 0, rejections: 0 };
  readonly #timer: NodeJS.Timeout;

  /** Samples the registry every `everyMs` until {@link dispose}. */
  constructor(registry: CircuitBreakerRegistry, { size = 120, everyMs = 1_000 }: TrafficSamplesOptions = {}) {
    this.#registry = registry;
    this.#size = size;
    const now = Date.now();
    this.#samples = Array.from({ length: size }, (_, i) => ({ t: now - (size - i) * everyMs, calls: 0, failures: 0, rejections: 0 }));
    this.#timer = setInterval(() => this.take(), everyMs);
  }

  /** Oldest first; the newest covers the last interval. */
  get samples(): readonly Sample[] {
    return this.#samples;
  }

  /** Takes a sample now: what the breakers counted since the last one (a reset counts as nothing). */
  take(): void {
    const now = totals(this.#registry.getStats());
    this.#samples.push({
      t: Date.now(),
      calls: Math.max(0, now.calls - this.#last.calls),
      failures: Math.max(0, now.failures - this.#last.failures),
      rejections: Math.max(0, now.rejections - this.#last.rejections),
    });
    if (this.#samples.length > this.#size) this.#samples.shift();
    this.#last = now;
  }

  dispose(): void {
    clearInterval(this.#timer);
  }
}
