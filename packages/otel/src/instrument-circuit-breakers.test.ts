import { AggregationTemporality, DataPointType, type MetricData } from '@opentelemetry/sdk-metrics';
import { CIRCUIT_STATES, CircuitBreaker, CircuitBreakerRegistry, CircuitOpenError, ManualClock, type CircuitState } from '@phlow/circuit-breaker';
import { afterEach, describe, expect, it } from 'vitest';
import type { MeterProvider } from '@opentelemetry/api';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { emptyResource } from '@opentelemetry/resources';
import { MeterProvider as SdkMeterProvider, type CollectionResult, type MetricProducer } from '@opentelemetry/sdk-metrics';
import { registerCallDurationProducer, seriesMetricsOf } from './call-duration-hub.js';
import { DEFAULT_MAX_SERIES_NAMES, DEFAULT_MAX_SERIES_PER_FAMILY, instrumentCircuitBreakers, type RegistryInstrumentationOptions } from './instrument-circuit-breakers.js';
import { CALL_DURATION_BUCKETS, CALL_OUTCOMES, INSTRUMENTATION_SCOPE, RECOVERY_BUCKETS, type CallOutcome } from './telemetry-names.js';
import { histogramValues, newMeterProvider, pointValues, settle } from './test-support.test-util.js';

class DependencyError extends Error {}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** With `producer`, the reader carries a CircuitBreakerMetricProducer, as startTelemetry's readers do. */
function setUp(registryOptions: ConstructorParameters<typeof CircuitBreakerRegistry>[0] = {}, options = {}, { producer = false } = {}) {
  const clock = new ManualClock();
  const registry = new CircuitBreakerRegistry({ clock, logger: false, ...registryOptions });
  const meter = newMeterProvider({ producer });
  const { provider, reader } = meter;
  cleanups.push(() => meter.producer?.dispose());
  const instrumentation = instrumentCircuitBreakers(registry, { meterProvider: provider, ...options });
  cleanups.push(() => instrumentation.dispose(), () => provider.shutdown());
  return { clock, registry, reader, instrumentation };
}

/** A call that takes `ms` on the manual clock, then resolves or throws. */
function takes<T>(clock: ManualClock, ms: number, outcome: () => T): () => Promise<T> {
  return async () => {
    clock.advance(ms);
    return outcome();
  };
}

/** The state gauge's points of `name`: 1 for each of `states`, 0 for the other states. */
function statePoints(name: string, ...states: CircuitState[]): Record<string, number> {
  return Object.fromEntries(CIRCUIT_STATES.map((state) => [`name=${name},state=${state}`, states.includes(state) ? 1 : 0]));
}

/** The calls counter's points of `name`: every outcome, 0 where `counts` leaves it out. */
function callPoints(name: string, counts: Partial<Record<CallOutcome, number>>): Record<string, number> {
  return Object.fromEntries(CALL_OUTCOMES.map((outcome) => [`name=${name},outcome=${outcome}`, counts[outcome] ?? 0]));
}

describe.each([
  ['a producer on the reader (startTelemetry\'s set-up)', true, 'producer'],
  ['no producer: the SDK histogram fallback', false, 'sdk-histogram'],
] as const)('instrumentCircuitBreakers: metrics from a scripted trip, reject, half-open, close, %s', (_, producer, mode) => {
  it('reports exact names, units, descriptions, attribute sets and values through the real SDK', async () => {
    const { clock, registry, reader, instrumentation } = setUp({}, {}, { producer });
    expect(instrumentation.callDurations).toBe(mode);
    const breaker = registry.getBreaker('payments', {
      failureThreshold: 2,
      recoveryTimeoutMs: 10_000,
      timeoutMs: 1_000,
      expectedError: DependencyError,
    });

    // closed: a 250 ms success, a 100 ms failure, a 40 ms unexpected error (ignored), then a timeout trips it
    await breaker.execute(takes(clock, 250, () => 'ok'));
    await settle(breaker.execute(takes(clock, 100, () => { throw new DependencyError('down'); })));
    await settle(breaker.execute(takes(clock, 40, () => { throw new TypeError('bug'); })));
    const hanging = settle(breaker.execute(() => new Promise<never>(() => {})));
    clock.advance(1_000);
    expect((await hanging).error).toMatchObject({ name: 'CircuitTimeoutError' });
    expect(breaker.state).toBe('open');

    // open: a rejection
    expect((await settle(breaker.execute(() => 'never runs'))).error).toBeInstanceOf(CircuitOpenError);

    let metrics = await reader.metrics();
    expect(descriptors(metrics)).toEqual({
      'phlow.circuit_breaker.state': {
        type: DataPointType.GAUGE,
        unit: '1',
        description:
          'Circuit breaker state: 1 for the current state, 0 for the others (for an overflow series: 1 when any of its breakers is in that state).',
      },
      'phlow.circuit_breaker.failures': {
        type: DataPointType.SUM,
        unit: '{failure}',
        description: 'Calls the circuit breaker counted as failures (errors, failing results and timeouts).',
      },
      'phlow.circuit_breaker.calls': {
        type: DataPointType.SUM,
        unit: '{call}',
        description: 'Calls through the circuit breaker by outcome: success, failure, timeout, rejected or ignored.',
      },
      'phlow.circuit_breaker.transitions': {
        type: DataPointType.SUM,
        unit: '{transition}',
        description: 'Circuit breaker state changes, by the state left and the state entered.',
      },
      'phlow.circuit_breaker.call.duration': {
        type: DataPointType.HISTOGRAM,
        unit: 's',
        description: 'Duration of calls the circuit breaker admitted, from admission to outcome.',
      },
      'phlow.circuit_breaker.state.time': {
        type: DataPointType.SUM,
        unit: 's',
        description: 'Time the circuit breaker spent in each state (for an overflow series: summed over its breakers).',
      },
      // Before the first recovery only the producer reports the recovery histogram (at count 0): an SDK
      // histogram instrument has no series until something is recorded.
      ...(producer
        ? {
            'phlow.circuit_breaker.recovery.duration': {
              type: DataPointType.HISTOGRAM,
              unit: 's',
              description: 'How long the circuit breaker took to recover: from leaving closed to closed again, one point per episode.',
            },
          }
        : {}),
    });
    if (producer) expect(histogramValues(metrics.get('phlow.circuit_breaker.recovery.duration'))).toEqual({ 'name=payments': expect.objectContaining({ count: 0 }) });
    for (const name of ['phlow.circuit_breaker.failures', 'phlow.circuit_breaker.calls', 'phlow.circuit_breaker.transitions']) {
      const metric = metrics.get(name)!;
      expect(metric.dataPointType === DataPointType.SUM && metric.isMonotonic, name).toBe(true);
    }
    expect(pointValues(metrics.get('phlow.circuit_breaker.state'))).toEqual(statePoints('payments', 'open'));
    expect(pointValues(metrics.get('phlow.circuit_breaker.failures'))).toEqual({ 'name=payments': 2 });
    expect(pointValues(metrics.get('phlow.circuit_breaker.calls'))).toEqual(callPoints('payments', { success: 1, failure: 1, timeout: 1, rejected: 1, ignored: 1 }));
    expect(pointValues(metrics.get('phlow.circuit_breaker.transitions'))).toEqual({ 'from=closed,name=payments,to=open': 1 });
    const durations = histogramValues(metrics.get('phlow.circuit_breaker.call.duration'));
    expect(Object.keys(durations)).toEqual([
      'name=payments,outcome=failure',
      'name=payments,outcome=ignored',
      'name=payments,outcome=success',
      'name=payments,outcome=timeout',
    ]);
    expect(durations['name=payments,outcome=success']).toMatchObject({ count: 1, sum: 0.25, min: 0.25, max: 0.25 });
    expect(durations['name=payments,outcome=failure']).toMatchObject({ count: 1, sum: 0.1, min: 0.1, max: 0.1 });
    expect(durations['name=payments,outcome=ignored']).toMatchObject({ count: 1, sum: 0.04, min: 0.04, max: 0.04 });
    expect(durations['name=payments,outcome=timeout']).toMatchObject({ count: 1, sum: 1, min: 1, max: 1 });
    const durationMetric = metrics.get('phlow.circuit_breaker.call.duration')!;
    expect(durationMetric.aggregationTemporality).toBe(AggregationTemporality.CUMULATIVE);
    // 0.25 s falls in (0.1, 0.25]: the seventh bucket of the advised boundaries
    expect(durationMetric.dataPoints[0]!.value).toMatchObject({
      buckets: { boundaries: [...CALL_DURATION_BUCKETS] },
    });
    expect(durations['name=payments,outcome=success']!.counts.indexOf(1)).toBe(CALL_DURATION_BUCKETS.indexOf(0.25));
    expect(durations['name=payments,outcome=success']!.counts).toHaveLength(CALL_DURATION_BUCKETS.length + 1);

    // the recovery timeout passes: collection alone reads half_open (reading the state applies it)
    clock.advance(10_000);
    metrics = await reader.metrics();
    expect(pointValues(metrics.get('phlow.circuit_breaker.state'))).toEqual(statePoints('payments', 'half_open'));
    expect(pointValues(metrics.get('phlow.circuit_breaker.transitions'))).toEqual({
      'from=closed,name=payments,to=open': 1,
      'from=open,name=payments,to=half_open': 1,
    });

    // a successful probe closes it
    await breaker.execute(takes(clock, 5, () => 'ok'));
    metrics = await reader.metrics();
    expect(pointValues(metrics.get('phlow.circuit_breaker.state'))).toEqual(statePoints('payments', 'closed'));
    expect(pointValues(metrics.get('phlow.circuit_breaker.transitions'))).toEqual({
      'from=closed,name=payments,to=open': 1,
      'from=half_open,name=payments,to=closed': 1,
      'from=open,name=payments,to=half_open': 1,
    });
    expect(pointValues(metrics.get('phlow.circuit_breaker.calls'))).toMatchObject({ 'name=payments,outcome=success': 2 });
    expect(pointValues(metrics.get('phlow.circuit_breaker.failures'))).toEqual({ 'name=payments': 2 });
    // cumulative: the probe's 5 ms joins the first success
    expect(histogramValues(metrics.get('phlow.circuit_breaker.call.duration'))['name=payments,outcome=success']).toMatchObject({
      count: 2,
      sum: 0.255,
      min: 0.005,
      max: 0.25,
    });

    // calls by outcome add up to the core's own total
    const calls = Object.values(pointValues(metrics.get('phlow.circuit_breaker.calls'))).reduce((a, b) => a + b, 0);
    expect(calls).toBe(breaker.getStats().total_calls);

    // one open episode: tripped at 1.39 s (250 + 100 + 40 + 1000 ms), closed by the probe 10.005 s later
    const recovery = metrics.get('phlow.circuit_breaker.recovery.duration')!;
    expect(recovery.descriptor).toMatchObject({ unit: 's', description: 'How long the circuit breaker took to recover: from leaving closed to closed again, one point per episode.' });
    expect(histogramValues(recovery)).toEqual({ 'name=payments': expect.objectContaining({ count: 1, sum: 10.005 }) });
    expect(recovery.dataPoints[0]!.value).toMatchObject({ buckets: { boundaries: [...RECOVERY_BUCKETS] } });
    // time per state, on the breaker's clock: closed until the trip, open 10 s, half_open for the 5 ms probe
    clock.advance(2_000);
    const seconds = pointValues((await reader.metrics()).get('phlow.circuit_breaker.state.time'));
    expect(seconds['name=payments,state=closed']).toBeCloseTo(1.39 + 2, 9);
    expect(seconds['name=payments,state=open']).toBeCloseTo(10, 9);
    expect(seconds['name=payments,state=half_open']).toBeCloseTo(0.005, 9);
    expect(seconds['name=payments,state=forced_open']).toBe(0);
  });

  it('reports forced_open and disabled, the manual modes', async () => {
    const { registry, reader } = setUp();
    const breaker = registry.getBreaker('payments');
    breaker.forceOpen();
    expect(pointValues((await reader.metrics()).get('phlow.circuit_breaker.state'))).toEqual(statePoints('payments', 'forced_open'));
    breaker.disable();
    expect(pointValues((await reader.metrics()).get('phlow.circuit_breaker.state'))).toEqual(statePoints('payments', 'disabled'));
  });
});

describe('instrumentCircuitBreakers: which breakers, under which names', () => {
  it('counts from the moment of instrumenting, for breakers created before it', async () => {
    const registry = new CircuitBreakerRegistry({ logger: false });
    const breaker = registry.getBreaker('early');
    await breaker.execute(() => 1);
    const { provider, reader } = newMeterProvider();
    const instrumentation = instrumentCircuitBreakers(registry, { meterProvider: provider });
    cleanups.push(() => instrumentation.dispose(), () => provider.shutdown());
    await breaker.execute(() => 2);
    await breaker.execute(() => 3);
    expect(pointValues((await reader.metrics()).get('phlow.circuit_breaker.calls'))).toMatchObject({ 'name=early,outcome=success': 2 });
  });

  it('covers breakers that exist before and those created after the call', async () => {
    const { registry, reader } = setUp();
    registry.getBreaker('before');
    const after = registry.getBreaker('after');
    await after.execute(() => 1);
    const metrics = await reader.metrics();
    expect(Object.keys(pointValues(metrics.get('phlow.circuit_breaker.failures')))).toEqual(['name=after', 'name=before']);
    expect(pointValues(metrics.get('phlow.circuit_breaker.calls'))).toMatchObject({ 'name=after,outcome=success': 1 });
  });

  it('reports each family member under its full name, so an alert names the dependency', async () => {
    const { registry, reader } = setUp();
    const peers = registry.getFamily('peers', { failureThreshold: 1 });
    await peers.execute('agent-a', () => 'ok');
    await settle(peers.execute('agent-b', () => Promise.reject(new Error('down'))));
    await settle(peers.execute('agent-b', () => 'rejected'));
    const metrics = await reader.metrics();
    expect(pointValues(metrics.get('phlow.circuit_breaker.state'))).toEqual({
      ...statePoints('peers/agent-a', 'closed'),
      ...statePoints('peers/agent-b', 'open'),
    });
    expect(pointValues(metrics.get('phlow.circuit_breaker.failures'))).toEqual({ 'name=peers/agent-a': 0, 'name=peers/agent-b': 1 });
    expect(pointValues(metrics.get('phlow.circuit_breaker.calls'))).toEqual({
      ...callPoints('peers/agent-a', { success: 1 }),
      ...callPoints('peers/agent-b', { failure: 1, rejected: 1 }),
    });
    expect(pointValues(metrics.get('phlow.circuit_breaker.transitions'))).toEqual({ 'from=closed,name=peers/agent-b,to=open': 1 });
  });

  it('caps distinct names: breakers beyond maxSeriesNames report as _overflow', async () => {
    const { registry, reader } = setUp({ failureThreshold: 1 }, { maxSeriesNames: 2 });
    for (const name of ['a', 'b', 'c', 'd']) await registry.getBreaker(name).execute(() => 'ok');
    await settle(registry.getBreaker('d').execute(() => Promise.reject(new Error('down'))));
    const metrics = await reader.metrics();
    expect(pointValues(metrics.get('phlow.circuit_breaker.calls'))).toMatchObject({
      'name=a,outcome=success': 1,
      'name=b,outcome=success': 1,
      'name=_overflow,outcome=success': 2,
      'name=_overflow,outcome=failure': 1,
    });
    const names = new Set(Object.keys(pointValues(metrics.get('phlow.circuit_breaker.state'))).map((k) => k.split(',')[0]));
    expect([...names].sort()).toEqual(['name=_overflow', 'name=a', 'name=b']);
    expect(pointValues(metrics.get('phlow.circuit_breaker.state'))).toMatchObject({
      'name=_overflow,state=closed': 1,
      'name=_overflow,state=open': 1,
    });
    expect(DEFAULT_MAX_SERIES_NAMES).toBe(200);
  });

  it('instruments a single breaker outside any registry', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker('solo', { clock, logger: false });
    const { provider, reader } = newMeterProvider();
    const instrumentation = instrumentCircuitBreakers(breaker, { meterProvider: provider });
    cleanups.push(() => instrumentation.dispose(), () => provider.shutdown());
    await breaker.execute(() => 1);
    expect(pointValues((await reader.metrics()).get('phlow.circuit_breaker.calls'))).toMatchObject({ 'name=solo,outcome=success': 1 });
  });

  it('stops listening and observing once disposed (SDK histogram: what it holds stays)', async () => {
    const { registry, reader, instrumentation } = setUp({}, { callDurations: 'sdk-histogram' });
    const breaker = registry.getBreaker('payments');
    await breaker.execute(() => 1);
    instrumentation.dispose();
    instrumentation.dispose(); // idempotent
    await breaker.execute(() => 1);
    const metrics = await reader.metrics();
    expect(metrics.has('phlow.circuit_breaker.state')).toBe(false);
    expect(metrics.has('phlow.circuit_breaker.calls')).toBe(false);
    // the one duration recorded before disposal is all the histogram holds
    expect(histogramValues(metrics.get('phlow.circuit_breaker.call.duration'))['name=payments,outcome=success']).toMatchObject({ count: 1 });
  });

  it('stops listening, observing and producing durations once disposed (producer)', async () => {
    const { registry, reader, instrumentation } = setUp({}, {}, { producer: true });
    const breaker = registry.getBreaker('payments');
    await breaker.execute(() => 1);
    expect(histogramValues((await reader.metrics()).get('phlow.circuit_breaker.call.duration'))).toMatchObject({
      'name=payments,outcome=success': { count: 1 },
    });
    instrumentation.dispose();
    await breaker.execute(() => 1);
    const metrics = await reader.metrics();
    expect(metrics.has('phlow.circuit_breaker.call.duration')).toBe(false);
    expect(instrumentation.readCallDurations()).toMatchObject([{ count: 1 }]); // the handle still reads what it had
  });

  it('leaves the duration histogram out when callDurations is off, and counts the same', async () => {
    const { registry, reader } = setUp({}, { callDurations: false });
    await registry.getBreaker('payments').execute(() => 1);
    const metrics = await reader.metrics();
    expect(metrics.has('phlow.circuit_breaker.call.duration')).toBe(false);
    expect(pointValues(metrics.get('phlow.circuit_breaker.calls'))).toMatchObject({ 'name=payments,outcome=success': 1 });
  });

  it('records nothing when metrics are off', async () => {
    const { registry, reader } = setUp({}, { metrics: false });
    await registry.getBreaker('payments').execute(() => 1);
    expect((await reader.metrics()).size).toBe(0);
  });
});

/**
 * A reader's metric producer that reports the instrumentations' series (state, counts, transitions,
 * time per state, recoveries) the way `CircuitBreakerMetricProducer` does once it reads series too:
 * `readsSeries: true` on its hub registration, `seriesMetricsOf` in its collection.
 */
class SeriesProducer implements MetricProducer {
  private readonly scope = { scope: undefined as MeterProvider | undefined, readsSeries: true };
  private readonly registration = registerCallDurationProducer(this.scope);
  scopeTo(provider: MeterProvider): this {
    this.scope.scope = provider;
    return this;
  }
  dispose(): void {
    this.registration.dispose();
  }
  async collect(): Promise<CollectionResult> {
    const metrics = seriesMetricsOf(this.scope, Date.now()).flat();
    return {
      resourceMetrics: { resource: emptyResource(), scopeMetrics: [{ scope: { name: INSTRUMENTATION_SCOPE }, metrics }] },
      errors: [],
    };
  }
}

/** A registry instrumented on a PrometheusExporter (no server): `scrape()` is the text Prometheus would get. */
function prometheusSetUp(options: RegistryInstrumentationOptions, { seriesProducer }: { seriesProducer: boolean }) {
  const clock = new ManualClock();
  const registry = new CircuitBreakerRegistry({ clock, logger: false });
  const producer = seriesProducer ? new SeriesProducer() : undefined;
  const exporter = new PrometheusExporter({ preventServerStart: true, ...(producer ? { metricProducers: [producer] } : {}) });
  const provider = new SdkMeterProvider({ readers: [exporter] });
  producer?.scopeTo(provider);
  const instrumentation = instrumentCircuitBreakers(registry, { meterProvider: provider, callDurations: false, ...options });
  cleanups.push(() => producer?.dispose(), () => instrumentation.dispose(), () => provider.shutdown());
  const scrape = async () => {
    const { resourceMetrics, errors } = await exporter.collect();
    if (errors.length > 0) throw new AggregateError(errors);
    return new PrometheusSerializer().serialize(resourceMetrics);
  };
  /** The `name` label values of the state gauge in a scrape. */
  const stateNames = async () =>
    [...new Set([...(await scrape()).matchAll(/^phlow_circuit_breaker_state\{name="([^"]+)"/gm)].map((m) => m[1]!))].sort();
  return { clock, registry, scrape, stateNames, instrumentation };
}

describe('instrumentCircuitBreakers: family members, caps and retirement, on a Prometheus scrape', () => {
  it('drops a retired member from the scrape and frees its slot in the family cap', async () => {
    const { clock, registry, stateNames, scrape } = prometheusSetUp({ maxSeriesPerFamily: 1 }, { seriesProducer: true });
    const peers = registry.getFamily('peers', { failureThreshold: 1 }, { idleTtlMs: 1_000, maxKeys: 10 });
    await settle(peers.execute('agent-a', () => Promise.reject(new Error('down'))));
    await peers.execute('agent-b', () => 'ok'); // past the cap of 1: the family's overflow
    expect(await stateNames()).toEqual(['peers/_overflow', 'peers/agent-a']);
    expect(await scrape()).toMatch(/^phlow_circuit_breaker_state\{name="peers\/agent-a",state="open"[^}]*\} 1$/m);
    clock.advance(2_000);
    await peers.execute('agent-c', () => 'ok'); // agent-a and agent-b retire (idle): agent-c takes the free slot
    expect(peers.size).toBe(1);
    expect(await stateNames()).toEqual(['peers/_overflow', 'peers/agent-c']);
    const text = await scrape();
    expect(text).not.toContain('peers/agent-a');
    // the overflow series keeps what agent-b counted: counters never go backwards
    expect(text).toMatch(/^phlow_circuit_breaker_calls_total\{name="peers\/_overflow",outcome="success"[^}]*\} 1$/m);
  });

  it('a real peer that came while hostile keys held every slot gets its own series once they retire', async () => {
    const { clock, registry, stateNames, scrape } = prometheusSetUp({ maxSeriesPerFamily: 3 }, { seriesProducer: true });
    const peers = registry.getFamily('peers', { failureThreshold: 1 }, { idleTtlMs: 1_000, maxKeys: 10 });
    for (const host of ['h1.evil', 'h2.evil', 'h3.evil']) await peers.execute(host, () => 'ok');
    await peers.execute('real', () => 'ok'); // every slot taken: the real peer reports in the overflow
    expect(await stateNames()).toEqual(['peers/_overflow', 'peers/h1.evil', 'peers/h2.evil', 'peers/h3.evil']);
    clock.advance(600);
    await peers.execute('real', () => 'ok');
    clock.advance(600);
    await peers.execute('real', () => 'ok'); // the hostile keys retire (idle): the real peer takes a freed slot
    expect(await stateNames()).toEqual(['peers/_overflow', 'peers/real']);
    await settle(peers.execute('real', () => Promise.reject(new Error('down'))));
    const text = await scrape();
    expect(text).toMatch(/^phlow_circuit_breaker_state\{name="peers\/real",state="open"[^}]*\} 1$/m);
    // Its own series counts from its move; what it did in the overflow stays there.
    expect(text).toMatch(/^phlow_circuit_breaker_calls_total\{name="peers\/real",outcome="failure"[^}]*\} 1$/m);
    expect(text).toMatch(/^phlow_circuit_breaker_calls_total\{name="peers\/_overflow",outcome="success"[^}]*\} 2$/m);
  });

  it('with SDK instruments only, the SDK keeps exporting a retired member (why series go through the producer)', async () => {
    const { clock, registry, stateNames } = prometheusSetUp({}, { seriesProducer: false });
    const peers = registry.getFamily('peers', {}, { idleTtlMs: 1_000, maxKeys: 10 });
    await peers.execute('agent-a', () => 'ok');
    expect(await stateNames()).toEqual(['peers/agent-a']);
    clock.advance(2_000);
    await peers.execute('agent-b', () => 'ok');
    expect(peers.size).toBe(1);
    // sdk-metrics 3.1, cumulative: an attribute set no longer observed keeps its last value for good
    expect(await stateNames()).toEqual(['peers/agent-a', 'peers/agent-b']);
  });

  it('10 000 hostile keys in one family: at most cap + 1 series there, other families intact, bounded memory', async () => {
    const { registry, stateNames, scrape } = prometheusSetUp({}, { seriesProducer: true });
    const peers = registry.getFamily('a2a', { failureThreshold: 1 });
    await settle(peers.execute('alpha', () => Promise.reject(new Error('down'))));
    await peers.execute('beta', () => 'ok');
    // did:web hosts an attacker names, more than the family's maxKeys (1000): members are evicted as they come
    const did = registry.getFamily('did', {});
    for (let i = 0; i < 10_000; i++) await did.execute(`web:evil-${i}.example`, () => 'ok');
    const names = await stateNames();
    const didNames = names.filter((name) => name.startsWith('did/'));
    expect(didNames.length).toBeLessThanOrEqual(DEFAULT_MAX_SERIES_PER_FAMILY + 1);
    expect(didNames).toContain('did/_overflow');
    expect(names.filter((name) => !name.startsWith('did/'))).toEqual(['a2a/alpha', 'a2a/beta']);
    // what is exported stays bounded by the cap, not by the keys seen: 5 outcome lines per series
    const didCallLines = (await scrape()).split('\n').filter((line) => line.startsWith('phlow_circuit_breaker_calls_total{name="did/'));
    expect(didCallLines.length).toBe(5 * didNames.length);
    // every call was counted, in a member's own series or in the family's overflow (which keeps retired members' counts)
    const overflowSuccesses = Number(/^phlow_circuit_breaker_calls_total\{name="did\/_overflow",outcome="success"[^}]*\} (\d+)$/m.exec(await scrape())?.[1]);
    expect(overflowSuccesses).toBeGreaterThanOrEqual(10_000 - 1_000 - DEFAULT_MAX_SERIES_PER_FAMILY);
    expect(DEFAULT_MAX_SERIES_PER_FAMILY).toBe(100);
  });

  it('with SDK instruments only, a retired member keeps its slot: churning keys cannot grow the exported names', async () => {
    const { clock, registry, stateNames } = prometheusSetUp({ maxSeriesPerFamily: 3 }, { seriesProducer: false });
    const did = registry.getFamily('did', {}, { idleTtlMs: 1_000, maxKeys: 10 });
    // an attacker's one-off hosts, retired as they go idle: the SDK keeps every name it saw, so slots are not reused
    for (let i = 0; i < 50; i++) {
      await did.execute(`web:evil-${i}.example`, () => 'ok');
      clock.advance(2_000);
    }
    expect(await stateNames()).toEqual(['did/_overflow', 'did/web:evil-0.example', 'did/web:evil-1.example', 'did/web:evil-2.example']);
  });

  it('a member whose key spells the overflow name reports in the overflow series, never beside it', async () => {
    const { registry, scrape } = prometheusSetUp({ maxSeriesPerFamily: 1 }, { seriesProducer: true });
    const a2a = registry.getFamily('a2a', {});
    await a2a.execute('_overflow', () => 'ok'); // a peer at http://_overflow/ takes no slot of its own...
    await a2a.execute('alpha', () => 'ok'); // ...so alpha gets the family's one slot
    const stateLines = (await scrape()).split('\n').filter((line) => line.startsWith('phlow_circuit_breaker_state{name="a2a/_overflow",state="closed"'));
    expect(stateLines).toHaveLength(1); // one series with that label set, not two
    expect(await scrape()).toMatch(/^phlow_circuit_breaker_state\{name="a2a\/alpha",state="closed"[^}]*\} 1$/m);
  });

  it('a new real peer still gets its own series after hostile keys filled another family', async () => {
    const { registry, stateNames } = prometheusSetUp({ maxSeriesPerFamily: 3 }, { seriesProducer: true });
    const did = registry.getFamily('did', {});
    for (let i = 0; i < 50; i++) await did.execute(`web:evil-${i}.example`, () => 'ok');
    await registry.getFamily('a2a', {}).execute('gamma', () => 'ok');
    expect(await stateNames()).toEqual(['a2a/gamma', 'did/_overflow', 'did/web:evil-0.example', 'did/web:evil-1.example', 'did/web:evil-2.example']);
  });
});

describe('instrumentCircuitBreakers: several instrumentations on one meter provider, through the producer', () => {
  it('two registries with a breaker of the same name: one series, counts added (a label set twice makes Prometheus refuse the scrape)', async () => {
    const clock = new ManualClock();
    const meter = newMeterProvider({ producer: true });
    const first = new CircuitBreakerRegistry({ clock, logger: false });
    const second = new CircuitBreakerRegistry({ clock, logger: false });
    using _a = instrumentCircuitBreakers(first, { meterProvider: meter.provider });
    using _b = instrumentCircuitBreakers(second, { meterProvider: meter.provider });
    using _again = instrumentCircuitBreakers(first, { meterProvider: meter.provider }); // the same registry twice
    await first.getBreaker('db').execute(() => 1);
    await first.getBreaker('db').execute(() => 1);
    const fragile = second.getBreaker('db', { failureThreshold: 1 });
    await fragile.execute(() => 1);
    await settle(fragile.execute(() => Promise.reject(new Error('down'))));
    const metrics = await meter.reader.metrics();
    expect(pointValues(metrics.get('phlow.circuit_breaker.calls'))).toMatchObject({ 'name=db,outcome=success': 3, 'name=db,outcome=failure': 1 });
    // One breaker open, one closed: the series says both states are held.
    expect(pointValues(metrics.get('phlow.circuit_breaker.state'))).toMatchObject({ 'name=db,state=closed': 1, 'name=db,state=open': 1 });
    expect(metrics.get('phlow.circuit_breaker.calls')?.dataPoints).toHaveLength(CALL_OUTCOMES.length);
    const durations = histogramValues(metrics.get('phlow.circuit_breaker.call.duration'));
    expect(durations['name=db,outcome=success']?.count).toBe(3);
    meter.producer?.dispose();
    await meter.provider.shutdown();
  });
});

describe('instrumentCircuitBreakers: which calls the duration histogram times', () => {
  /** `n` calls on `clock`, all in the same millisecond (a breaker far above 1000 calls a second), a fifth of them failing. */
  async function busy(registry: CircuitBreakerRegistry, n: number): Promise<void> {
    const breaker = registry.getBreaker('busy', { failureThreshold: 1_000_000 });
    for (let i = 0; i < n; i++) await settle(breaker.execute(() => (i % 5 === 4 ? Promise.reject(new DependencyError('5xx')) : Promise.resolve(i))));
  }

  it('by default times every call up to 1000 a second, then a sample whose weights still count the calls, exported through the producer', async () => {
    const { registry, reader, instrumentation } = setUp({}, {}, { producer: true });
    const timed: number[] = [];
    registry.getBreaker('busy', { failureThreshold: 1_000_000 }).onCallDuration((_, __, weight) => timed.push(weight));
    await busy(registry, 20_000);
    const metrics = await reader.metrics();
    const durations = histogramValues(metrics.get('phlow.circuit_breaker.call.duration'));
    const success = durations['name=busy,outcome=success']!.count;
    const failure = durations['name=busy,outcome=failure']!.count;
    // Estimates from 1000 + 19 000 / 64 timed calls: the total is exact to within the current run of
    // 64 calls, the split by outcome is unbiased (a fifth failing).
    expect(Math.abs(success + failure - 20_000)).toBeLessThan(64);
    expect(failure / (success + failure)).toBeGreaterThan(0.2 - 0.05);
    expect(failure / (success + failure)).toBeLessThan(0.2 + 0.05);
    // The calls counter stays exact.
    expect(pointValues(metrics.get('phlow.circuit_breaker.calls'))).toMatchObject({ 'name=busy,outcome=success': 16_000, 'name=busy,outcome=failure': 4_000 });
    expect(instrumentation.readCallDurations().reduce((n, point) => n + point.count, 0)).toBe(success + failure);
    // Our own listener shares the breaker's sampler: the same few calls were timed.
    expect(timed.length).toBeLessThan(1_000 + (19_000 / 64) * 1.5);
    expect(timed.slice(0, 1_000).every((weight) => weight === 1)).toBe(true);
  });

  it('`callDurationSampling: false` times every call, as the SDK-histogram path does', async () => {
    for (const options of [{ callDurationSampling: false }, { callDurations: 'sdk-histogram' }] as const) {
      const { registry, reader } = setUp({}, options, { producer: true });
      await busy(registry, 3_000);
      const durations = histogramValues((await reader.metrics()).get('phlow.circuit_breaker.call.duration'));
      expect(durations['name=busy,outcome=success']!.count).toBe(2_400);
      expect(durations['name=busy,outcome=failure']!.count).toBe(600);
    }
  });

  it('`callDurationSampling` tunes the limits', async () => {
    const { registry, instrumentation } = setUp({}, { callDurationSampling: { everyCallUpTo: 2_000, thenOneIn: 4 } }, { producer: true });
    const timed: number[] = [];
    registry.getBreaker('busy', { failureThreshold: 1_000_000 }).onCallDuration((_, __, weight) => timed.push(weight), { sampling: { everyCallUpTo: 0, thenOneIn: 1_000 } });
    await busy(registry, 10_000);
    // The tightest limits of the breaker's listeners apply: every call up to 2000, then one in 4.
    expect(timed.slice(0, 2_000).every((weight) => weight === 1)).toBe(true);
    expect(timed.length).toBeGreaterThan(2_000 + (8_000 / 4) * 0.75);
    expect(timed.length).toBeLessThan(2_000 + (8_000 / 4) * 1.25);
    expect(instrumentation.readCallDurations().reduce((n, point) => n + point.count, 0)).toBeGreaterThan(10_000 - 8);
  });
  it('keeps the sampling it was given: a caller changing its options object afterwards changes nothing', async () => {
    const sampling = { everyCallUpTo: 0, thenOneIn: 4 };
    const { registry, instrumentation } = setUp({}, { callDurationSampling: sampling }, { producer: true });
    sampling.thenOneIn = 0; // invalid, had it been read again
    const breaker = registry.getBreaker('later');
    const timed: number[] = [];
    breaker.onCallDuration((_, __, weight) => timed.push(weight), { sampling: { everyCallUpTo: 0, thenOneIn: 1_000_000 } });
    for (let i = 0; i < 400; i++) await breaker.execute(() => i);
    expect(timed.slice(1).every((weight) => weight === 4)).toBe(true);
    expect(instrumentation.readCallDurations().reduce((n, point) => n + point.count, 0)).toBeGreaterThan(400 - 4);
  });
});

describe('instrumentCircuitBreakers: bad options', () => {
  const registry = new CircuitBreakerRegistry({ logger: false });
  it.each([
    [{ maxSeriesNames: 0 }, RangeError, 'maxSeriesNames must be an integer >= 1; got 0'],
    [{ maxSeriesNames: 1.5 }, RangeError, 'maxSeriesNames must be an integer >= 1; got 1.5'],
    [{ maxSeriesPerFamily: 0 }, RangeError, 'maxSeriesPerFamily must be an integer >= 1; got 0'],
    [{ perKeySeries: false }, TypeError, 'instrumentCircuitBreakers options: unknown option "perKeySeries"; allowed: meterProvider, metrics, callDurations, callDurationSampling, spanEvents, maxSeriesNames, maxSeriesPerFamily'],
    [{ metrics: 1 }, TypeError, 'metrics must be true or false; got 1'],
    [{ callDurations: 'off' }, TypeError, 'callDurations must be true, false, "producer" or "sdk-histogram"; got "off"'],
    [{ spanEvents: null }, TypeError, 'spanEvents must be true or false; got null'],
    [{ callDurationSampling: true }, TypeError, 'callDurationSampling must be false or an object { everyCallUpTo?, thenOneIn? }; got true'],
    [{ callDurationSampling: { thenOneIn: 0 } }, RangeError, 'callDurationSampling.thenOneIn must be an integer from 1 to 1000000; got 0'],
    [{ callDurationSampling: { everyCallUpTo: -1 } }, RangeError, 'callDurationSampling.everyCallUpTo must be an integer >= 0; got -1'],
    [{ callDurationSampling: { oneIn: 8 } }, TypeError, 'callDurationSampling: unknown option "oneIn"; allowed: everyCallUpTo, thenOneIn'],
    [{ meterProvider: {} }, TypeError, 'meterProvider must be an OpenTelemetry MeterProvider (with getMeter); got an object'],
    [{ maxSeries: 3 }, TypeError, 'instrumentCircuitBreakers options: unknown option "maxSeries"; allowed: meterProvider, metrics, callDurations, callDurationSampling, spanEvents, maxSeriesNames, maxSeriesPerFamily'],
  ])('%o throws', (options, type, message) => {
    expect(() => instrumentCircuitBreakers(registry, options as never)).toThrow(type);
    expect(() => instrumentCircuitBreakers(registry, options as never)).toThrow(message);
  });

  it('rejects something that is neither a registry nor a breaker', () => {
    expect(() => instrumentCircuitBreakers({} as never)).toThrow(
      new TypeError('instrumentCircuitBreakers needs a CircuitBreakerRegistry or a CircuitBreaker; got an object'),
    );
  });
});

function descriptors(metrics: Map<string, MetricData>) {
  return Object.fromEntries(
    [...metrics].map(([name, metric]) => [
      name,
      { type: metric.dataPointType, unit: metric.descriptor.unit, description: metric.descriptor.description },
    ]),
  );
}
