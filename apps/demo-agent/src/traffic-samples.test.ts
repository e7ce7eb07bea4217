import { CircuitBreakerRegistry } from '@phlow/circuit-breaker';
import { afterEach, describe, expect, it } from 'vitest';
import { TrafficSamples } from './traffic-samples.js';

let samples: TrafficSamples | undefined;
afterEach(() => samples?.dispose());

describe('TrafficSamples', () => {
  it('starts with a full window of zeros and samples what the breakers counted since the last sample', async () => {
    const registry = new CircuitBreakerRegistry();
    // Sampled by hand here: an hour between timer samples.
    samples = new TrafficSamples(registry, { size: 5, everyMs: 3_600_000 });
    expect(samples.samples.map((s) => s.calls)).toEqual([0, 0, 0, 0, 0]);
    const breaker = registry.getBreaker('dependency', { failureThreshold: 2 });
    await breaker.execute(async () => 'ok');
    for (let i = 0; i < 2; i++) await breaker.execute(async () => Promise.reject(new Error('down'))).catch(() => undefined);
    await breaker.execute(async () => 'refused').catch(() => undefined);
    samples.take();
    expect(samples.samples).toHaveLength(5);
    expect(samples.samples.at(-1)).toMatchObject({ calls: 4, failures: 2, rejections: 1 });
    samples.take();
    expect(samples.samples.at(-1)).toMatchObject({ calls: 0, failures: 0, rejections: 0 });
  });
});
