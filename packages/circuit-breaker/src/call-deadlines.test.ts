import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './circuit-breaker.js';
import { CircuitTimeoutError } from './errors.js';
import { ManualClock } from './manual-clock.js';
import { deferred, flush, settle } from './test-helpers.test-util.js';

/** Blocks the event loop, as a long synchronous task does. Allowed here: we assert outcomes, never durations. */
function busyWait(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // stalled
  }
}

const sleep = (ms: number) => new Promise<string>((resolve) => setTimeout(() => resolve('done'), ms));

describe('a call never times out before timeoutMs has passed since it started', () => {
  it('after a real event-loop stall: 100 ms timeout, 300 ms stall, then a 50 ms call succeeds', async () => {
    const breaker = new CircuitBreaker('stall', { timeoutMs: 100, logger: false });
    const hanging = deferred();
    const early = settle(breaker.execute(() => hanging.promise)); // arms the deadline timer
    busyWait(300);
    const outcome = await settle(breaker.execute(() => sleep(50)));
    expect(outcome).toEqual({ ok: true, value: 'done' });
    // The call started before the stall really did outlive its timeout.
    expect(CircuitTimeoutError.isInstance(((await early) as { error: unknown }).error)).toBe(true);
    expect(breaker.getStats()).toMatchObject({ total_timeouts: 1, total_successes: 1, in_flight: 0 });
  });

  it('under real load (ticks running late): no call is timed out before 200 ms have passed since it started', async () => {
    const breaker = new CircuitBreaker('load', { timeoutMs: 200, logger: false, failureThreshold: 1_000 });
    const timedOut: number[] = [];
    const calls: Promise<unknown>[] = [];
    for (let round = 0; round < 8; round++) {
      for (let i = 0; i < 25; i++) {
        const startedAt = performance.now();
        const work = 100 + ((round * 25 + i) % 7) * 25; // 100 to 250 ms: some finish in time, some do not
        calls.push(
          breaker.execute(() => sleep(work)).catch((error: unknown) => {
            if (CircuitTimeoutError.isInstance(error)) timedOut.push(performance.now() - startedAt);
          }),
        );
      }
      await new Promise((resolve) => setImmediate(resolve));
      busyWait(60); // a loaded loop: the deadline ticks run late
    }
    await Promise.all(calls);
    expect(timedOut.length).toBeGreaterThan(0); // the slow ones did time out …
    expect(timedOut.filter((elapsed) => elapsed < 200)).toEqual([]); // … and none of them early
  });

  it('a stalled tick (ManualClock.stall) seals late and re-bases the calls listed before it', async () => {
    const clock = new ManualClock(0);
    const breaker = new CircuitBreaker('manual-stall', { clock, timeoutMs: 100, logger: false });
    const first = settle(breaker.execute(() => deferred().promise)); // exact deadline at 100
    clock.advance(5);
    clock.stall(300); // no tick runs for 300 ms
    const gate = deferred();
    const second = breaker.execute(() => gate.promise);
    let secondSettled = false;
    void second.then(() => (secondSettled = true), () => (secondSettled = true));
    clock.advance(1); // the overdue tick fires as soon as the loop is free (305) and seals the second call's epoch
    await flush();
    expect(CircuitTimeoutError.isInstance(((await first) as { error: unknown }).error)).toBe(true);
    clock.advance(98); // 404: 99 ms after the second call started at 305 — before the fix it had long timed out
    await flush();
    expect(secondSettled).toBe(false);
    clock.advance(2);
    await flush();
    expect(secondSettled).toBe(true);
    expect(CircuitTimeoutError.isInstance((await settle(second) as { error: unknown }).error)).toBe(true);
  });

  it('a wall-clock step neither fires nor delays a deadline (deadlines run on monotonic time)', async () => {
    const clock = new ManualClock(0);
    const breaker = new CircuitBreaker('wall', { clock, timeoutMs: 100, logger: false });
    const forward = breaker.execute(() => deferred().promise);
    let done = false;
    void forward.catch(() => (done = true));
    clock.jump(3_600_000); // NTP steps the wall clock an hour ahead
    clock.advance(50);
    await flush();
    expect(done).toBe(false);
    clock.jump(-7_200_000); // and two hours back
    clock.advance(52);
    await flush();
    expect(done).toBe(true);
    expect(breaker.getStats().total_timeouts).toBe(1);
  });

  it('a custom clock without monotonicNow still works (deadlines then follow its now())', async () => {
    const manual = new ManualClock(0);
    const clock = { now: () => manual.now(), setTimeout: manual.setTimeout.bind(manual), clearTimeout: manual.clearTimeout.bind(manual) };
    const breaker = new CircuitBreaker('custom', { clock, timeoutMs: 100, logger: false });
    const call = settle(breaker.execute(() => deferred().promise));
    manual.advance(102);
    expect(CircuitTimeoutError.isInstance(((await call) as { error: unknown }).error)).toBe(true);
    expect(() => new CircuitBreaker('bad', { clock: { ...clock, monotonicNow: 5 } as never, logger: false })).toThrow(
      'clock.monotonicNow must be a function; got 5',
    );
  });

  it('property: under random stalls, advances and starts, no call ever times out early, and each times out at most 2 ticks + the stall late', async () => {
    type Step = { type: 'start' } | { type: 'advance'; ms: number } | { type: 'stall'; ms: number } | { type: 'settle'; pick: number };
    const step: fc.Arbitrary<Step> = fc.oneof(
      { weight: 4, arbitrary: fc.constant({ type: 'start' } as const) },
      { weight: 3, arbitrary: fc.record({ type: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 150 }) }) },
      { weight: 1, arbitrary: fc.record({ type: fc.constant('stall' as const), ms: fc.integer({ min: 1, max: 400 }) }) },
      { weight: 2, arbitrary: fc.record({ type: fc.constant('settle' as const), pick: fc.nat() }) },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 5, maxLength: 50 }), fc.constantFrom(100, 250, 1_000), async (steps, timeoutMs) => {
        const clock = new ManualClock(0);
        const breaker = new CircuitBreaker('prop', { clock, timeoutMs, logger: false, failureThreshold: 1_000_000 });
        const resolution = Math.min(1_000, Math.max(1, timeoutMs / 100));
        const calls: { start: number; gate: ReturnType<typeof deferred>; end?: number; timedOut?: boolean; stalledSince: number }[] = [];
        let stalled = 0; // total stall time so far
        for (const s of steps) {
          if (s.type === 'start') {
            const call = { start: clock.monotonicNow(), gate: deferred(), stalledSince: stalled } as (typeof calls)[number];
            calls.push(call);
            breaker
              .execute(({ signal }) => {
                // The abort runs inside the tick that times the call out: the exact moment, unlike a
                // rejection handler that runs after the whole advance.
                signal.addEventListener('abort', () => {
                  call.timedOut = CircuitTimeoutError.isInstance(signal.reason);
                  call.end = clock.monotonicNow();
                });
                return call.gate.promise;
              })
              .catch(() => {});
          } else if (s.type === 'advance') {
            clock.advance(s.ms);
          } else if (s.type === 'stall') {
            clock.stall(s.ms);
            stalled += s.ms;
          } else {
            const open = calls.filter((c) => c.end === undefined);
            if (open.length > 0) open[s.pick % open.length]!.gate.resolve('ok');
          }
          await flush();
          for (const call of calls) {
            if (call.timedOut) expect(call.end! - call.start).toBeGreaterThanOrEqual(timeoutMs);
          }
        }
        clock.advance(timeoutMs + 2 * resolution + 1);
        await flush();
        for (const call of calls) {
          if (!call.timedOut) continue;
          // Late by at most two ticks plus the stalls that happened while it waited to be sealed.
          expect(call.end! - call.start).toBeLessThanOrEqual(timeoutMs + 2 * resolution + (stalled - call.stalledSince));
        }
      }),
      { numRuns: 500 },
    );
  });
});
