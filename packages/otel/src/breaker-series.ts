import type { Attributes } from '@opentelemetry/api';
import { CIRCUIT_STATES, type CircuitBreaker, type CircuitState } from '@phlow/circuit-breaker';
import { CallDurationAggregate, type CallDurationPoint } from './call-duration-aggregate.js';
import { CALL_OUTCOMES, METRIC_ATTR_FROM, METRIC_ATTR_NAME, METRIC_ATTR_OUTCOME, METRIC_ATTR_STATE, METRIC_ATTR_TO, OVERFLOW_SERIES_NAME, type CallOutcome } from './telemetry-names.js';

/** Outcomes of calls the breaker admitted: the ones with a duration. */
export type TimedOutcome = Exclude<CallOutcome, 'rejected'>;

/** Calls by outcome, mutually exclusive, in {@link CALL_OUTCOMES} order. */
export type OutcomeCounts = number[];

function countsOf(breaker: CircuitBreaker): OutcomeCounts {
  const stats = breaker.getStats();
  return [
    stats.total_successes,
    stats.total_failures - stats.total_timeouts,
    stats.total_timeouts,
    stats.total_rejections,
    stats.total_ignored,
  ];
}

/**
 * One value of the `name` metric attribute and everything reported under it: a named breaker, a
 * whole keyed family (unless per-key series are on), or the overflow beyond the cap. Counts are read
 * from the breakers' own totals at collection, so a call pays nothing for them; what a retired family
 * member had counted is kept, so counters never go backwards. Attribute objects are built once here.
 */
export class BreakerSeries {
  readonly attributes: Attributes;
  /** Per state, in {@link CIRCUIT_STATES} order. */
  readonly stateAttributes: readonly Attributes[];
  /** Per outcome, in {@link CALL_OUTCOMES} order. */
  readonly outcomeAttributes: Readonly<Record<CallOutcome, Attributes>>;
  /** The breakers reporting here now, each with its totals when it joined (counted from then on). */
  private readonly members = new Map<CircuitBreaker, OutcomeCounts>();
  /** What members that left had counted while here. */
  private readonly retired: OutcomeCounts = CALL_OUTCOMES.map(() => 0);

  private readonly transitionAttributes = new Map<string, Attributes>();
  /** Duration aggregates by outcome, made when the first breaker attaches with durations on. */
  private readonly durations = new Map<TimedOutcome, CallDurationAggregate>();

  constructor(readonly name: string) {
    this.attributes = Object.freeze({ [METRIC_ATTR_NAME]: name });
    this.stateAttributes = CIRCUIT_STATES.map((state) => Object.freeze({ [METRIC_ATTR_NAME]: name, [METRIC_ATTR_STATE]: state }));
    const outcomes = {} as Record<CallOutcome, Attributes>;
    for (const outcome of CALL_OUTCOMES) outcomes[outcome] = Object.freeze({ [METRIC_ATTR_NAME]: name, [METRIC_ATTR_OUTCOME]: outcome });
    this.outcomeAttributes = outcomes;
  }

  /** `breaker` reports here from now on. */
  add(breaker: CircuitBreaker): void {
    this.members.set(breaker, countsOf(breaker));
  }

  /** `breaker` stops reporting here (retired, or instrumentation disposed); its counts stay. */
  remove(breaker: CircuitBreaker): void {
    const baseline = this.members.get(breaker);
    if (baseline === undefined) return;
    this.members.delete(breaker);
    const now = countsOf(breaker);
    for (let i = 0; i < now.length; i++) this.retired[i]! += now[i]! - baseline[i]!;
  }

  /** Fills `into` with calls by outcome since instrumentation began, in {@link CALL_OUTCOMES} order. */
  readCounts(into: OutcomeCounts): void {
    for (let i = 0; i < into.length; i++) into[i] = this.retired[i]!;
    for (const [breaker, baseline] of this.members) {
      const now = countsOf(breaker);
      for (let i = 0; i < into.length; i++) into[i]! += now[i]! - baseline[i]!;
    }
  }

  /** The duration aggregate of `outcome`, made on first ask (when a breaker attaches, never per call). */
  durationAggregate(outcome: TimedOutcome): CallDurationAggregate {
    let aggregate = this.durations.get(outcome);
    if (aggregate === undefined) {
      aggregate = new CallDurationAggregate(this.outcomeAttributes[outcome], Date.now());
      this.durations.set(outcome, aggregate);
    }
    return aggregate;
  }

  /** Appends to `into` a point per outcome that recorded a call, in {@link CALL_OUTCOMES} order. */
  readDurations(into: CallDurationPoint[]): void {
    for (const outcome of CALL_OUTCOMES) {
      const aggregate = this.durations.get(outcome as TimedOutcome);
      if (aggregate !== undefined && aggregate.recorded > 0) into.push(aggregate.read());
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
    for (const breaker of this.members.keys()) into[STATE_INDEX[breaker.state]] = 1;
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
