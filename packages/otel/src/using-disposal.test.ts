import { CircuitBreakerRegistry } from '@phlow/circuit-breaker';
import { describe, expect, it } from 'vitest';
import { instrumentCircuitBreakers } from './instrument-circuit-breakers.js';
import { newMeterProvider, pointValues } from './test-support.test-util.js';

describe('`using` on what @phlow/otel hands out', () => {
  it('an instrumentation bound with `using` stops recording at the end of the scope', async () => {
    const { provider, reader } = newMeterProvider();
    const registry = new CircuitBreakerRegistry({ logger: false, timeoutMs: 0 });
    const breaker = registry.getBreaker('payments');
    {
      using _instrumentation = instrumentCircuitBreakers(registry, { meterProvider: provider, callDurations: false });
      breaker.forceOpen();
    }
    breaker.reset();
    const metrics = await reader.metrics();
    // Counted while in scope; disposed after it: the way back to closed is not counted and the
    // observable instruments no longer report.
    expect(pointValues(metrics.get('phlow.circuit_breaker.transitions'))).toEqual({ 'from=closed,name=payments,to=forced_open': 1 });
    expect(metrics.has('phlow.circuit_breaker.state')).toBe(false);
    await provider.shutdown();
  });
});
