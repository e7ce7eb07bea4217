import { CircuitBreakerRegistry, ManualClock } from '@phlow/circuit-breaker';
import { afterEach, describe, expect, it } from 'vitest';
import { CallLatencies } from './call-latencies.js';

let latencies: CallLatencies | undefined;
afterEach(() => latencies?.dispose());

/** Runs a call through `breaker` that takes `ms` on the manual clock (and fails when `fails`). */
async function call(breaker: { execute<T>(fn: () => Promise<T>): Promise<T> }, clock: ManualClock, ms: number, fails = false): Promise<void> {
  let settle!: () => void;
  const running = breaker.execute(() => new Promise<void>((resolve, reject) => (settle = fails ? () => reject(new Error('down')) : resolve)));
  clock.advance(ms);
  settle();
  await running.catch(() => undefined);
}

describe('CallLatencies', () => {
  it('gives p50 and p99 (nearest rank) of the durations the breaker measured, failures included, rejections not', async () => {
    const clock = new ManualClock();
    const registry = new CircuitBreakerRegistry({ clock, logger: false });
    latencies = new CallLatencies(registry, { now: () => clock.now() });
    const family = registry.getFamily('a2a', { failureThreshold: 3 });
    const alpha = family.get('alpha');
    const idle = family.get('idle');
    for (let ms = 1; ms <= 100; ms++) await call(alpha, clock, ms);
    expect(latencies.read().get('a2a/alpha')).toEqual({ calls: 100, p50_ms: 50, p99_ms: 99 });
    expect(latencies.read().get('a2a/idle')).toBeNull();
    // Three slow failures open it; the rejection that follows never ran and adds nothing.
    for (let i = 0; i < 3; i++) await call(idle, clock, 1_000, true);
    await idle.execute(async () => 'refused').catch(() => undefined);
    expect(idle.state).toBe('open');
    expect(latencies.read().get('a2a/idle')).toEqual({ calls: 3, p50_ms: 1_000, p99_ms: 1_000 });
  });

  it('keeps the last maxCalls durations per breaker, and only those inside the window', async () => {
    const clock = new ManualClock();
    const registry = new CircuitBreakerRegistry({ clock, logger: false });
    latencies = new CallLatencies(registry, { maxCalls: 10, windowMs: 60_000, now: () => clock.now() });
    const breaker = registry.getFamily('supabase').get('rest');
    for (let i = 0; i < 1_000; i++) await call(breaker, clock, i < 990 ? 500 : 2);
    // The 990 slow calls were pushed out of the ring by the last 10.
    expect(latencies.read().get('supabase/rest')).toEqual({ calls: 10, p50_ms: 2, p99_ms: 2 });
    clock.advance(61_000);
    expect(latencies.read().get('supabase/rest')).toBeNull();
    await call(breaker, clock, 7);
    expect(latencies.read().get('supabase/rest')).toEqual({ calls: 1, p50_ms: 7, p99_ms: 7 });
  });

  it('follows at most maxRows breakers', async () => {
    const clock = new ManualClock();
    const registry = new CircuitBreakerRegistry({ clock, logger: false });
    latencies = new CallLatencies(registry, { maxRows: 2, now: () => clock.now() });
    const family = registry.getFamily('did', {}, { maxKeys: 1_000 });
    for (let i = 0; i < 100; i++) await call(family.get(`web:evil-${i}.example`), clock, 1);
    expect([...latencies.read().keys()]).toEqual(['did/web:evil-0.example', 'did/web:evil-1.example']);
  });

  it('refuses a bad option, naming it', () => {
    const registry = new CircuitBreakerRegistry();
    expect(() => new CallLatencies(registry, { maxCalls: 0 })).toThrow('maxCalls must be an integer >= 1; got 0');
    expect(() => new CallLatencies(registry, { windowMs: Number.NaN })).toThrow('windowMs must be a number > 0; got NaN');
  });
});
