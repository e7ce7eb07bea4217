import { diag, type MeterProvider, type ObservableGauge, type ObservableResult } from '@opentelemetry/api';
import type { Disposable } from '@phlow/circuit-breaker';
import { toDisposable } from '@phlow/circuit-breaker/internal';
import { covers, isProducerFor, type CallDurationProducerScope } from './call-duration-hub.js';
import { INSTRUMENTATION_SCOPE } from './telemetry-names.js';
import { VERSION } from './version.js';

/**
 * Which metric readers of a meter provider carry a `CircuitBreakerMetricProducer`. What goes through
 * producers only (the breaker series, the aggregated call durations) never reaches a reader without one,
 * and nothing in the SDK would say so. Two ways to tell, for sdk-metrics 3.1:
 *
 * - When instrumenting: a `MeterProvider`'s readers are fixed at construction (3.x has no
 *   `addMetricReader`), and each reader keeps the producers it was given. Neither is public
 *   (`_sharedState.metricCollectors[i]._metricReader._metricProducers`), so they are read defensively:
 *   any other shape reads as "unknown", never as an error. Known, this lets an instrumentation choose SDK
 *   instruments, which every reader collects, when some reader lacks the producer.
 * - At collection, with public API only: `MetricReader.collect` calls the SDK's collector (which runs every
 *   observable callback of the provider, synchronously, before its first `await`) and then each of the
 *   reader's `metricProducers[i].collect()`, all in one synchronous stretch (`Promise.all([...])`). So a
 *   probe callback on an observable that never observes (never exported), followed by no producer before
 *   the next microtask, is a reader collecting without one. Should a later SDK call the producers first,
 *   a stretch that begins with a producer is not judged: a reader collecting on its own then raises no
 *   warning at all, rather than a false one. Blind spot: when a bare reader and another provider's reader
 *   whose unscoped producer follows it collect in one stretch, that producer seems to be the bare reader's.
 *
 * @internal
 */

/** How many readers of a meter provider carry a live producer for it, and which do not. */
export interface ReaderCoverage {
  /** Readers with a producer for the provider. */
  readonly covered: number;
  /** Class names of the readers without one. */
  readonly lacking: readonly string[];
}

/**
 * Which readers of `meterProvider` carry a live `CircuitBreakerMetricProducer` reporting it; undefined
 * when that cannot be told (not an sdk-metrics 3.x `MeterProvider`, or a reader that keeps its producers
 * elsewhere).
 */
export function readerCoverage(meterProvider: MeterProvider): ReaderCoverage | undefined {
  try {
    const collectors: unknown = (meterProvider as { _sharedState?: { metricCollectors?: unknown } })._sharedState?.metricCollectors;
    if (!Array.isArray(collectors)) return undefined;
    let covered = 0;
    const lacking: string[] = [];
    for (const collector of collectors as unknown[]) {
      const reader = (collector as { _metricReader?: { _metricProducers?: unknown; collect?: unknown } } | null)?._metricReader;
      if (typeof reader?.collect !== 'function' || !Array.isArray(reader._metricProducers)) return undefined;
      if ((reader._metricProducers as unknown[]).some((producer) => isProducerFor(producer, meterProvider))) covered++;
      else lacking.push(readerName(reader));
    }
    return { covered, lacking };
  } catch {
    return undefined;
  }
}

/**
 * The coverage of `meterProvider`'s readers when some carry a producer for it and some do not: then what
 * goes through producers would miss the latter. Undefined otherwise (every reader, none, or unknown).
 */
export function partialReaderCoverage(meterProvider: MeterProvider): ReaderCoverage | undefined {
  const coverage = readerCoverage(meterProvider);
  return coverage !== undefined && coverage.covered > 0 && coverage.lacking.length > 0 ? coverage : undefined;
}

function readerName(reader: object): string {
  const name: unknown = reader.constructor?.name;
  return typeof name === 'string' && name.length > 0 ? name : 'MetricReader';
}

/** The fix, as every warning names it. */
const FIX = 'Add `metricProducers: [new CircuitBreakerMetricProducer()]` (from @phlow/otel/sdk) to that reader';

/** Providers already warned about: one warning each, whichever way the gap was found. */
const warned = new WeakSet<MeterProvider>();

function warnOnce(meterProvider: MeterProvider, message: string): void {
  if (warned.has(meterProvider)) return;
  warned.add(meterProvider);
  diag.warn(message);
}

/**
 * Says, once per provider, that readers of `coverage.lacking` carry no producer and that the breaker
 * metrics therefore go through SDK instruments; `durationMode` is how the instrumentation records durations.
 */
export function warnReadersWithoutProducer(meterProvider: MeterProvider, coverage: ReaderCoverage, durationMode: 'producer' | 'sdk-histogram' | 'off'): void {
  const { covered, lacking } = coverage;
  const those = lacking.length === 1 ? 'that reader' : 'those readers';
  const cost = durationMode === 'sdk-histogram' ? ', and call durations cost the SDK ~0.7 µs a call' : '';
  const durations =
    durationMode === 'producer' ? ` With callDurations: 'producer' the call-duration histogram still goes through producers only, and misses ${those}.` : '';
  warnOnce(
    meterProvider,
    `@phlow/otel: ${lacking.length} of the ${lacking.length + covered} metric readers of this meter provider (${lacking.join(', ')}) ` +
      `${lacking.length === 1 ? 'carries' : 'carry'} no CircuitBreakerMetricProducer. So that every reader still gets the breaker metrics, they go through SDK instruments, ` +
      `which every reader collects: a retired family member's series then stays in the export${cost}.${durations} ` +
      `${FIX.replace('that reader', those)} for the lighter path.`,
  );
}

/** The probe instrument's name; it records no point, so no exporter ever shows it. */
export const PROBE_NAME = 'phlow.circuit_breaker.reader_probe';

/** What the probe of one meter provider serves: the instrumentations that rely on producers. */
interface Probe {
  users: number;
  /** Users that hand their breaker series (not only durations) to producers. */
  series: number;
  readonly gauge: ObservableGauge;
  readonly callback: (result: ObservableResult) => void;
}

const probes = new Map<MeterProvider, Probe>();

/** What happened in one synchronous stretch, in order: a provider's probe ran (a reader began collecting), or a producer collected. */
type CollectionEvent = { readonly collecting: MeterProvider } | { readonly producer: CallDurationProducerScope };

let stretch: CollectionEvent[] | undefined;

function record(event: CollectionEvent): void {
  if (stretch === undefined) {
    stretch = [];
    queueMicrotask(judgeStretch);
  }
  stretch.push(event);
}

/** @internal A producer is collecting (call it synchronously at the start of its `collect`). */
export function noteProducerCollection(producer: CallDurationProducerScope): void {
  // Only while some probe listens: a producer collected on its own costs nothing here.
  if (probes.size > 0) record({ producer });
}

/** The stretch is over (every reader that began collecting in it has called its producers): judge it. */
function judgeStretch(): void {
  const events = stretch ?? [];
  stretch = undefined;
  const lacking = new Set<MeterProvider>();
  let open: { meterProvider: MeterProvider; covered: boolean } | undefined;
  for (const event of events) {
    if ('collecting' in event) {
      if (open !== undefined && !open.covered) lacking.add(open.meterProvider);
      open = { meterProvider: event.collecting, covered: false };
    } else if (open === undefined) {
      return; // a producer before any probe: not the order this relies on, so no judgement
    } else if (covers(event.producer, open.meterProvider)) {
      open.covered = true;
    }
  }
  if (open !== undefined && !open.covered) lacking.add(open.meterProvider);
  for (const meterProvider of lacking) {
    const probe = probes.get(meterProvider);
    if (probe === undefined) continue;
    const what =
      probe.series > 0
        ? 'the breaker metrics (state, counts, transitions, time per state, recoveries, call durations) reach readers only through producers'
        : 'the call-duration histogram reaches readers only through producers';
    warnOnce(
      meterProvider,
      `@phlow/otel: a metric reader of this meter provider collected without a CircuitBreakerMetricProducer, while ${what}: ` +
        `that reader gets none of them. ${FIX}, before instrumenting.`,
    );
  }
}

/**
 * Watches the collections of `meterProvider` until disposed, and warns (once per provider) when a reader
 * collects without a producer while this instrumentation relies on producers (`series`: for its breaker
 * series too, not only durations).
 */
export function watchReaderCoverage(meterProvider: MeterProvider, series: boolean): Disposable {
  let probe = probes.get(meterProvider);
  if (probe === undefined) {
    const gauge = meterProvider.getMeter(INSTRUMENTATION_SCOPE, VERSION).createObservableGauge(PROBE_NAME, {
      description: 'Never observed, so never exported: its callback marks each collection of the meter provider.',
    });
    const callback = () => record({ collecting: meterProvider });
    gauge.addCallback(callback);
    probe = { users: 0, series: 0, gauge, callback };
    probes.set(meterProvider, probe);
  }
  const watched = probe;
  watched.users++;
  if (series) watched.series++;
  let disposed = false;
  return toDisposable(() => {
    if (disposed) return;
    disposed = true;
    watched.users--;
    if (series) watched.series--;
    if (watched.users > 0) return;
    watched.gauge.removeCallback(watched.callback);
    probes.delete(meterProvider);
  });
}
