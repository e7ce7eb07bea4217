import { CircuitBreakerRegistry, ManualClock, type PolicyEvent } from '@phlow/circuit-breaker';
import { describe, expect, it } from 'vitest';
import { HedgeLostError } from './errors.js';
import { hedge } from './hedge.js';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('hedge', () => {
  it('starts a second attempt after delayMs; the first answer wins and the loser is aborted', async () => {
    const clock = new ManualClock();
    const registry = new CircuitBreakerRegistry();
    const events: PolicyEvent[] = [];
    registry.onPolicyEvent((e) => events.push(e));
    const policy = hedge({ name: 'read', delayMs: 100, clock, registry });
    const signals: AbortSignal[] = [];
    const resolvers: ((value: string) => void)[] = [];
    const call = policy.execute(({ signal, attempt }) => {
      signals.push(signal);
      return new Promise<string>((resolve) => resolvers.push(() => resolve(`attempt ${attempt}`)));
    });
    await flush();
    expect(signals).toHaveLength(1);
    clock.advance(100);
    await flush();
    expect(signals).toHaveLength(2);
    resolvers[1]!('');
    await expect(call).resolves.toBe('attempt 2');
    expect(signals[0]!.aborted).toBe(true);
    expect(HedgeLostError.isInstance(signals[0]!.reason)).toBe(true);
    expect(signals[1]!.aborted).toBe(false);
    expect(events.map((e) => e.type === 'hedge' && `${e.action}:${e.attempt}`)).toEqual(['hedged:2', 'won:2']);
  });

  it('does not hedge a fast answer, and leaves no timer', async () => {
    const clock = new ManualClock();
    let calls = 0;
    await expect(hedge({ delayMs: 100, clock }).execute(() => ++calls)).resolves.toBe(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it('fails at once with the first failure when every started attempt failed', async () => {
    const clock = new ManualClock();
    const first = new Error('first');
    await expect(hedge({ delayMs: 100, clock }).execute(() => Promise.reject(first))).rejects.toBe(first);
    expect(clock.pendingTimers).toBe(0);
  });

  it('reads delayMs from a function (a p95) at each hedge; a hostile one means no hedge', async () => {
    for (const delayMs of [() => Number.NaN, () => -1, () => { throw new Error('p95 broke'); }, () => 1e12]) {
      const clock = new ManualClock();
      let calls = 0;
      let finish!: () => void;
      const call = hedge({ delayMs, clock }).execute(() => { calls++; return new Promise<void>((resolve) => (finish = resolve)); });
      clock.advance(1e9);
      await flush();
      expect(calls).toBe(1);
      finish();
      await call;
    }
  });

  it("aborts every attempt on the caller's abort", async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    const signals: AbortSignal[] = [];
    const call = hedge({ delayMs: 10, maxHedged: 2, clock }).execute(({ signal }) => { signals.push(signal); return new Promise(() => {}); }, { signal: controller.signal });
    clock.advance(10);
    await flush();
    clock.advance(10);
    await flush();
    expect(signals).toHaveLength(3);
    controller.abort(new Error('stop'));
    await expect(call).rejects.toThrow('stop');
    expect(signals.every((s) => s.aborted)).toBe(true);
    expect(clock.pendingTimers).toBe(0);
  });

  it('validates its options', () => {
    expect(() => hedge({ delayMs: -1 })).toThrow('hedge: delayMs');
    expect(() => hedge({ delayMs: 'p95' as never })).toThrow('hedge: delayMs must be a duration in ms or a function');
    expect(() => hedge({ delayMs: 1, maxHedged: 0 })).toThrow('hedge: maxHedged');
  });
});
