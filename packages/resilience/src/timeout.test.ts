import { CircuitBreakerRegistry, ManualClock, type PolicyEvent } from '@phlow/circuit-breaker';
import { describe, expect, it } from 'vitest';
import { TimeoutError } from './errors.js';
import { timeout } from './timeout.js';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('timeout', () => {
  it('rejects with TimeoutError after timeoutMs and aborts the call with it, even if the call ignores the abort', async () => {
    const clock = new ManualClock();
    const registry = new CircuitBreakerRegistry();
    const events: PolicyEvent[] = [];
    registry.onPolicyEvent((e) => events.push(e));
    const policy = timeout(500, { name: 'lookup', clock, registry });
    let seen: AbortSignal | undefined;
    const call = policy.execute(({ signal }) => {
      seen = signal;
      return new Promise(() => {}); // never settles, ignores the signal
    });
    clock.advance(499);
    await flush();
    expect(seen!.aborted).toBe(false);
    clock.advance(1);
    const error = await call.catch((e: unknown) => e);
    expect(TimeoutError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ policy: 'lookup', timeoutMs: 500 });
    expect(seen!.reason).toBe(error);
    expect(events).toEqual([expect.objectContaining({ type: 'timeout', policy: 'lookup', timeoutMs: 500 })]);
  });

  it('passes the value of a call in time, and clears its timer', async () => {
    const clock = new ManualClock();
    await expect(timeout(500, { clock }).execute(() => 'ok')).resolves.toBe('ok');
    expect(clock.pendingTimers).toBe(0);
  });

  it("forwards the caller's abort inward and rejects with its reason", async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    let inner: AbortSignal | undefined;
    const call = timeout(500, { clock }).execute(({ signal }) => {
      inner = signal;
      return new Promise(() => {});
    }, { signal: controller.signal });
    const reason = new Error('caller left');
    controller.abort(reason);
    await expect(call).rejects.toBe(reason);
    expect(inner!.reason).toBe(reason);
    expect(clock.pendingTimers).toBe(0);
  });

  it('validates its duration', () => {
    expect(() => timeout(0)).toThrow('timeout: timeoutMs must be');
    expect(() => timeout(Number.NaN)).toThrow(RangeError);
    expect(() => timeout(3e9)).toThrow(RangeError);
  });
});
