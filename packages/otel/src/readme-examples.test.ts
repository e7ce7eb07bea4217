// The README's examples, kept here so they compile (typecheck) and run. Keep the two in step.
import { trace } from '@opentelemetry/api';
import { CircuitBreakerRegistry, jsonLineLogger } from '@phlow/circuit-breaker';
import { describe, expect, it } from 'vitest';
import { instrumentCircuitBreakers, traceContextLogger, withBreakerSpan } from './index.js';
import { startTelemetry } from './sdk/index.js';
import { VERSION } from './version.js';
import { readFile } from 'node:fs/promises';

describe('README examples', () => {
  it('Usage: start the SDK, instrument the registry, shut down', async () => {
    // --- README: usage ---
    const telemetry = await startTelemetry({ serviceName: 'demo-agent', prometheus: { port: 0 } });
    const registry = new CircuitBreakerRegistry({ logger: traceContextLogger(jsonLineLogger()) });
    const instrumentation = instrumentCircuitBreakers(registry);

    const breaker = registry.getBreaker('external_api', { failureThreshold: 5, timeoutMs: 5_000 });
    const data = await breaker.execute(async ({ signal }) => {
      signal.throwIfAborted();
      return { ok: true };
    });

    // on shutdown
    instrumentation.dispose();
    await telemetry.shutdown();
    // --- end ---
    expect(data).toEqual({ ok: true });
    expect(telemetry.prometheusUrl).toMatch(/^http:\/\/(127\.0\.0\.1|\[::1\]):\d+\/metrics$/);
  });

  it('Adapters: withBreakerSpan', async () => {
    const registry = new CircuitBreakerRegistry({ logger: false });
    const fetchProfile = async (_id: string, _signal: AbortSignal) => ({ id: 'u1' });
    // --- README: adapters ---
    const tracer = trace.getTracer('@phlow/supabase');
    const breaker = registry.getBreaker('supabase');
    const profile = await withBreakerSpan(
      tracer,
      breaker,
      'select profiles',
      ({ signal }) => fetchProfile('u1', signal),
      { attributes: { 'db.system.name': 'postgresql' } },
    );
    // --- end ---
    expect(profile).toEqual({ id: 'u1' });
  });

  it('VERSION matches package.json', async () => {
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
  });
});
