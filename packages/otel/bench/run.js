// Benchmarks for @phlow/otel (`pnpm bench`). Prints figures; asserts nothing (STYLE rule 14).
//   1. A closed call through an instrumented breaker vs an uninstrumented one, same run, interleaved:
//      the default (durations aggregated here, exported by CircuitBreakerMetricProducer; every call timed
//      up to 1000 a second per breaker, then one in 64 at random), the same timing every call
//      (callDurationSampling: false), the SDK histogram path, no durations, and the core's own per-call
//      timing with a no-op duration listener (what timing every call costs before @phlow/otel does
//      anything), and what two clock reads cost. The loop runs millions of calls a second through one
//      breaker, so the default samples: that is the rate at which the cost of timing matters.
//   2. One metrics collection (the reader's collect: SDK instruments + the producer) over 10,000 breakers.
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { CircuitBreaker, CircuitBreakerRegistry } from '@phlow/circuit-breaker';
import { instrumentCircuitBreakers } from '../dist/index.js';
import { CircuitBreakerMetricProducer } from '../dist/sdk/index.js';
// internal: the per-series aggregate, to time one recording on its own
import { CallDurationAggregate } from '../dist/call-duration-aggregate.js';

class CollectingReader extends MetricReader {
  async onForceFlush() {}
  async onShutdown() {}
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const noop = async () => 1;

async function nsPerCall(breaker, calls) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) await breaker.execute(noop);
  return Number(process.hrtime.bigint() - start) / calls;
}

/** A meter provider whose reader carries the duration producer, as startTelemetry sets it up. */
function meterProvider() {
  const producer = new CircuitBreakerMetricProducer();
  const reader = new CollectingReader({ metricProducers: [producer] });
  const provider = new MeterProvider({ readers: [reader] });
  producer.scopeTo(provider);
  return { provider, reader, producer };
}

/** A breaker of its own registry, instrumented with `options`. */
function instrumentedBreaker(name, provider, options) {
  const registry = new CircuitBreakerRegistry({ logger: false });
  const breaker = registry.getBreaker(name);
  const instrumentation = instrumentCircuitBreakers(registry, { meterProvider: provider, ...options });
  return { breaker, instrumentation };
}

/** One read of the breaker's default clock (`Date.now`), alone in a loop. */
function clockReadNs() {
  const n = 5_000_000;
  let sink = 0;
  const samples = [];
  for (let round = 0; round < 5; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) sink += Date.now();
    samples.push(Number(process.hrtime.bigint() - start) / n);
  }
  if (sink === 0) console.log('');
  return median(samples);
}

async function closedCalls() {
  const { provider, producer } = meterProvider();
  const plain = new CircuitBreaker('plain', { logger: false });
  const timedOnly = new CircuitBreaker('timed', { logger: false });
  timedOnly.onCallDuration(() => {}, { sampling: false });
  const aggregated = instrumentedBreaker('aggregated', provider, {});
  const everyCall = instrumentedBreaker('every-call', provider, { callDurationSampling: false });
  const sdkHistogram = instrumentedBreaker('sdk-histogram', provider, { callDurations: 'sdk-histogram' });
  const countsOnly = instrumentedBreaker('counts-only', provider, { callDurations: false });
  if (aggregated.instrumentation.callDurations !== 'producer') throw new Error('the default should aggregate with a producer');
  const subjects = [
    ['closed call, uninstrumented', plain],
    ['  core timing of every call (no-op duration listener, no otel)', timedOnly],
    ['closed call, instrumented (default: producer, sampled)', aggregated.breaker],
    ['closed call, instrumented, callDurationSampling: false', everyCall.breaker],
    ["closed call, instrumented, callDurations: 'sdk-histogram'", sdkHistogram.breaker],
    ['closed call, instrumented, callDurations: false', countsOnly.breaker],
  ];
  const calls = 500_000;
  for (const [, breaker] of subjects) await nsPerCall(breaker, calls); // warm up
  const samples = subjects.map(() => []);
  for (let round = 0; round < 7; round++) {
    for (let i = 0; i < subjects.length; i++) samples[i].push(await nsPerCall(subjects[i][1], calls));
  }
  const bare = median(samples[0]);
  subjects.forEach(([label], i) => {
    const ns = median(samples[i]);
    const ratio = i === 0 ? '' : `   (${(ns / bare).toFixed(2)}x${i === 2 ? '; goal <= 1.3x' : ''})`;
    console.log(`${label.padEnd(64)} ${ns.toFixed(0).padStart(6)} ns${ratio}`);
  });
  const floor = median(samples[1]);
  const every = median(samples[3]);
  console.log(
    `  timing every call costs ${(every - bare).toFixed(0)} ns over uninstrumented: core timing ${(floor - bare).toFixed(0)} ns, ` +
      `@phlow/otel's aggregation ${(every - floor).toFixed(0)} ns; the core's timing reads the clock twice, ${(2 * clockReadNs()).toFixed(0)} ns here`,
  );
  const [point] = aggregated.instrumentation.readCallDurations();
  const made = (1 + 7) * calls; // the warm-up and 7 rounds
  const counted = point?.count ?? 0;
  console.log(`  the default's histogram counts ${counted} of its ${made} calls (${((counted / made - 1) * 100).toFixed(3)} %), from a sample`);
  for (const subject of [aggregated, everyCall, sdkHistogram, countsOnly]) subject.instrumentation.dispose();
  producer.dispose();
  await provider.shutdown();
}

async function collection(label, build, options = {}, views = []) {
  const producer = new CircuitBreakerMetricProducer();
  const reader = new CollectingReader({ metricProducers: [producer] });
  const provider = new MeterProvider({ readers: [reader], views });
  producer.scopeTo(provider);
  const registry = new CircuitBreakerRegistry({ logger: false });
  const instrumentation = instrumentCircuitBreakers(registry, { meterProvider: provider, ...options });
  await build(registry);
  let points = 0;
  const times = [];
  for (let i = 0; i < 25; i++) {
    const start = process.hrtime.bigint();
    const { resourceMetrics, errors } = await reader.collect();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
    if (errors.length > 0) throw errors[0];
    points = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).reduce((n, m) => n + m.dataPoints.length, 0);
  }
  const ms = median(times.slice(5));
  console.log(`${label.padEnd(64)} ${ms.toFixed(2).padStart(7)} ms  (${points} points)`);
  instrumentation.dispose();
  producer.dispose();
  await provider.shutdown();
}

async function oneCallEach(breakers) {
  for (const breaker of breakers) await breaker.execute(noop);
}

/** One recording on its own, without a call around it: ours vs the SDK histogram's `record`. */
function oneRecording() {
  const provider = new MeterProvider({ readers: [new CollectingReader()] });
  const histogram = provider.getMeter('bench').createHistogram('d', { advice: { explicitBucketBoundaries: [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10] } });
  const attributes = Object.freeze({ name: 'payments', outcome: 'success' });
  const aggregate = new CallDurationAggregate(attributes, Date.now());
  const n = 5_000_000;
  const time = (record) => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) record(i & 63); // 0..63 ms: the first five buckets
    return Number(process.hrtime.bigint() - start) / n;
  };
  const ours = () => time((ms) => aggregate.recordMs(ms));
  const sdk = () => time((ms) => histogram.record(ms / 1000, attributes));
  ours();
  sdk();
  const samples = [[], []];
  for (let round = 0; round < 5; round++) {
    samples[0].push(ours());
    samples[1].push(sdk());
  }
  console.log(`one recording: CallDurationAggregate.recordMs ${median(samples[0]).toFixed(1)} ns, SDK Histogram.record ${median(samples[1]).toFixed(1)} ns`);
}

await closedCalls();
oneRecording();
console.log('one collection of 10,000 breakers (goal < 20 ms):');
await collection('  one keyed family of 10,000 members (default: 100 + family/_overflow)', async (registry) => {
  const family = registry.getFamily('peers', {}, { maxKeys: 10_000 });
  await oneCallEach(Array.from({ length: 10_000 }, (_, i) => family.get(`peer-${i}`)));
});
await collection('  10,000 named breakers, default cap (200 + _overflow)', async (registry) => {
  await oneCallEach(Array.from({ length: 10_000 }, (_, i) => registry.getBreaker(`b${i}`)));
});
await collection(
  '  10,000 named breakers, maxSeriesNames 10,000 (110k series)',
  async (registry) => {
    await oneCallEach(Array.from({ length: 10_000 }, (_, i) => registry.getBreaker(`b${i}`)));
  },
  { maxSeriesNames: 10_000 },
  [{ instrumentName: '*', aggregationCardinalityLimit: 200_000 }],
);
