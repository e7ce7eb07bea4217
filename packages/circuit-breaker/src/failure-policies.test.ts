import { describe, expect, it } from 'vitest';
import { ConsecutiveFailures } from './consecutive-failures.js';
import { CountWindow } from './count-window.js';
import { TimeWindow } from './time-window.js';
import { breakerOnClock, deferred, fail, settle, succeed } from './test-helpers.test-util.js';

describe('consecutive failures', () => {
  it('trips at the threshold and restarts on success', () => {
    const policy = new ConsecutiveFailures(3);
    expect(policy.recordFailure()).toBe(false);
    expect(policy.recordFailure()).toBe(false);
    policy.recordSuccess();
    expect(policy.failureCount()).toBe(0);
    policy.recordFailure();
    policy.recordFailure();
    expect(policy.recordFailure()).toBe(true);
  });
});

describe('count window', () => {
  const spec = { type: 'count-window', size: 4, minimumCalls: 4, failureRateThreshold: 0.5 } as const;

  it('decides nothing before minimumCalls, then trips on the rate over the last size calls', () => {
    const policy = new CountWindow(spec);
    expect(policy.recordFailure(0, 0)).toBe(false);
    expect(policy.recordFailure(0, 0)).toBe(false);
    expect(policy.recordSuccess(0, 0)).toBe(false);
    expect(policy.recordSuccess(0, 0)).toBe(true); // 2 of 4 failed: rate 0.5
  });

  it('forgets outcomes that fell out of the window', () => {
    const policy = new CountWindow(spec);
    policy.recordFailure(0, 0);
    for (let i = 0; i < 3; i++) policy.recordSuccess(0, 0);
    expect(policy.failureCount()).toBe(1);
    expect(policy.recordSuccess(0, 0)).toBe(false); // the failure left the window
    expect(policy.failureCount()).toBe(0);
  });

  it('trips on a slow-call rate even when every call succeeds', () => {
    const policy = new CountWindow({ ...spec, slowCallDurationMs: 100, slowCallRateThreshold: 0.75 });
    expect(policy.needsTime).toBe(true);
    policy.recordSuccess(0, 150);
    policy.recordSuccess(0, 10);
    policy.recordSuccess(0, 100);
    expect(policy.recordSuccess(0, 500)).toBe(true);
  });
});

describe('time window', () => {
  const spec = { type: 'time-window', windowMs: 10_000, buckets: 10, minimumCalls: 3, failureRateThreshold: 0.5 } as const;

  it('trips on the failure rate within the window', () => {
    const policy = new TimeWindow(spec);
    expect(policy.recordFailure(1_000, 0)).toBe(false);
    expect(policy.recordSuccess(2_000, 0)).toBe(false);
    expect(policy.recordFailure(3_000, 0)).toBe(true);
  });

  it('does not count failures older than the window after a long idle period', () => {
    const policy = new TimeWindow(spec);
    policy.recordFailure(1_000, 0);
    policy.recordFailure(1_500, 0);
    // An hour of silence, then one failure: the old ones must not combine with it.
    expect(policy.recordFailure(3_601_000, 0)).toBe(false);
    expect(policy.failureCount(3_601_000)).toBe(1);
  });

  it('slides bucket by bucket', () => {
    const policy = new TimeWindow(spec);
    policy.recordFailure(0, 0);
    policy.recordFailure(5_000, 0);
    expect(policy.failureCount(9_999)).toBe(2);
    expect(policy.failureCount(10_000)).toBe(1); // the bucket of t=0 aged out
    expect(policy.failureCount(15_000)).toBe(0);
  });
});

describe('window policies inside a breaker', () => {
  it('a count-window breaker opens on the rate, and closes with a fresh window', async () => {
    const { breaker, clock } = breakerOnClock({
      failurePolicy: { type: 'count-window', size: 10, minimumCalls: 4, failureRateThreshold: 0.5 },
      recoveryTimeoutMs: 1_000,
    });
    await breaker.execute(succeed);
    await breaker.execute(succeed);
    await settle(breaker.execute(fail));
    expect(breaker.state).toBe('closed');
    await settle(breaker.execute(fail));
    expect(breaker.state).toBe('open');
    clock.advance(1_000);
    await breaker.execute(succeed);
    expect(breaker.state).toBe('closed');
    expect(breaker.getStats().failure_count).toBe(0);
  });

  it('a slow-call policy opens on slow successes measured by the breaker clock', async () => {
    const { breaker, clock } = breakerOnClock({
      failurePolicy: {
        type: 'time-window',
        windowMs: 60_000,
        minimumCalls: 2,
        failureRateThreshold: 1,
        slowCallDurationMs: 1_000,
        slowCallRateThreshold: 1,
      },
    });
    for (let i = 0; i < 2; i++) {
      const gate = deferred();
      const call = breaker.execute(() => gate.promise);
      clock.advance(1_500);
      gate.resolve('slow');
      await call;
    }
    expect(breaker.state).toBe('open');
  });
});
