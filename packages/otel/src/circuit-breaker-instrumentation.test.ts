import { cp, mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { CircuitBreakerRegistry, getCircuitBreakerRegistry } from '@phlow/circuit-breaker';
import { describe, expect, it } from 'vitest';
import { CircuitBreakerInstrumentation } from './circuit-breaker-instrumentation.js';
import { CALLS_COUNTER } from './telemetry-names.js';
import { cleanupAfterEach, CollectingReader, newMeterProvider, pointValues, startNodeSdk } from './test-support.test-util.js';

const cleanups = cleanupAfterEach();
const silentDiag: DiagLogger = { error() {}, warn() {}, info() {}, debug() {}, verbose() {} };

/** The real NodeSDK with one collecting reader; nothing exported, no resource detection. */
function startSdk(instrumentation: CircuitBreakerInstrumentation): CollectingReader {
  const reader = new CollectingReader();
  startNodeSdk(cleanups, reader, instrumentation);
  return reader;
}

async function successes(reader: CollectingReader, name: string): Promise<number | undefined> {
  const calls = (await reader.metrics()).get(CALLS_COUNTER.name);
  return calls === undefined ? undefined : pointValues(calls)[`name=${name},outcome=success`];
}

describe('CircuitBreakerInstrumentation', () => {
  it('under the real NodeSDK reports breakers made before and after start', async () => {
    const registry = new CircuitBreakerRegistry();
    const before = registry.getBreaker('before');
    const reader = startSdk(new CircuitBreakerInstrumentation({ registry, callDurations: 'sdk-histogram' }));
    await before.execute(async () => 1);
    const after = registry.getBreaker('after');
    await after.execute(async () => 2);
    await after.execute(async () => 3);
    expect(await successes(reader, 'before')).toBe(1);
    expect(await successes(reader, 'after')).toBe(2);
  });

  it('disable() stops reporting and enable() resumes it', async () => {
    const registry = new CircuitBreakerRegistry();
    const instrumentation = new CircuitBreakerInstrumentation({ registry, callDurations: false });
    const reader = startSdk(instrumentation);
    const breaker = registry.getBreaker('toggled');
    await breaker.execute(async () => 1);
    expect(await successes(reader, 'toggled')).toBe(1);

    instrumentation.disable();
    expect(instrumentation.isEnabled()).toBe(false);
    await breaker.execute(async () => 1);
    await breaker.execute(async () => 1);
    expect(await successes(reader, 'toggled')).toBe(1); // not counted: the SDK keeps the last value it saw

    instrumentation.enable();
    await breaker.execute(async () => 1);
    await breaker.execute(async () => 1);
    // Counting resumes from zero: calls made while disabled were not seen (a counter reset to Prometheus).
    expect(await successes(reader, 'toggled')).toBe(2);
    await breaker.execute(async () => 1);
    expect(await successes(reader, 'toggled')).toBe(3);
  });

  it('setMeterProvider switches where metrics go', async () => {
    const registry = new CircuitBreakerRegistry();
    const first = newMeterProvider();
    const second = newMeterProvider();
    cleanups.push(() => first.provider.shutdown(), () => second.provider.shutdown());
    const instrumentation = new CircuitBreakerInstrumentation({ registry, callDurations: false });
    cleanups.push(() => instrumentation.disable());
    instrumentation.setMeterProvider(first.provider);
    const breaker = registry.getBreaker('switched');
    await breaker.execute(async () => 1);
    expect(await successes(first.reader, 'switched')).toBe(1);
    instrumentation.setMeterProvider(second.provider);
    await breaker.execute(async () => 1);
    await breaker.execute(async () => 1);
    expect(await successes(second.reader, 'switched')).toBe(2);
    expect(await successes(first.reader, 'switched')).toBe(1); // the old provider's instruments stopped counting
  });

  it('works through registerInstrumentations, whose unregister disables it', async () => {
    const registry = new CircuitBreakerRegistry();
    const { provider, reader } = newMeterProvider();
    cleanups.push(() => provider.shutdown());
    const instrumentation = new CircuitBreakerInstrumentation({ registry, callDurations: false, enabled: false });
    expect(instrumentation.isEnabled()).toBe(false);
    const unregister = registerInstrumentations({ instrumentations: [instrumentation], meterProvider: provider });
    expect(instrumentation.isEnabled()).toBe(true); // registerInstrumentations enables a disabled-by-config one
    const breaker = registry.getBreaker('registered');
    await breaker.execute(async () => 1);
    expect(await successes(reader, 'registered')).toBe(1);
    unregister();
    expect(instrumentation.isEnabled()).toBe(false);
    await breaker.execute(async () => 1);
    expect(await successes(reader, 'registered')).toBe(1);
  });

  it('setConfig applies at once; getConfig reports it with enabled defaulted', async () => {
    const registry = new CircuitBreakerRegistry();
    const { provider, reader } = newMeterProvider();
    cleanups.push(() => provider.shutdown());
    const instrumentation = new CircuitBreakerInstrumentation({ registry, callDurations: false });
    cleanups.push(() => instrumentation.disable());
    instrumentation.setMeterProvider(provider);
    expect(instrumentation.getConfig()).toEqual({ registry, callDurations: false, enabled: true });
    instrumentation.setConfig({ registry, callDurations: false, metrics: false });
    await registry.getBreaker('quiet').execute(async () => 1);
    expect(await successes(reader, 'quiet')).toBeUndefined();
    expect(instrumentation.getConfig().metrics).toBe(false);
  });

  it('made before any meter provider exists, waits for one: no instruments (nor duration warning) on the API no-op', async () => {
    const warnings: string[] = [];
    diag.setLogger({ ...silentDiag, warn: (message: string) => void warnings.push(message) }, DiagLogLevel.WARN);
    cleanups.push(() => diag.disable());
    const registry = new CircuitBreakerRegistry();
    const instrumentation = new CircuitBreakerInstrumentation({ registry });
    cleanups.push(() => instrumentation.disable());
    expect([instrumentation.isEnabled(), instrumentation.callDurations]).toEqual([true, 'off']);
    expect(warnings).toEqual([]);
    const { provider, reader } = newMeterProvider();
    cleanups.push(() => provider.shutdown());
    instrumentation.setMeterProvider(provider);
    expect(instrumentation.callDurations).toBe('sdk-histogram'); // no producer on this reader: said once, now
    expect(warnings).toHaveLength(1);
    await registry.getBreaker('late').execute(async () => 1);
    expect(await successes(reader, 'late')).toBe(1);
  });

  it('rejects bad configuration, naming the option and what is allowed', () => {
    expect(() => new CircuitBreakerInstrumentation({ perKeySeries: true } as never)).toThrow(/perKeySeries.*registry/s);
    expect(() => new CircuitBreakerInstrumentation({ meterProvider: {} } as never)).toThrow(/setMeterProvider/);
    expect(() => new CircuitBreakerInstrumentation({ registry: {} as never })).toThrow(/registry must be a CircuitBreakerRegistry/);
    expect(() => new CircuitBreakerInstrumentation({ enabled: 'yes' as never })).toThrow(/enabled/);
  });

  it('by default watches the process-wide registry, shared with another physical copy of @phlow/circuit-breaker', async () => {
    const copy = await loadCoreCopy();
    const { provider, reader } = newMeterProvider();
    cleanups.push(() => provider.shutdown());
    const instrumentation = new CircuitBreakerInstrumentation({ callDurations: false, enabled: false });
    registerInstrumentations({ instrumentations: [instrumentation], meterProvider: provider });
    cleanups.push(() => instrumentation.disable());
    expect(copy.getCircuitBreakerRegistry).not.toBe(getCircuitBreakerRegistry);
    const breaker = copy.getCircuitBreakerRegistry().getBreaker('made-by-another-copy');
    await breaker.execute(async () => 1);
    expect(await successes(reader, 'made-by-another-copy')).toBe(1);
  });
});

/** A copy of the built core's published files in a folder of its own, imported by file URL. */
async function loadCoreCopy(): Promise<typeof import('@phlow/circuit-breaker')> {
  const packageDir = dirname(createRequire(import.meta.url).resolve('@phlow/circuit-breaker/package.json'));
  if (!existsSync(join(packageDir, 'dist/index.js'))) throw new Error(`${packageDir}/dist missing: build @phlow/circuit-breaker first`);
  const dir = await mkdtemp(join(tmpdir(), 'phlow-core-copy-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  for (const part of ['dist', 'src', 'package.json']) await cp(join(packageDir, part), join(dir, part), { recursive: true });
  return (await import(pathToFileURL(join(dir, 'dist/index.js')).href)) as typeof import('@phlow/circuit-breaker');
}
