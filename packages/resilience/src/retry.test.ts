import { CircuitBreaker, CircuitBreakerRegistry, CircuitOpenError, CircuitTimeoutError, ManualClock, markTransient, type PolicyEvent } from '@phlow/circuit-breaker';
import { describe, expect, it } from 'vitest';
import { BulkheadRejectedError, RateLimitedError, TimeoutError } from './errors.js';
import { retry } from './retry.js';
import { retryBudget } from './retry-budget.js';

/** Lets every pending promise callback run. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

function transient(message = 'unavailable', retryAfterMs?: number): Error {
  return markTransient(new Error(message), retryAfterMs);
}

function setup() {
  const clock = new ManualClock();
  const registry = new CircuitBreakerRegistry();
  const events: PolicyEvent[] = [];
  registry.onPolicyEvent((event) => events.push(event));
  return { clock, registry, events };
}

describe('retry', () => {
  it('retries a transient error with exponential backoff and reports each attempt', async () => {
    const { clock, registry, events } = setup();
    const policy = retry({ name: 'lookup', clock, registry, maxAttempts: 3, backoff: { initialDelayMs: 100, jitter: 'none' } });
    const attempts: number[] = [];
    const call = policy.execute(({ attempt }) => {
      attempts.push(attempt);
      if (attempt < 3) throw transient();
      return 'ok';
    });
    await flush();
    expect(attempts).toEqual([1]);
    clock.advance(99);
    await flush();
    expect(attempts).toEqual([1]);
    clock.advance(1);
    await flush();
    expect(attempts).toEqual([1, 2]);
    clock.advance(200);
    await flush();
    await expect(call).resolves.toBe('ok');
    expect(attempts).toEqual([1, 2, 3]);
    const attemptEvents = events.filter((e) => e.type === 'retry_attempt');
    expect(attemptEvents.map((e) => [e.attempt, e.delayMs])).toEqual([[1, 0], [2, 100], [3, 200]]);
    expect(attemptEvents[0]).not.toHaveProperty('previous');
    expect(attemptEvents[1]).toHaveProperty('previous');
  });

  it('retries a failed result (supabase-js style) and hands the last one back when attempts run out', async () => {
    const { clock, registry, events } = setup();
    const policy = retry({ clock, registry, maxAttempts: 2, backoff: { initialDelayMs: 10, jitter: 'none' } });
    let calls = 0;
    const call = policy.execute(() => {
      calls++;
      return markTransient({ data: null, error: { message: 'down' }, status: 503 });
    });
    await flush();
    clock.advance(10);
    await flush();
    const result = await call;
    expect(calls).toBe(2);
    expect(result.status).toBe(503);
    expect(events.at(-1)).toMatchObject({ type: 'retry_gave_up', attempts: 2, reason: 'max_attempts' });
  });

  it('does not retry what is not transient, by default', async () => {
    const { clock, registry, events } = setup();
    const policy = retry({ clock, registry });
    let calls = 0;
    const permanent = new Error('404');
    await expect(policy.execute(() => { calls++; throw permanent; })).rejects.toBe(permanent);
    expect(calls).toBe(1);
    expect(events.at(-1)).toMatchObject({ type: 'retry_gave_up', reason: 'not_retryable', attempts: 1 });
  });

  it('never retries a rejection, even when retryOn says yes', async () => {
    const { clock, registry } = setup();
    const policy = retry({ clock, registry, retryOn: () => true, maxAttempts: 5 });
    const breaker = new CircuitBreaker('down', { failureThreshold: 1, logger: false, clock });
    await breaker.execute(() => Promise.reject(new Error('x'))).catch(() => {});
    const rejections = [
      () => breaker.execute(() => 'never'),
      () => Promise.reject(BulkheadRejectedError.create('b', 'full', 1, 0, 1)),
      () => Promise.reject(RateLimitedError.create('r', 10)),
    ];
    for (const reject of rejections) {
      let calls = 0;
      const error = await policy.execute(() => { calls++; return reject(); }).catch((e: unknown) => e);
      expect(calls).toBe(1);
      expect(CircuitOpenError.isInstance(error) || BulkheadRejectedError.isInstance(error) || RateLimitedError.isInstance(error)).toBe(true);
    }
  });

  it("retries a breaker's timeout and a timeout policy's only when retryOn says so", async () => {
    const { clock, registry } = setup();
    const failures = [new CircuitTimeoutError('b', 10), new TimeoutError('t', 10)];
    for (const failure of failures) {
      let calls = 0;
      await expect(retry({ clock, registry }).execute(() => { calls++; throw failure; })).rejects.toBe(failure);
      expect(calls).toBe(1);
      const policy = retry({ clock, registry, maxAttempts: 2, retryOn: (e) => CircuitTimeoutError.isInstance(e) || TimeoutError.isInstance(e), backoff: { initialDelayMs: 1, jitter: 'none' } });
      calls = 0;
      const call = policy.execute(() => { calls++; throw failure; });
      await flush();
      clock.advance(1);
      await expect(call).rejects.toBe(failure);
      expect(calls).toBe(2);
    }
  });

  it('waits at least as long as the dependency asked (Retry-After lengthens, never shortens)', async () => {
    const { clock, registry, events } = setup();
    const policy = retry({ clock, registry, maxAttempts: 3, backoff: { initialDelayMs: 100, jitter: 'none' } });
    let calls = 0;
    const call = policy.execute(() => {
      calls++;
      // First: asks for 5 s (longer than the backoff); then: asks for 1 ms (shorter: the backoff wins).
      if (calls === 1) throw transient('busy', 5_000);
      if (calls === 2) throw transient('busy', 1);
      return 'ok';
    });
    await flush();
    clock.advance(4_999);
    await flush();
    expect(calls).toBe(1);
    clock.advance(1);
    await flush();
    expect(calls).toBe(2);
    clock.advance(199);
    await flush();
    expect(calls).toBe(2);
    clock.advance(1);
    await expect(call).resolves.toBe('ok');
    expect(events.filter((e) => e.type === 'retry_attempt').map((e) => e.type === 'retry_attempt' && e.delayMs)).toEqual([0, 5_000, 200]);
  });

  it("reads a Response's Retry-After header", async () => {
    const { clock, registry } = setup();
    const policy = retry({ clock, registry, maxAttempts: 2, retryOn: (v, kind) => kind === 'result' && (v as Response).status === 503, backoff: { initialDelayMs: 1, jitter: 'none' } });
    let calls = 0;
    const call = policy.execute(() => (++calls === 1 ? new Response('busy', { status: 503, headers: { 'retry-after': '3' } }) : new Response('ok')));
    await flush();
    clock.advance(2_999);
    await flush();
    expect(calls).toBe(1);
    clock.advance(1);
    const response = await call;
    expect(response.status).toBe(200);
  });

  describe('hostile Retry-After values', () => {
    it('gives up at once on a wait longer than maxRetryAfterMs (a year), leaving the failure to the caller', async () => {
      const { clock, registry, events } = setup();
      const policy = retry({ clock, registry, maxAttempts: 5, maxRetryAfterMs: 30_000 });
      const year = 365 * 24 * 3600 * 1000;
      let calls = 0;
      const failure = transient('go away', year);
      await expect(policy.execute(() => { calls++; throw failure; })).rejects.toBe(failure);
      expect(calls).toBe(1);
      expect(clock.pendingTimers).toBe(0);
      expect(events.at(-1)).toMatchObject({ type: 'retry_gave_up', reason: 'retry_after' });
      const header = new Response('', { status: 503, headers: { 'retry-after': '9'.repeat(16) } });
      const result = await retry({ clock, registry, maxAttempts: 5, retryOn: () => true }).execute(() => header);
      expect(result).toBe(header);
      expect(clock.pendingTimers).toBe(0);
    });

    it('ignores Retry-After values that are not one (negative, decimal, NaN, garbage, 400 digits)', async () => {
      for (const value of ['-5', '1.5', 'NaN', 'soon', '1e9', '0x10', '9'.repeat(400), 'Infinity', ' ', 'Wed, 99 Foo 2026 99:99:99 GMT']) {
        const { clock, registry } = setup();
        const policy = retry({ clock, registry, maxAttempts: 2, retryOn: () => true, backoff: { initialDelayMs: 50, jitter: 'none' } });
        let calls = 0;
        const call = policy.execute(() => (++calls === 1 ? new Response('', { status: 503, headers: { 'retry-after': value } }) : 'ok'));
        await flush();
        clock.advance(50);
        await expect(call).resolves.toBe('ok');
        expect(calls).toBe(2);
      }
    });

    it('honours an HTTP-date and treats a past one as "now"', async () => {
      const { clock, registry } = setup();
      const policy = retry({ clock, registry, maxAttempts: 2, retryOn: () => true, backoff: { initialDelayMs: 1, jitter: 'none' } });
      const inTenSeconds = new Date(clock.now() + 10_000).toUTCString();
      let calls = 0;
      const call = policy.execute(() => (++calls === 1 ? new Response('', { status: 429, headers: { 'retry-after': inTenSeconds } }) : 'ok'));
      await flush();
      clock.advance(9_000);
      await flush();
      expect(calls).toBe(1);
      clock.advance(1_000);
      await expect(call).resolves.toBe('ok');
    });
  });

  it('ends a wait at once when the caller aborts, with the abort reason, leaving no timer', async () => {
    const { clock, registry, events } = setup();
    const policy = retry({ clock, registry, maxAttempts: 5, backoff: { initialDelayMs: 60_000, jitter: 'none' } });
    const controller = new AbortController();
    let calls = 0;
    const call = policy.execute(() => { calls++; throw transient(); }, { signal: controller.signal });
    await flush();
    expect(clock.pendingTimers).toBe(1);
    const reason = new Error('caller left');
    controller.abort(reason);
    await expect(call).rejects.toBe(reason);
    expect(clock.pendingTimers).toBe(0);
    expect(calls).toBe(1);
    expect(events.at(-1)).toMatchObject({ type: 'retry_gave_up', reason: 'aborted' });
  });

  it('does not retry after the caller aborted during an attempt', async () => {
    const { clock, registry } = setup();
    const controller = new AbortController();
    let calls = 0;
    const call = retry({ clock, registry, retryOn: () => true }).execute(({ signal }) => {
      calls++;
      return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
    }, { signal: controller.signal });
    controller.abort(new Error('stop'));
    await expect(call).rejects.toThrow('stop');
    expect(calls).toBe(1);
  });

  it('keeps the outcome when the classifier throws (no retry, no classifier error)', async () => {
    const { clock, registry } = setup();
    const policy = retry({ clock, registry, retryOn: () => { throw new Error('classifier bug'); } });
    await expect(policy.execute(() => 'value')).resolves.toBe('value');
    const failure = transient();
    let calls = 0;
    await expect(policy.execute(() => { calls++; throw failure; })).rejects.toBe(failure);
    expect(calls).toBe(1);
  });

  it('stops at the deadline: no wait that would end after it', async () => {
    const { clock, registry, events } = setup();
    const policy = retry({ clock, registry, deadlineMs: 1_000, backoff: { initialDelayMs: 300, multiplier: 2, jitter: 'none' } });
    let calls = 0;
    const call = policy.execute(() => { calls++; throw transient(); });
    const settled = call.catch((e: unknown) => e);
    for (let i = 0; i < 10; i++) {
      await flush();
      clock.advance(100);
    }
    expect(await settled).toBeInstanceOf(Error);
    // 0 → wait 300 → 300 → wait 600 → 900; a wait of 1 200 would end after the deadline.
    expect(calls).toBe(3);
    expect(events.at(-1)).toMatchObject({ type: 'retry_gave_up', reason: 'deadline', attempts: 3 });
  });

  it('survives a huge maxAttempts: the budget and the deadline stop it, with no growth per attempt', async () => {
    const { clock, registry } = setup();
    const budget = retryBudget({ ratio: 0, minRetriesPerSecond: 100, windowMs: 1_000, clock });
    const policy = retry({ clock, registry, maxAttempts: Number.MAX_SAFE_INTEGER, budget, backoff: { initialDelayMs: 0, maxDelayMs: 0 } });
    let calls = 0;
    const call = policy.execute(() => { calls++; throw transient(); });
    call.catch(() => {});
    for (let i = 0; i < 200 && calls < 101; i++) {
      await flush();
      clock.advance(0);
    }
    await expect(call).rejects.toThrow('unavailable');
    expect(calls).toBe(101); // 1 call + the 100 retries the floor allows per window
  });

  it('full jitter draws the wait in [0, exponential], decorrelated in [initial, 3 × previous]', async () => {
    const { clock, registry, events } = setup();
    const draws = [0.5, 0.25];
    let i = 0;
    const random = () => draws[i++ % draws.length]!;
    for (const jitter of ['full', 'decorrelated'] as const) {
      events.length = 0;
      i = 0;
      const policy = retry({ clock, registry, maxAttempts: 3, random, backoff: { initialDelayMs: 100, maxDelayMs: 1_000, jitter } });
      const call = policy.execute(() => { throw transient(); }).catch(() => {});
      for (let k = 0; k < 5; k++) {
        await flush();
        clock.advance(1_000);
      }
      await call;
      const delays = events.filter((e) => e.type === 'retry_attempt').map((e) => e.type === 'retry_attempt' && e.delayMs);
      // full: 0.5 × 100, 0.25 × 200; decorrelated: 100 + 0.5 × (300 − 100), 100 + 0.25 × (600 − 100)
      expect(delays).toEqual(jitter === 'full' ? [0, 50, 50] : [0, 200, 225]);
    }
  });

  it('validates its options, naming them', () => {
    expect(() => retry({ maxAttempts: 0 })).toThrow('retry: maxAttempts must be an integer >= 1; got 0');
    expect(() => retry({ maxAttempts: Infinity })).toThrow(RangeError);
    expect(() => retry({ backoff: { initialDelayMs: -1 } })).toThrow('retry: backoff.initialDelayMs');
    expect(() => retry({ backoff: { initialDelayMs: 100, maxDelayMs: 10 } })).toThrow('backoff.maxDelayMs must be >=');
    expect(() => retry({ backoff: { jitter: 'some' as 'full' } })).toThrow('retry: backoff.jitter must be one of');
    expect(() => retry({ retryOn: 'yes' as never })).toThrow('retry: retryOn must be a function');
    expect(() => retry({ maxAttempt: 3 } as never)).toThrow('unknown option "maxAttempt"');
    expect(() => retry({ budget: {} as never })).toThrow('retry: budget must be a RetryBudget');
        expect(() => retry(JSON.parse('{"__proto__": {"maxAttempts": 0}}'))).toThrow('unknown option "__proto__"');
  });
});
