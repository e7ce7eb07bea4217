import { describe, expect, it } from 'vitest';
import type { CallContext } from './call-context.js';
import type { ProbeAbandonedEvent } from './circuit-events.js';
import { CircuitOpenError, CircuitTimeoutError } from './errors.js';
import { breakerOnClock, deferred, fail, flush, settle, succeed } from './test-helpers.test-util.js';

/**
 * A slow or hanging dependency in half-open: a probe past halfOpenMaxWaitMs is aborted and counted as
 * a failure, probes that ignore the abort are bounded and reported, and the breaker still recovers.
 */
function slowDependency(options: { timeoutMs?: number; halfOpenMaxCalls?: number } = {}) {
  const { breaker, clock } = breakerOnClock({
    failureThreshold: 1,
    recoveryTimeoutMs: 1_000,
    halfOpenMaxWaitMs: 2_000,
    timeoutMs: 0,
    ...options,
  });
  /** Trials the dependency is serving right now. */
  let concurrent = 0;
  let peak = 0;
  const abortedSignals: AbortSignal[] = [];
  /** A trial that takes forever and honours (or ignores) its signal. */
  const trial = (honoursAbort: boolean) => ({ signal }: CallContext) =>
    new Promise<string>((_, reject) => {
      peak = Math.max(peak, ++concurrent);
      signal.addEventListener('abort', () => {
        abortedSignals.push(signal);
        if (honoursAbort) {
          concurrent--;
          reject(signal.reason);
        }
      });
    });
  return { breaker, clock, trial, abortedSignals, stats: () => ({ concurrent, peak }) };
}

describe('a probe past halfOpenMaxWaitMs', () => {
  it('is aborted with a CircuitTimeoutError, counts as a failure and reopens the breaker, even with timeoutMs 0', async () => {
    const { breaker, clock, trial, abortedSignals } = slowDependency();
    const reasons: string[] = [];
    breaker.onStateChange((e) => reasons.push(`${e.to}:${e.reason}`));
    await settle(breaker.execute(fail));
    clock.advance(1_000);
    const probe = settle(breaker.execute(trial(true)));
    clock.advance(2_000);
    const outcome = await probe;
    expect(outcome.ok).toBe(false);
    const error = (outcome as { error: CircuitTimeoutError }).error;
    expect(CircuitTimeoutError.isInstance(error)).toBe(true);
    expect(error.timeoutMs).toBe(2_000);
    expect(abortedSignals).toHaveLength(1);
    expect(abortedSignals[0]!.reason).toBe(error);
    expect(reasons).toEqual(['open:failure_threshold', 'half_open:recovery_timeout', 'open:probe_stuck']);
    expect(breaker.getStats()).toMatchObject({ state: 'open', total_failures: 2, total_timeouts: 1, in_flight: 0, abandoned_probes: 0 });
    expect(clock.pendingTimers).toBe(0);
  });

  it('with a cap of 1, a slow dependency never sees more than one trial at a time, cycle after cycle (it saw 4)', async () => {
    const { breaker, clock, trial, stats } = slowDependency();
    await settle(breaker.execute(fail));
    for (let cycle = 0; cycle < 10; cycle++) {
      clock.advance(1_000); // open → half-open
      for (let i = 0; i < 5; i++) void settle(breaker.execute(trial(true)));
      clock.advance(2_000); // the probe is stuck: aborted, breaker reopens
      await flush();
    }
    expect(stats().peak).toBe(1);
    expect(stats().concurrent).toBe(0);
    expect(breaker.getStats().in_flight).toBe(0);
  });

  it('the stuck timer runs even when timeoutMs is longer than halfOpenMaxWaitMs', async () => {
    const { breaker, clock, trial } = slowDependency({ timeoutMs: 60_000 });
    await settle(breaker.execute(fail));
    clock.advance(1_000);
    const probe = settle(breaker.execute(trial(true)));
    clock.advance(2_000);
    expect(((await probe) as { error: CircuitTimeoutError }).error.timeoutMs).toBe(2_000);
    expect(breaker.state).toBe('open');
  });
});

describe('probes that ignore their abort', () => {
  it('are reported (in_flight, abandoned_probes, onProbeAbandoned) until they settle', async () => {
    const { breaker, clock, trial } = slowDependency();
    const events: ProbeAbandonedEvent[] = [];
    breaker.onProbeAbandoned((e) => events.push(e));
    await settle(breaker.execute(fail));
    clock.advance(1_000);
    const gate = deferred();
    void settle(breaker.execute(() => gate.promise)); // ignores its signal
    clock.advance(2_000);
    await flush();
    expect(events).toEqual([expect.objectContaining({ limitMs: 2_000, abandonedProbes: 1 })]);
    expect(breaker.getStats()).toMatchObject({ in_flight: 1, abandoned_probes: 1 });
    gate.resolve('late');
    await flush();
    expect(breaker.getStats()).toMatchObject({ in_flight: 0, abandoned_probes: 0, state: 'open' }); // a late success moves nothing
    void trial;
  });

  it('hold their permit for the first halfOpenMaxWaitMs of the next half-open period, then the breaker probes anyway and recovers', async () => {
    const { breaker, clock, trial, stats } = slowDependency();
    await settle(breaker.execute(fail));
    clock.advance(1_000);
    void settle(breaker.execute(trial(false))); // ignores the abort, never settles
    clock.advance(2_000); // stuck → abandoned, open again
    clock.advance(1_000); // half-open again
    const held = await settle(breaker.execute(succeed));
    const error = (held as { error: CircuitOpenError }).error;
    expect(CircuitOpenError.isInstance(error)).toBe(true);
    expect(error.state).toBe('half_open');
    expect(error.retryAfterMs).toBe(2_000); // when the hold ends
    expect(stats().concurrent).toBe(1);
    clock.advance(2_000); // hold over: the breaker is not wedged by a function that never settles
    expect(await breaker.execute(succeed)).toBe('ok');
    expect(breaker.state).toBe('closed');
    expect(breaker.getStats()).toMatchObject({ abandoned_probes: 1, in_flight: 1 });
  });

  it('are bounded: with timeoutMs 0 and a dependency that hangs forever, trials pile up at most one per (2 × halfOpenMaxWaitMs + recovery)', async () => {
    const { breaker, clock, trial, stats } = slowDependency();
    await settle(breaker.execute(fail));
    // An hour of callers hammering a breaker whose every trial hangs and ignores its abort.
    for (let t = 0; t < 3_600_000; t += 100) {
      void settle(breaker.execute(trial(false)));
      clock.advance(100);
      if (t % 10_000 === 0) await flush();
    }
    const cycle = 2 * 2_000 + 1_000;
    expect(stats().concurrent).toBeLessThanOrEqual(Math.ceil(3_600_000 / cycle));
    // Before: a new trial every (halfOpenMaxWaitMs + recovery) = 3 s, none ever aborted.
    expect(stats().concurrent).toBeLessThan(3_600_000 / 3_000);
    expect(breaker.getStats().abandoned_probes).toBe(stats().concurrent);
  });

  it('a probe that honours the abort a little late frees its permit when it settles', async () => {
    const { breaker, clock } = slowDependency();
    await settle(breaker.execute(fail));
    clock.advance(1_000);
    const gate = deferred();
    void settle(breaker.execute(() => gate.promise));
    clock.advance(2_000);
    clock.advance(1_000); // half-open again, the abandoned probe still holds the permit
    expect(CircuitOpenError.isInstance(((await settle(breaker.execute(succeed))) as { error: unknown }).error)).toBe(true);
    gate.reject(new Error('aborted at last'));
    await flush();
    expect(breaker.getStats().abandoned_probes).toBe(0);
    expect(await breaker.execute(succeed)).toBe('ok');
    expect(breaker.state).toBe('closed');
  });
});
