import type { Attributes } from '@opentelemetry/api';
import { CIRCUIT_STATES, type CircuitBreaker, type CircuitState } from '@phlow/circuit-breaker';
import {
  CALL_OUTCOMES,
  METRIC_ATTR_FROM,
  METRIC_ATTR_NAME,
  METRIC_ATTR_OUTCOME,
  METRIC_ATTR_STATE,
  METRIC_ATTR_TO,
  OVERFLOW_SERIES_NAME,
  type CallOutcome,
} from './telemetry-names.js';

/**
 * One value of the `name` metric attribute and everything reported under it: a named breaker, a
 * whole keyed family (unless per-key series are on), or the overflow beyond the cap. Counts are plain
 * numbers bumped on the call path and read by observable instruments at collection, so a call pays
 * for an increment, not for an SDK lookup. Attribute objects are built once here.
 */
export class BreakerSeries {
  readonly attributes: Attributes;
  /** Per state, in {@link CIRCUIT_STATES} order. */
  readonly stateAttributes: readonly Attributes[];
  /** Per outcome, in {@link CALL_OUTCOMES} order. */
  readonly outcomeAttributes: Readonly<Record<CallOutcome, Attributes>>;
  /** The breakers reporting here now. */
  readonly members = new Set<CircuitBreaker>();

  successes = 0;
  failures = 0;
  timeouts = 0;
  rejections = 0;
  ignored = 0;

  private readonly transitionAttributes = new Map<string, Attributes>();

  constructor(readonly name: string) {
    this.attributes = Object.freeze({ [METRIC_ATTR_NAME]: name });
    this.stateAttributes = CIRCUIT_STATES.map((state) => Object.freeze({ [METRIC_ATTR_NAME]: name, [METRIC_ATTR_STATE]: state }));
    const outcomes = {} as Record<CallOutcome, Attributes>;
    for (const outcome of CALL_OUTCOMES) outcomes[outcome] = Object.freeze({ [METRIC_ATTR_NAME]: name, [METRIC_ATTR_OUTCOME]: outcome });
    this.outcomeAttributes = outcomes;
  }

  /** Calls ended with `outcome` so far. */
  count(outcome: CallOutcome): number {
    switch (outcome) {
      case 'success':
        return this.successes;
      case 'failure':
        return this.failures;
      case 'timeout':
        return this.timeouts;
      case 'rejected':
        return this.rejections;
      case 'ignored':
        return this.ignored;
    }
  }

  /** Attributes of a transition, built on its first occurrence (at most 20 pairs of states). */
  transition(from: CircuitState, to: CircuitState): Attributes {
    const key = `${from}>${to}`;
    let attributes = this.transitionAttributes.get(key);
    if (attributes === undefined) {
      attributes = Object.freeze({ [METRIC_ATTR_NAME]: this.name, [METRIC_ATTR_FROM]: from, [METRIC_ATTR_TO]: to });
      this.transitionAttributes.set(key, attributes);
    }
    return attributes;
  }

  /**
   * Fills `into` (one slot per state) with 1 for every state some member is in, 0 otherwise. A single
   * breaker thus reads 1 for its state; a family reads 1 for each state any member is in, so the
   * guide's `state="open"} == 1` alert fires when any member is open. With no member left (a family
   * whose members were all retired, which only happens to closed ones) it reads closed.
   */
  readStates(into: number[]): void {
    into.fill(0);
    if (this.members.size === 0) {
      into[CLOSED_INDEX] = 1;
      return;
    }
    for (const breaker of this.members) into[STATE_INDEX[breaker.state]] = 1;
  }
}

const STATE_INDEX = Object.fromEntries(CIRCUIT_STATES.map((state, i) => [state, i])) as Record<CircuitState, number>;
const CLOSED_INDEX = STATE_INDEX.closed;

/**
 * Maps breakers to series and keeps the number of distinct `name` values bounded. Every name ever
 * handed out counts toward the cap for the life of the table, because the SDK keeps a cumulative
 * counter's series for as long as the process runs anyway.
 */
export class BreakerSeriesTable {
  private readonly byName = new Map<string, BreakerSeries>();
  private overflow: BreakerSeries | undefined;

  constructor(
    private readonly maxSeriesNames: number,
    private readonly perKeySeries: boolean,
    private readonly onOverflow: (name: string) => void,
  ) {}

  /** The series `breaker` reports under, created (or overflowed) on first use. */
  seriesFor(breaker: CircuitBreaker): BreakerSeries {
    const name = this.perKeySeries || breaker.membership === undefined ? breaker.name : breaker.membership.family;
    const existing = this.byName.get(name);
    if (existing !== undefined) return existing;
    if (this.byName.size >= this.maxSeriesNames) {
      if (this.overflow === undefined) {
        this.overflow = new BreakerSeries(OVERFLOW_SERIES_NAME);
        this.onOverflow(name);
      }
      return this.overflow;
    }
    const series = new BreakerSeries(name);
    this.byName.set(name, series);
    return series;
  }

  /** Every series, the overflow last. */
  *all(): IterableIterator<BreakerSeries> {
    yield* this.byName.values();
    if (this.overflow !== undefined) yield this.overflow;
  }
}
