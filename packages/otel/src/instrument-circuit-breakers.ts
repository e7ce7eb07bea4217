import { context, diag, metrics, trace, type MeterProvider } from '@opentelemetry/api';
import type { CircuitBreaker, CircuitBreakerRegistry, Disposable, DisposableLike, DurationSampling, StateChangeEvent } from '@phlow/circuit-breaker';
import { checkInteger, checkKnownKeys, combineDisposables, resolveDurationSampling } from '@phlow/circuit-breaker/internal';
import { BreakerSeriesTable, seriesMetricData, type BreakerSeries } from './breaker-series.js';
import type { CallDurationPoint } from './call-duration-aggregate.js';
import { hasCallDurationProducerFor, hasSeriesProducerFor, registerCallDurationSource } from './call-duration-hub.js';
import { partialReaderCoverage, warnReadersWithoutProducer, watchReaderCoverage } from './reader-coverage.js';
import { isBreakerSpanContext, rejectionAttributes } from './breaker-span.js';
import { CircuitBreakerMetrics } from './circuit-breaker-metrics.js';
import { instrumentPolicyEvents } from './policy-telemetry.js';
import {
  EVENT_REJECTED,
  EVENT_STATE_CHANGE,
  EVENT_TIMEOUT,
  INSTRUMENTATION_SCOPE,
  OVERFLOW_SERIES_NAME,
  SPAN_ATTR_FROM,
  SPAN_ATTR_NAME,
  SPAN_ATTR_REASON,
  SPAN_ATTR_TIMEOUT_MS,
  SPAN_ATTR_TO,
} from './telemetry-names.js';
import { VERSION } from './version.js';
import { checkBoolean, describeValue, orDefault } from './describe-value.js';

/** Options of {@link instrumentCircuitBreakers}. */
export interface RegistryInstrumentationOptions {
  /** Where the instruments come from; the global meter provider by default. */
  readonly meterProvider?: MeterProvider;
  /** Record metrics (default true). */
  readonly metrics?: boolean;
  /**
   * The `phlow.circuit_breaker.call.duration` histogram (default `true`):
   * - `true`: `'producer'` when a `CircuitBreakerMetricProducer` (`@phlow/otel/sdk`) is live for the
   *   meter provider — `startTelemetry` makes one — else `'sdk-histogram'`, with a `diag` warning.
   * - `'producer'`: aggregate per series here (a bucket scan per call, no allocation) and let the
   *   producer hand the totals to the SDK at collection. Without a producer on the reader, the
   *   histogram is not exported (it stays readable from {@link RegistryInstrumentation.readCallDurations}).
   * - `'sdk-histogram'`: record every call into an SDK histogram instrument (views apply; the SDK spends
   *   ~0.7 µs a recording hashing the attribute set, several times a closed call's own cost).
   * - `false`: no histogram. Counts and state stay, and then cost a call nothing.
   *
   * A timed call reads the clock twice (40–100 ns each on common virtual machines): see
   * `callDurationSampling` for which calls are timed.
   */
  readonly callDurations?: boolean | 'producer' | 'sdk-histogram';
  /**
   * Which calls the `'producer'` histogram times, per breaker. By default every call while a breaker
   * makes up to 1000 a second; beyond that one call picked at random in each run of 64, counting for
   * the 64 — so `_count`, `_sum` and the buckets of each outcome are then unbiased estimates and
   * quantiles come from thousands of calls a second. `{ everyCallUpTo, thenOneIn }` tunes both; `false` times
   * every call. (The `'sdk-histogram'` path times every call.)
   */
  readonly callDurationSampling?: DurationSampling | false;
  /**
   * Add span events (rejection, timeout, state change) to the span active where they happen
   * (default true). Costs nothing on calls that are neither rejected nor timed out.
   */
  readonly spanEvents?: boolean;
  /**
   * Most distinct `name` values of standalone breakers (not family members) ever reported (default
   * 200); breakers beyond it report under `name="_overflow"`.
   */
  readonly maxSeriesNames?: number;
  /**
   * Most members of one keyed family reported under their own `name` (`family/key`) at a time
   * (default 100); that family's members beyond it report under `name="family/_overflow"`. Each family
   * has its own cap, and a retired member frees its slot, so keys an attacker controls (did:web hosts)
   * fill only their own family's overflow.
   */
  readonly maxSeriesPerFamily?: number;
  /**
   * Report what resilience policies built on the registry do — retries, budget exhaustion, fallbacks,
   * bulkheads, timeouts, rate limits, hedges — as `phlow.retry.*`, `phlow.fallback.*`,
   * `phlow.bulkhead.*`, … metrics and span events (default true; a registry only, not a single breaker).
   */
  readonly policyEvents?: boolean;
  /** Most distinct policy names reported as the `policy` label (default 200); later ones as `"_overflow"`. */
  readonly maxPolicyNames?: number;
}

/** How an instrumentation records call durations (see {@link RegistryInstrumentationOptions.callDurations}). */
export type CallDurationMode = 'producer' | 'sdk-histogram' | 'off';

/** What {@link instrumentCircuitBreakers} returns: dispose it (or bind it with `using`) to stop. */
export interface RegistryInstrumentation extends Disposable {
  /** How call durations are recorded, `callDurations: true` resolved. */
  readonly callDurations: CallDurationMode;
  /**
   * In `'producer'` mode, every duration series that recorded a call, cumulative since it began
   * (what `CircuitBreakerMetricProducer` exports); empty in the other modes.
   */
  readCallDurations(): CallDurationPoint[];
}

const OPTION_NAMES = ['meterProvider', 'metrics', 'callDurations', 'callDurationSampling', 'spanEvents', 'maxSeriesNames', 'maxSeriesPerFamily', 'policyEvents', 'maxPolicyNames'] as const;

/** Default of {@link RegistryInstrumentationOptions.maxSeriesNames}. */
export const DEFAULT_MAX_SERIES_NAMES = 200;
/** Default of {@link RegistryInstrumentationOptions.maxSeriesPerFamily}. */
export const DEFAULT_MAX_SERIES_PER_FAMILY = 100;

/**
 * Instruments every breaker of `source` — a registry (its breakers now and those created later,
 * keyed-family members included) or a single breaker — with the `phlow.circuit_breaker.*` metrics and
 * span events. Dispose the result to stop: listeners are removed and the instruments stop reporting.
 *
 * Call durations are aggregated here and exported by a `CircuitBreakerMetricProducer` when one is live
 * (`startTelemetry` wires it; with your own SDK set-up add `metricProducers: [new CircuitBreakerMetricProducer()]`
 * to your reader before instrumenting); otherwise they go through an SDK histogram (see `callDurations`).
 *
 * @example
 * const telemetry = instrumentCircuitBreakers(getCircuitBreakerRegistry());
 * // ... on shutdown
 * telemetry.dispose();
 */
export function instrumentCircuitBreakers(
  source: CircuitBreakerRegistry | CircuitBreaker,
  options: RegistryInstrumentationOptions = {},
): RegistryInstrumentation {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`instrumentCircuitBreakers options must be an object; got ${describeValue(options)}`);
  }
  checkKnownKeys('instrumentCircuitBreakers options', options, OPTION_NAMES);
  const withMetrics = checkBoolean('metrics', orDefault(options.metrics, true));
  const durationsOption = orDefault(options.callDurations, true);
  if (!CALL_DURATION_OPTIONS.includes(durationsOption)) {
    throw new TypeError(`callDurations must be true, false, "producer" or "sdk-histogram"; got ${describeValue(durationsOption)}`);
  }
  // Checked and copied here: a bad value fails now, not when a breaker is attached, and a caller changing
  // its object afterwards changes nothing (a breaker made later would otherwise throw in getBreaker).
  const resolvedSampling = resolveDurationSampling('callDurationSampling', options.callDurationSampling);
  const sampling: DurationSampling | false = resolvedSampling === null ? false : resolvedSampling;
  const withSpanEvents = checkBoolean('spanEvents', orDefault(options.spanEvents, true));
  const maxSeriesNames = checkInteger('maxSeriesNames', orDefault(options.maxSeriesNames, DEFAULT_MAX_SERIES_NAMES), 1);
  const maxSeriesPerFamily = checkInteger('maxSeriesPerFamily', orDefault(options.maxSeriesPerFamily, DEFAULT_MAX_SERIES_PER_FAMILY), 1);
  const withPolicyEvents = checkBoolean('policyEvents', orDefault(options.policyEvents, true));
  const maxPolicyNames = checkInteger('maxPolicyNames', orDefault(options.maxPolicyNames, DEFAULT_MAX_SERIES_NAMES), 1);
  const meterProvider = orDefault(options.meterProvider, metrics.getMeterProvider());
  if (typeof meterProvider?.getMeter !== 'function') {
    throw new TypeError(`meterProvider must be an OpenTelemetry MeterProvider (with getMeter); got ${describeValue(meterProvider)}`);
  }
  if (!isRegistry(source) && !isBreaker(source)) {
    throw new TypeError(`instrumentCircuitBreakers needs a CircuitBreakerRegistry or a CircuitBreaker; got ${describeValue(source)}`);
  }

  // Some readers carry a producer, some not: what went through producers only would miss the latter, so the
  // series (and, by default, durations) take SDK instruments, which every reader collects.
  const partialCoverage = withMetrics ? partialReaderCoverage(meterProvider) : undefined;
  const durationMode = withMetrics
    ? resolveDurationMode(partialCoverage !== undefined && durationsOption === true ? 'sdk-histogram' : durationsOption, meterProvider)
    : 'off';
  // Series through the producer when every producer of the provider reads them: then a retired
  // member's series really leaves the export (SDK instruments would keep reporting it).
  const seriesByProducer = withMetrics && partialCoverage === undefined && hasSeriesProducerFor(meterProvider);
  if (partialCoverage !== undefined) warnReadersWithoutProducer(meterProvider, partialCoverage, durationMode);
  /** Each instrumented breaker's metric subscriptions, so a breaker can move from an overflow to its own series. */
  const metricAttachments = new Map<CircuitBreaker, Disposable>();
  const table: BreakerSeriesTable = new BreakerSeriesTable(maxSeriesNames, maxSeriesPerFamily, seriesByProducer, ({ name, family, cap }) =>
    diag.warn(
      family === undefined
        ? `@phlow/otel: more than ${cap} circuit breaker names (maxSeriesNames); ` +
            `${JSON.stringify(name)} and later ones report as name="${OVERFLOW_SERIES_NAME}"`
        : `@phlow/otel: more than ${cap} live members of the circuit breaker family ${JSON.stringify(family)} (maxSeriesPerFamily); ` +
            `${JSON.stringify(name)} and further members report as name="${family}/${OVERFLOW_SERIES_NAME}"` +
            (seriesByProducer ? ' until members retire' : ' (without a metric producer on the reader, a retired member keeps its slot)'),
    ),
    (breaker) => {
      // A slot was freed in the breaker's family: leave the overflow, take the slot.
      const attachment = metricAttachments.get(breaker);
      if (attachment === undefined || instruments === undefined) return;
      attachment.dispose();
      metricAttachments.set(breaker, attachMetrics(breaker, table, instruments, durationMode, sampling));
    },
  );
  const instruments = withMetrics
    ? new CircuitBreakerMetrics(meterProvider.getMeter(INSTRUMENTATION_SCOPE, VERSION), durationMode === 'sdk-histogram', !seriesByProducer)
    : undefined;

  const attach = (breaker: CircuitBreaker): Disposable => {
    const subscriptions: DisposableLike[] = [];
    if (instruments !== undefined) {
      metricAttachments.set(breaker, attachMetrics(breaker, table, instruments, durationMode, sampling));
      subscriptions.push({
        dispose: () => {
          const attachment = metricAttachments.get(breaker);
          metricAttachments.delete(breaker);
          attachment?.dispose();
        },
      });
    }
    if (withSpanEvents) subscriptions.push(attachSpanEvents(breaker));
    return combineDisposables(subscriptions);
  };

  const observation = isRegistry(source) ? source.observe(attach) : attach(source);
  const policies =
    withPolicyEvents && isRegistry(source) && (withMetrics || withSpanEvents)
      ? instrumentPolicyEvents(source, withMetrics ? meterProvider.getMeter(INSTRUMENTATION_SCOPE, VERSION) : undefined, withSpanEvents, maxPolicyNames)
      : undefined;
  const collection = instruments?.observe(() => table.all());
  const readCallDurations = (): CallDurationPoint[] => {
    const points: CallDurationPoint[] = [];
    if (durationMode === 'producer') for (const series of table.all()) series.readDurations(points);
    return points;
  };
  const durationSource =
    durationMode === 'producer' || seriesByProducer
      ? registerCallDurationSource({
          meterProvider,
          origin: source,
          readCallDurations,
          ...(seriesByProducer ? { readSeriesMetrics: (endTimeMs: number) => seriesMetricData(table.all(), endTimeMs) } : {}),
        })
      : undefined;
  // A reader without a producer that could not be seen when instrumenting is told apart when it collects.
  const coverageWatch = seriesByProducer || durationMode === 'producer' ? watchReaderCoverage(meterProvider, seriesByProducer) : undefined;
  let disposed = false;
  const dispose = () => {
    if (disposed) return;
    disposed = true;
    coverageWatch?.dispose();
    durationSource?.dispose();
    collection?.dispose();
    policies?.dispose();
    observation.dispose();
  };
  return { callDurations: durationMode, readCallDurations, dispose, [Symbol.dispose]: dispose };
}

const CALL_DURATION_OPTIONS: readonly unknown[] = [true, false, 'producer', 'sdk-histogram'];

function resolveDurationMode(option: boolean | 'producer' | 'sdk-histogram', meterProvider: MeterProvider): CallDurationMode {
  if (option === false) return 'off';
  if (option !== true) return option;
  if (hasCallDurationProducerFor(meterProvider)) return 'producer';
  diag.warn(
    '@phlow/otel: no CircuitBreakerMetricProducer is live for this meter provider, so call durations go through ' +
      'an SDK histogram (~0.7 µs a call). Add `metricProducers: [new CircuitBreakerMetricProducer()]` ' +
      "(from @phlow/otel/sdk) to your metric reader before instrumenting, or pass callDurations: 'sdk-histogram' to keep this path quietly.",
  );
  return 'sdk-histogram';
}

function attachMetrics(
  breaker: CircuitBreaker,
  table: BreakerSeriesTable,
  instruments: CircuitBreakerMetrics,
  durationMode: CallDurationMode,
  sampling: DurationSampling | false,
): Disposable {
  const series: BreakerSeries = table.seriesFor(breaker);
  series.add(breaker);
  const subscriptions: DisposableLike[] = [
    breaker.onStateChange((event) => instruments.recordTransition(series, breaker, event.from, event.to, event.at)),
  ];
  // Outcome listeners switch per-call timing on in the core: subscribe only when durations are wanted.
  if (durationMode === 'producer') {
    // The series is chosen here, once: a call's recording touches one aggregate and nothing else.
    const success = series.durationAggregate('success');
    const failure = series.durationAggregate('failure');
    const timeout = series.durationAggregate('timeout');
    const ignored = series.durationAggregate('ignored');
    const aggregates = { success, failure, timeout, ignored };
    subscriptions.push(
      breaker.onCallDuration((outcome, durationMs, weight) => aggregates[outcome].recordMs(durationMs, weight), { sampling }),
    );
  } else if (durationMode === 'sdk-histogram') {
    subscriptions.push(
      breaker.onSuccess((event) => instruments.recordDuration(series, 'success', event.durationMs)),
      breaker.onFailure((event) => instruments.recordDuration(series, event.cause === 'timeout' ? 'timeout' : 'failure', event.durationMs)),
      breaker.onIgnored((event) => instruments.recordDuration(series, 'ignored', event.durationMs)),
    );
  }
  subscriptions.push({ dispose: () => table.release(breaker, series) });
  return combineDisposables(subscriptions);
}

/**
 * Rejections, timeouts and state changes become events on whatever span is active where they happen:
 * listeners run inside the caller's async context, so that is the caller's span. A span made by
 * `withBreakerSpan` records rejections and timeouts itself, so they are not added twice.
 */
function attachSpanEvents(breaker: CircuitBreaker): Disposable {
  const name = breaker.name;
  return combineDisposables([
    breaker.onReject((event) => {
      const ctx = context.active();
      const span = trace.getSpan(ctx);
      if (span === undefined || !span.isRecording() || isBreakerSpanContext(ctx)) return;
      const retryAfterMs = event.retryAt === null ? null : Math.max(0, event.retryAt - breaker.options.clock.now());
      span.addEvent(EVENT_REJECTED, { [SPAN_ATTR_NAME]: name, ...rejectionAttributes(event.state, retryAfterMs) });
    }),
    breaker.onTimeout((event) => {
      const ctx = context.active();
      const span = trace.getSpan(ctx);
      if (span === undefined || !span.isRecording() || isBreakerSpanContext(ctx)) return;
      span.addEvent(EVENT_TIMEOUT, { [SPAN_ATTR_NAME]: name, [SPAN_ATTR_TIMEOUT_MS]: event.timeoutMs });
    }),
    breaker.onStateChange((event: StateChangeEvent) => {
      const span = trace.getActiveSpan();
      if (span === undefined || !span.isRecording()) return;
      // No timestamp from the event: the breaker's clock may be a test clock, the span's is real.
      span.addEvent(EVENT_STATE_CHANGE, {
        [SPAN_ATTR_NAME]: name,
        [SPAN_ATTR_FROM]: event.from,
        [SPAN_ATTR_TO]: event.to,
        [SPAN_ATTR_REASON]: event.reason,
      });
    }),
  ]);
}

function isRegistry(value: unknown): value is CircuitBreakerRegistry {
  const candidate = value as CircuitBreakerRegistry | null;
  return typeof candidate?.observe === 'function' && typeof candidate.getBreaker === 'function';
}

function isBreaker(value: unknown): value is CircuitBreaker {
  return typeof (value as CircuitBreaker | null)?.execute === 'function' && typeof (value as CircuitBreaker).onStateChange === 'function';
}
