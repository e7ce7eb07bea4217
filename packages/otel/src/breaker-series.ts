import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import type { AggregationTemporality, DataPoint, DataPointType, Histogram, MetricData, MetricDescriptor } from '@opentelemetry/sdk-metrics';
import { CIRCUIT_STATES, type CircuitBreaker, type CircuitState } from '@phlow/circuit-breaker';
import { CallDurationAggregate, type CallDurationPoint } from './call-duration-aggregate.js';
import {
  CALL_OUTCOMES,
  CALLS_COUNTER,
  FAILURES_COUNTER,
  METRIC_ATTR_FROM,
  METRIC_ATTR_NAME,
  METRIC_ATTR_OUTCOME,
  METRIC_ATTR_STATE,
  METRIC_ATTR_TO,
  OVERFLOW_SERIES_NAME,
  RECOVERY_BUCKETS,
  RECOVERY_HISTOGRAM,
  STATE_GAUGE,
  STATE_TIME_COUNTER,
  TRANSITIONS_COUNTER,
  type CallOutcome,
  type InstrumentSpec,
} from './telemetry-names.js';

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
 * One value of the `name` metric attribute and everything reported under it: a breaker (standalone
 * or a family member), or an overflow beyond a cap (global, or a family's own). Counts are read
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
  private readonly members = new Map<CircuitBreaker, Member>();
  /** What members that left had counted while here. */
  private readonly retired: OutcomeCounts = CALL_OUTCOMES.map(() => 0);
  /** Seconds members that left had spent per state while here, in {@link CIRCUIT_STATES} order. */
  private readonly retiredSeconds: number[] = CIRCUIT_STATES.map(() => 0);

  private readonly transitionAttributes = new Map<string, Attributes>();
  /** Transitions counted here, for the series producer (the SDK counter counts its own otherwise). */
  private readonly transitionCounts = new Map<Attributes, number>();
  /** Open episodes, for the series producer (the SDK histogram records its own otherwise). */
  readonly recoveries: CallDurationAggregate;
  /** Epoch ms when this series began. */
  readonly startTimeMs = Date.now();
  /** Duration aggregates by outcome, made when the first breaker attaches with durations on. */
  private readonly durations = new Map<TimedOutcome, CallDurationAggregate>();

  constructor(readonly name: string) {
    this.attributes = Object.freeze({ [METRIC_ATTR_NAME]: name });
    this.stateAttributes = CIRCUIT_STATES.map((state) => Object.freeze({ [METRIC_ATTR_NAME]: name, [METRIC_ATTR_STATE]: state }));
    const outcomes = {} as Record<CallOutcome, Attributes>;
    for (const outcome of CALL_OUTCOMES) outcomes[outcome] = Object.freeze({ [METRIC_ATTR_NAME]: name, [METRIC_ATTR_OUTCOME]: outcome });
    this.outcomeAttributes = outcomes;
    this.recoveries = new CallDurationAggregate(this.attributes, this.startTimeMs, RECOVERY_BUCKETS);
  }

  /** Counts a transition (series producer path). */
  countTransition(attributes: Attributes): void {
    this.transitionCounts.set(attributes, (this.transitionCounts.get(attributes) ?? 0) + 1);
  }

  /** Transitions counted by {@link countTransition}, by attribute set. */
  get transitionTotals(): ReadonlyMap<Attributes, number> {
    return this.transitionCounts;
  }

  /** `breaker` reports here from now on. */
  add(breaker: CircuitBreaker): void {
    const now = breaker.options.clock.now();
    const leftClosed = breaker.state === 'closed' ? NaN : now;
    this.members.set(breaker, { baseline: countsOf(breaker), state: STATE_INDEX[breaker.state], enteredAt: now, leftClosedAt: leftClosed, seconds: CIRCUIT_STATES.map(() => 0) });
  }

  /** `breaker` stops reporting here (retired, or instrumentation disposed); its counts and times stay. */
  remove(breaker: CircuitBreaker): void {
    const member = this.members.get(breaker);
    if (member === undefined) return;
    this.members.delete(breaker);
    const now = countsOf(breaker);
    for (let i = 0; i < now.length; i++) this.retired[i]! += now[i]! - member.baseline[i]!;
    addSeconds(member, breaker.options.clock.now(), this.retiredSeconds);
  }

  /**
   * `breaker` went from `from` to `to` at `at` (its clock's ms). Returns the seconds of the open
   * episode this change ends (left closed → closed again), or NaN when it ends none.
   */
  changedState(breaker: CircuitBreaker, to: CircuitState, at: number): number {
    const member = this.members.get(breaker);
    if (member === undefined) return NaN;
    member.seconds[member.state]! += Math.max(0, at - member.enteredAt) / 1000;
    member.state = STATE_INDEX[to];
    member.enteredAt = at;
    if (to !== 'closed') {
      if (member.leftClosedAt !== member.leftClosedAt) member.leftClosedAt = at;
      return NaN;
    }
    const episode = member.leftClosedAt;
    member.leftClosedAt = NaN;
    return Math.max(0, at - episode) / 1000;
  }

  /** Fills `into` (one slot per state) with the seconds members spent in each state, up to now on each one's clock. */
  readStateSeconds(into: number[]): void {
    for (let i = 0; i < into.length; i++) into[i] = this.retiredSeconds[i]!;
    for (const [breaker, member] of this.members) addSeconds(member, breaker.options.clock.now(), into);
  }

  /** No breaker reports here now. */
  get isEmpty(): boolean {
    return this.members.size === 0;
  }

  /** Fills `into` with calls by outcome since instrumentation began, in {@link CALL_OUTCOMES} order. */
  readCounts(into: OutcomeCounts): void {
    for (let i = 0; i < into.length; i++) into[i] = this.retired[i]!;
    for (const [breaker, { baseline }] of this.members) {
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
   * breaker thus reads 1 for its state; an overflow series reads 1 for each state any of its members
   * is in, so the guide's `state="open"} == 1` alert still fires when one of them is open. With no
   * member left (an overflow whose members all retired) it reads closed.
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

/** A breaker reporting under a series: what it had counted when it joined, and its time per state since. */
interface Member {
  readonly baseline: OutcomeCounts;
  /** Index in {@link CIRCUIT_STATES} of the state it is in, entered at `enteredAt` (its clock's ms). */
  state: number;
  enteredAt: number;
  /** When the open episode under way began (left closed), NaN while closed. */
  leftClosedAt: number;
  /** Seconds per state before `enteredAt`. */
  readonly seconds: number[];
}

/** Adds to `into` the seconds `member` spent per state, counting its current state up to `now`. */
function addSeconds(member: Member, now: number, into: number[]): void {
  for (let i = 0; i < into.length; i++) into[i]! += member.seconds[i]!;
  into[member.state]! += Math.max(0, now - member.enteredAt) / 1000;
}

const STATE_INDEX = Object.fromEntries(CIRCUIT_STATES.map((state, i) => [state, i])) as Record<CircuitState, number>;
const CLOSED_INDEX = STATE_INDEX.closed;

/** Where a series was overflowed: the global cap of standalone names, or a family's own cap. */
export interface SeriesOverflow {
  /** The first name that did not fit. */
  readonly name: string;
  /** The family whose cap was reached; undefined for the global cap of standalone breakers. */
  readonly family: string | undefined;
  /** The cap reached. */
  readonly cap: number;
}

/** One keyed family's series: a series per member up to the family's cap, then the family's overflow. */
interface FamilySeries {
  readonly members: Map<string, BreakerSeries>;
  overflow: BreakerSeries | undefined;
  /** Live members reporting in the overflow, longest there first: the next freed slot goes to the first. */
  readonly waiting: Set<CircuitBreaker>;
}

/**
 * Maps breakers to series and keeps the number of distinct `name` values bounded.
 *
 * - A standalone breaker reports under its own name, up to `maxSeriesNames` names; every name ever
 *   handed out counts toward that cap for the life of the table (standalone breakers are made by code,
 *   and do not retire), the rest report as `_overflow`.
 * - A keyed-family member reports under its full name (`family/key`) so that alerts name the
 *   dependency. Keys may come from an attacker (did:web hosts), so each family has a cap of its own,
 *   `maxSeriesPerFamily`: beyond it, that family's new members report as `family/_overflow`, and no
 *   other family is affected. A retired member's series is dropped (no longer reported) and frees its
 *   slot, so hostile keys that come and go never take a real peer's place for good.
 */
export class BreakerSeriesTable {
  private readonly byName = new Map<string, BreakerSeries>();
  private overflow: BreakerSeries | undefined;
  private readonly families = new Map<string, FamilySeries>();

  /**
   * @param freesSlots whether a retired member's slot can go to another member: only when the series reach
   *   the export through a producer, which reports just the live ones. SDK instruments keep every name they
   *   ever saw, so there a freed slot would let the exported names (and the SDK's 2000-set limit, shared
   *   with every other family) grow without bound: each name then counts for the table's life.
   */
  constructor(
    private readonly maxSeriesNames: number,
    private readonly maxSeriesPerFamily: number,
    private readonly freesSlots: boolean,
    private readonly onOverflow: (overflow: SeriesOverflow) => void,
    /**
     * A slot of `breaker`'s family was freed while it waited in the overflow: re-attach it (release it
     * from the overflow, then ask {@link seriesFor} again) and it gets its own series. So a real peer that
     * came while hostile keys held every slot gets its own series, and its own alert, once they retire.
     */
    private readonly onSlotFreed: (breaker: CircuitBreaker) => void = () => {},
  ) {}

  /** The series `breaker` reports under, created (or overflowed) on first use. */
  seriesFor(breaker: CircuitBreaker): BreakerSeries {
    const membership = breaker.membership;
    if (membership !== undefined) return this.memberSeries(membership.family, breaker);
    const existing = this.byName.get(breaker.name);
    if (existing !== undefined) return existing;
    if (this.byName.size >= this.maxSeriesNames) {
      if (this.overflow === undefined) {
        this.overflow = new BreakerSeries(OVERFLOW_SERIES_NAME);
        this.onOverflow({ name: breaker.name, family: undefined, cap: this.maxSeriesNames });
      }
      return this.overflow;
    }
    const series = new BreakerSeries(breaker.name);
    this.byName.set(breaker.name, series);
    return series;
  }

  /**
   * `breaker` stops reporting under `series`. A member's own series with no breaker left is dropped:
   * collection no longer reports it and its slot in the family's cap is free again.
   */
  release(breaker: CircuitBreaker, series: BreakerSeries): void {
    series.remove(breaker);
    const family = breaker.membership === undefined ? undefined : this.families.get(breaker.membership.family);
    if (family === undefined) return;
    family.waiting.delete(breaker);
    if (!this.freesSlots || !series.isEmpty || family.members.get(series.name) !== series) return;
    family.members.delete(series.name);
    const next = family.waiting.values().next();
    if (!next.done) this.onSlotFreed(next.value);
  }

  private memberSeries(familyName: string, breaker: CircuitBreaker): BreakerSeries {
    const name = breaker.name;
    let family = this.families.get(familyName);
    if (family === undefined) {
      family = { members: new Map(), overflow: undefined, waiting: new Set() };
      this.families.set(familyName, family);
    }
    const existing = family.members.get(name);
    if (existing !== undefined) return existing;
    // A member whose key is `_overflow` (an A2A peer at `http://_overflow/`) would share the overflow series'
    // name, and the export would hold two series with one label set: it reports in the overflow instead.
    if (family.members.size >= this.maxSeriesPerFamily || name === `${familyName}/${OVERFLOW_SERIES_NAME}`) {
      if (family.overflow === undefined) {
        family.overflow = new BreakerSeries(`${familyName}/${OVERFLOW_SERIES_NAME}`);
        this.onOverflow({ name, family: familyName, cap: this.maxSeriesPerFamily });
      }
      // Only where a slot can be freed; a member named like the overflow never leaves it.
      if (this.freesSlots && name !== `${familyName}/${OVERFLOW_SERIES_NAME}`) family.waiting.add(breaker);
      return family.overflow;
    }
    const series = new BreakerSeries(name);
    family.members.set(name, series);
    return series;
  }

  /** Every series reported now: standalone ones, the global overflow, then each family's members and overflow. */
  *all(): IterableIterator<BreakerSeries> {
    yield* this.byName.values();
    if (this.overflow !== undefined) yield this.overflow;
    for (const family of this.families.values()) {
      yield* family.members.values();
      if (family.overflow !== undefined) yield family.overflow;
    }
  }
}

/** Epoch ms as an OTel `HrTime`. */
function hrTimeOf(ms: number): HrTime {
  const seconds = Math.floor(ms / 1000);
  return [seconds, Math.round((ms - seconds * 1000) * 1e6)];
}

// Numeric values of the SDK's enums: this module is part of the API-only entry and imports the SDK's types only.
const CUMULATIVE = 1 as AggregationTemporality.CUMULATIVE;
const HISTOGRAM = 0 as DataPointType.HISTOGRAM;
const GAUGE = 2 as DataPointType.GAUGE;
const SUM = 3 as DataPointType.SUM;

function descriptorOf(spec: InstrumentSpec): MetricDescriptor {
  return { name: spec.name, description: spec.description, unit: spec.unit, valueType: ValueType.DOUBLE };
}

/**
 * `point` as a cumulative histogram data point from its start to `endTime`; with no recording yet it has
 * no min or max. `boundaries` may be one array shared by every point of a collection, as the SDK shares
 * its aggregator's.
 */
export function histogramDataPoint(point: CallDurationPoint, endTime: HrTime, boundaries: number[] = [...point.boundaries]): DataPoint<Histogram> {
  const { count, sum, counts, min, max } = point;
  return {
    attributes: point.attributes,
    startTime: hrTimeOf(point.startTimeMs),
    endTime,
    value: { buckets: { boundaries, counts }, sum, count, ...(count === 0 ? {} : { min, max }) },
  };
}

/** The cumulative histogram `spec` with `dataPoints`, as a metric producer hands it to a reader. */
export function histogramMetricData(spec: InstrumentSpec, dataPoints: DataPoint<Histogram>[]): MetricData {
  return { descriptor: descriptorOf(spec), aggregationTemporality: CUMULATIVE, dataPointType: HISTOGRAM, dataPoints };
}

/**
 * Every series of `series` as SDK metric data, for a metric producer on the reader: the state gauge,
 * the failure, call, transition and state-time counters and the recovery histogram (call durations
 * have a path of their own). Reported this way, a series that is gone (a retired member) is simply not
 * in the next collection. SDK instruments cannot do that: sdk-metrics 3.1 keeps every attribute set an
 * instrument ever saw, with cumulative temporality, and keeps exporting its last value for the life of
 * the provider (and, past 2000 sets, reports new ones only as `otel.metric.overflow`).
 */
export function seriesMetricData(series: Iterable<BreakerSeries>, endTimeMs: number): MetricData[] {
  const endTime = hrTimeOf(endTimeMs);
  const states: DataPoint<number>[] = [];
  const failures: DataPoint<number>[] = [];
  const calls: DataPoint<number>[] = [];
  const transitions: DataPoint<number>[] = [];
  const stateTime: DataPoint<number>[] = [];
  const recoveries: DataPoint<Histogram>[] = [];
  const stateValues = new Array<number>(CIRCUIT_STATES.length).fill(0);
  const counts = new Array<number>(CALL_OUTCOMES.length).fill(0);
  const seconds = new Array<number>(CIRCUIT_STATES.length).fill(0);
  for (const one of series) {
    const startTime = hrTimeOf(one.startTimeMs);
    const point = (attributes: Attributes, value: number) => ({ attributes, startTime, endTime, value });
    one.readStates(stateValues);
    for (let i = 0; i < stateValues.length; i++) states.push(point(one.stateAttributes[i]!, stateValues[i]!));
    one.readCounts(counts);
    failures.push(point(one.attributes, counts[FAILURE_INDEX]! + counts[TIMEOUT_INDEX]!));
    for (let i = 0; i < counts.length; i++) calls.push(point(one.outcomeAttributes[CALL_OUTCOMES[i]!], counts[i]!));
    for (const [attributes, count] of one.transitionTotals) transitions.push(point(attributes, count));
    one.readStateSeconds(seconds);
    for (let i = 0; i < seconds.length; i++) stateTime.push(point(one.stateAttributes[i]!, seconds[i]!));
    // Reported from the start, at count 0 before the first recovery: a series that first appears at count 1
    // hides that recovery from `increase()` and `rate()` over a window (the Grafana panel's query).
    recoveries.push(histogramDataPoint(one.recoveries.read(), endTime));
  }
  const sum = (spec: InstrumentSpec, dataPoints: DataPoint<number>[]): MetricData => ({
    descriptor: descriptorOf(spec),
    aggregationTemporality: CUMULATIVE,
    dataPointType: SUM,
    isMonotonic: true,
    dataPoints,
  });
  const metrics: MetricData[] = [];
  if (states.length > 0) {
    metrics.push(
      { descriptor: descriptorOf(STATE_GAUGE), aggregationTemporality: CUMULATIVE, dataPointType: GAUGE, dataPoints: states },
      sum(FAILURES_COUNTER, failures),
      sum(CALLS_COUNTER, calls),
      sum(STATE_TIME_COUNTER, stateTime),
    );
  }
  if (transitions.length > 0) metrics.push(sum(TRANSITIONS_COUNTER, transitions));
  if (recoveries.length > 0) metrics.push(histogramMetricData(RECOVERY_HISTOGRAM, recoveries));
  return metrics;
}

const FAILURE_INDEX = CALL_OUTCOMES.indexOf('failure');
const TIMEOUT_INDEX = CALL_OUTCOMES.indexOf('timeout');
