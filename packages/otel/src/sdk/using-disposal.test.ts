import { metrics } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { CircuitBreakerRegistry } from '@phlow/circuit-breaker';
import { instrumentCircuitBreakers } from '../instrument-circuit-breakers.js';
import { newMeterProvider } from '../test-support.test-util.js';
import { CircuitBreakerMetricProducer } from './circuit-breaker-metric-producer.js';
import { startTelemetry } from './start-telemetry.js';

describe('`using` on what @phlow/otel/sdk hands out', () => {
  it('`await using` shuts telemetry down at the end of the scope: globals unregistered, scrape endpoint closed', async () => {
    let url: string | undefined;
    let started: unknown;
    {
      await using telemetry = await startTelemetry({ prometheus: { host: '127.0.0.1', port: 0 } });
      url = telemetry.prometheusUrl;
      started = telemetry.meterProvider;
      expect(metrics.getMeterProvider()).toBe(started);
      expect((await fetch(url!)).status).toBe(200);
    }
    expect(metrics.getMeterProvider()).not.toBe(started);
    await expect(fetch(url!)).rejects.toThrow('fetch failed');
  });

  it('a metric producer bound with `using` stops counting as live at the end of the scope', () => {
    const registry = new CircuitBreakerRegistry({ logger: false });
    const { provider } = newMeterProvider();
    {
      using _producer = new CircuitBreakerMetricProducer();
      using inScope = instrumentCircuitBreakers(registry, { meterProvider: provider });
      expect(inScope.callDurations).toBe('producer');
    }
    // No live producer any more: a new instrumentation falls back to the SDK histogram.
    using afterwards = instrumentCircuitBreakers(registry, { meterProvider: provider });
    expect(afterwards.callDurations).toBe('sdk-histogram');
  });
});
