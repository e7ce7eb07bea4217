import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './circuit-breaker.js';
import { combineDisposables, Emitter } from './event.js';
import { InMemoryStateStore } from './in-memory-state-store.js';
import { CircuitBreakerRegistry } from './registry.js';
import type { StoreBinding } from './state-store.js';
import { breakerOnClock, fail, settle, succeed } from './test-helpers.test-util.js';

describe('`using` disposes what the core hands out at the end of the scope', () => {
  it('a state-change subscription stops listening', async () => {
    const { breaker } = breakerOnClock({ failureThreshold: 1 });
    const seen: string[] = [];
    {
      using subscription = breaker.onStateChange((e) => seen.push(e.to));
      expect(typeof subscription.dispose).toBe('function');
      breaker.forceOpen();
    }
    breaker.reset();
    expect(seen).toEqual(['forced_open']);
  });

  it('an outcome subscription stops listening and switches call timing off again', async () => {
    const { breaker } = breakerOnClock({ failureThreshold: 5 });
    const failures: string[] = [];
    {
      using _failures = breaker.onFailure((e) => failures.push(e.cause));
      await settle(breaker.execute(fail));
    }
    await settle(breaker.execute(fail));
    expect(failures).toEqual(['error']);
    // A second subscription after the first was disposed still works (timing was switched back on).
    const durations: number[] = [];
    {
      using _successes = breaker.onSuccess((e) => durations.push(e.durationMs));
      await breaker.execute(succeed);
    }
    await breaker.execute(succeed);
    expect(durations).toHaveLength(1);
  });

  it("the registry's observation disposes every attachment, and attach may return a plain { dispose() }", () => {
    const registry = new CircuitBreakerRegistry({ logger: false });
    registry.getBreaker('a');
    const detached: string[] = [];
    {
      using _observation = registry.observe((breaker) => ({ dispose: () => void detached.push(breaker.name) }));
      registry.getBreaker('b');
      expect(detached).toEqual([]);
    }
    expect(detached.sort()).toEqual(['a', 'b']);
    registry.getBreaker('c');
    expect(detached).toHaveLength(2);
  });

  it('a registry-wide state-change subscription stops listening', () => {
    const registry = new CircuitBreakerRegistry({ logger: false });
    const breaker = registry.getBreaker('dep');
    const seen: string[] = [];
    {
      using _subscription = registry.onStateChange((e) => seen.push(`${e.breaker.name}:${e.to}`));
      breaker.forceOpen();
    }
    breaker.reset();
    expect(seen).toEqual(['dep:forced_open']);
  });

  it('combineDisposables disposes each part once, also through `using`', () => {
    const emitter = new Emitter<number>(() => {});
    const seen: number[] = [];
    const plain = { disposed: 0, dispose() { this.disposed++; } };
    {
      using all = combineDisposables([emitter.event((n) => seen.push(n)), plain]);
      emitter.emit(1);
      all.dispose(); // disposing before the scope ends too: the scope's dispose is then a no-op
    }
    emitter.emit(2);
    expect(seen).toEqual([1]);
    expect(plain.disposed).toBe(1);
    expect(emitter.size).toBe(0);
  });

  it('a breaker bound with `using` detaches from its state store', async () => {
    const store = new InMemoryStateStore();
    const options = { stateStore: store, logger: false as const, timeoutMs: 0, failureThreshold: 1 };
    const stays = new CircuitBreaker('shared', options);
    let left: CircuitBreaker | undefined;
    {
      using leaves = new CircuitBreaker('shared', options);
      left = leaves;
    }
    await settle(stays.execute(fail));
    expect(stays.state).toBe('open');
    // Still attached, it would have adopted the trip from the store.
    expect(left.state).toBe('closed');
  });

  it("an in-memory store connection leaves the store's group at the end of the scope", () => {
    const store = new InMemoryStateStore();
    const pushed: string[] = [];
    const binding = (name: string): StoreBinding => ({
      name: 'shared',
      threshold: 1,
      halfOpenMaxCalls: 1,
      retryAtFor: (openedAt) => openedAt,
      snapshot: () => ({ state: 'open', generation: 1, openedAt: 0, retryAt: 0, failedProbes: 0 }) as never,
      applyRemote: () => void pushed.push(name),
    });
    {
      using _first = store.connect(binding('first'));
    }
    // The first connection was disposed, so the newcomer has no peer to adopt state from.
    using second = store.connect(binding('second'));
    expect(pushed).toEqual([]);
    second.transitioned({} as never);
    expect(pushed).toEqual([]);
  });
});
