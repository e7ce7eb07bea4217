import { RecordingError } from './recording-error.js';
import { OUTCOME_CODE, type CallOutcome, type Traffic } from './traffic.js';

/** Collects calls per breaker into growing columns, then sorts each breaker's calls by start. */
export class TrafficBuilder {
  private readonly breakers = new Map<string, Columns>();

  constructor(private readonly maxBreakers = 10_000) {}

  add(breaker: string, start: number, duration: number, outcome: CallOutcome): void {
    let columns = this.breakers.get(breaker);
    if (columns === undefined) {
      if (this.breakers.size >= this.maxBreakers) throw new RecordingError(`more than ${this.maxBreakers} breakers`);
      columns = new Columns();
      this.breakers.set(breaker, columns);
    }
    columns.push(start, duration, OUTCOME_CODE[outcome]);
  }

  get size(): number {
    let calls = 0;
    for (const c of this.breakers.values()) calls += c.length;
    return calls;
  }

  build(): Map<string, Traffic> {
    const out = new Map<string, Traffic>();
    for (const [name, columns] of this.breakers) out.set(name, columns.toTraffic(name));
    return out;
  }
}

class Columns {
  start = new Float64Array(1024);
  duration = new Float32Array(1024);
  outcome = new Uint8Array(1024);
  length = 0;
  sorted = true;

  push(start: number, duration: number, outcome: number): void {
    if (this.length === this.start.length) {
      const grow = <T extends Float64Array | Float32Array | Uint8Array>(a: T): T => {
        const next = new (a.constructor as new (n: number) => T)(a.length * 2);
        next.set(a);
        return next;
      };
      this.start = grow(this.start);
      this.duration = grow(this.duration);
      this.outcome = grow(this.outcome);
    }
    if (this.length > 0 && start < this.start[this.length - 1]!) this.sorted = false;
    this.start[this.length] = start;
    this.duration[this.length] = duration;
    this.outcome[this.length++] = outcome;
  }

  toTraffic(name: string): Traffic {
    const n = this.length;
    const start = this.start.slice(0, n);
    const duration = this.duration.slice(0, n);
    const outcome = this.outcome.slice(0, n);
    if (this.sorted) return { name, start, duration, outcome };
    // Recorders write a call when it ends, so starts arrive nearly but not quite in order.
    const order = new Uint32Array(n).map((_, i) => i).sort((a, b) => start[a]! - start[b]! || a - b);
    return {
      name,
      start: Float64Array.from(order, (i) => start[i]!),
      duration: Float32Array.from(order, (i) => duration[i]!),
      outcome: Uint8Array.from(order, (i) => outcome[i]!),
    };
  }
}
