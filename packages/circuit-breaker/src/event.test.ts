import { describe, expect, it } from 'vitest';
import type { StateChangeEvent } from './circuit-events.js';
import { Emitter } from './event.js';
import { CircuitBreakerRegistry } from './registry.js';
import { breakerOnClock, fail, settle } from './test-helpers.test-util.js';

const transition = (e: StateChangeEvent) => `${e.from}>${e.to}`;

describe('events emitted from inside a listener', () => {
  it('reach every listener in the order they happened (a listener that resets on open)', async () => {
    const { breaker } = breakerOnClock({ failureThreshold: 1 });
    const first: string[] = [];
    const second: string[] = [];
    breaker.onStateChange((e) => {
      first.push(transition(e));
      if (e.to === 'open') breaker.reset(); // re-entrant: closes while "open" is still being announced
    });
    breaker.onStateChange((e) => second.push(transition(e)));
    await settle(breaker.execute(fail));
    expect(first).toEqual(['closed>open', 'open>closed']);
    expect(second).toEqual(['closed>open', 'open>closed']);
    expect(breaker.state).toBe('closed');
  });

  it('a chain of re-entrant changes (forceOpen inside reset inside open) stays in order for everyone, registry included', async () => {
    const registry = new CircuitBreakerRegistry({ logger: false, timeoutMs: 0, failureThreshold: 1 });
    const breaker = registry.getBreaker('dep');
    const seen: string[][] = [[], [], []];
    breaker.onStateChange((e) => {
      seen[0]!.push(transition(e));
      if (e.to === 'open') breaker.reset();
      else if (e.to === 'closed' && e.reason === 'manual' && e.from === 'open') breaker.forceOpen();
    });
    breaker.onStateChange((e) => seen[1]!.push(transition(e)));
    registry.onStateChange((e) => seen[2]!.push(transition(e)));
    await settle(breaker.execute(fail));
    const expected = ['closed>open', 'open>closed', 'closed>forced_open'];
    expect(seen).toEqual([expected, expected, expected]);
    // Generations, too, arrive in order.
    const generations: number[] = [];
    registry.onStateChange((e) => generations.push(e.generation));
    breaker.reset();
    await settle(breaker.execute(fail));
    expect(generations).toEqual([...generations].sort((a, b) => a - b));
  });

  it('a listener that throws does not stop the queue', () => {
    const errors: unknown[] = [];
    const emitter = new Emitter<number>((error) => errors.push(error));
    const seen: number[] = [];
    emitter.event((n) => {
      if (n === 1) emitter.emit(2);
      throw new Error(`bad ${n}`);
    });
    emitter.event((n) => seen.push(n));
    emitter.emit(1);
    expect(seen).toEqual([1, 2]);
    expect(errors).toHaveLength(2);
    emitter.emit(3); // the emitter is usable afterwards
    expect(seen).toEqual([1, 2, 3]);
  });
});
