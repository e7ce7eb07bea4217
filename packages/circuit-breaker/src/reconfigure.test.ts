import { describe, expect, it } from 'vitest';
import { CircuitBreaker, CircuitBreakerRegistry, CircuitTimeoutError, ManualClock, type CircuitStateStore, type StoreBinding } from './index.js';
import { breakerOnClock, fail, settle, succeed } from './test-helpers.test-util.js';

async function failTimes(breaker: { execute(fn: () => Promise<unknown>): Promise<unknown> }, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await settle(breaker.execute(fail));
}

describe('reconfigure', () => {
  it("the README's example", () => {
    using breaker = new CircuitBreaker('external_api', { logger: false });
    const report = breaker.reconfigure({ failureThreshold: 8, recoveryTimeoutMs: 15_000 });
    expect(report).toEqual({ changed: ['failurePolicy', 'recoveryTimeoutMs'], failureCounts: 'kept', state: 'closed', retryAt: null });
  });

  it('raises a consecutive threshold keeping the failures counted so far', async () => {
    const { breaker } = breakerOnClock({ failureThreshold: 5 });
    await failTimes(breaker, 3);
    const report = breaker.reconfigure({ failureThreshold: 8 });
    expect(report).toEqual({ changed: ['failurePolicy'], failureCounts: 'kept', state: 'closed', retryAt: null });
    expect(breaker.getStats()).toMatchObject({ failure_count: 3, failure_threshold: 8 });
    await failTimes(breaker, 4);
    expect(breaker.state).toBe('closed');
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('open');
  });

  it('lowering the threshold below the count never opens the breaker by itself; the next failure does', async () => {
    const { breaker } = breakerOnClock({ failureThreshold: 5 });
    await failTimes(breaker, 4);
    expect(breaker.reconfigure({ failureThreshold: 2 })).toMatchObject({ failureCounts: 'kept', state: 'closed' });
    expect(breaker.getStats().failure_count).toBe(1);
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('open');
  });

  it('another kind of policy starts counting afresh, and says so', async () => {
    const { breaker } = breakerOnClock({ failureThreshold: 5 });
    await failTimes(breaker, 4);
    const report = breaker.reconfigure({ failurePolicy: { type: 'count-window', size: 10, minimumCalls: 4, failureRateThreshold: 0.5 } });
    expect(report).toMatchObject({ changed: ['failurePolicy'], failureCounts: 'reset' });
    expect(breaker.getStats().failure_count).toBe(0);
    await failTimes(breaker, 3);
    expect(breaker.state).toBe('closed');
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('open');
  });

  it("an open breaker's retry time follows a new recovery timeout at once", async () => {
    const { breaker, clock } = breakerOnClock({ failureThreshold: 1, recoveryTimeoutMs: 60_000 });
    await failTimes(breaker, 1);
    const openedAt = clock.now();
    clock.advance(10_000);
    expect(breaker.reconfigure({ recoveryTimeoutMs: 30_000 })).toMatchObject({ state: 'open', retryAt: openedAt + 30_000 });
    clock.advance(10_000);
    expect(breaker.state).toBe('open');
    // Shorter than the time already spent open: due a probe now.
    expect(breaker.reconfigure({ recoveryTimeoutMs: 5_000 })).toMatchObject({ state: 'half_open', retryAt: null });
    await breaker.execute(succeed);
    expect(breaker.state).toBe('closed');
  });

  it('a rejection after the change carries the new retry time', async () => {
    const { breaker, clock } = breakerOnClock({ failureThreshold: 1, recoveryTimeoutMs: 60_000 });
    await failTimes(breaker, 1);
    const before = await settle(breaker.execute(succeed));
    expect(before).toMatchObject({ ok: false, error: { retryAt: clock.now() + 60_000 } });
    breaker.reconfigure({ recoveryTimeoutMs: 20_000 });
    const after = await settle(breaker.execute(succeed));
    expect(after).toMatchObject({ ok: false, error: { retryAt: clock.now() + 20_000 } });
  });

  it('calls in flight keep their timeout; new calls get the new one; no timer outlives them', async () => {
    const { breaker, clock } = breakerOnClock({ timeoutMs: 1_000, failureThreshold: 10 });
    const old = settle(breaker.execute(() => new Promise(() => {})));
    breaker.reconfigure({ timeoutMs: 5_000 });
    const fresh = settle(breaker.execute(() => new Promise(() => {})));
    expect(breaker.activeTimers).toBe(2);
    clock.advance(1_100);
    expect(await old).toMatchObject({ ok: false });
    expect(CircuitTimeoutError.isInstance(((await old) as { error: unknown }).error)).toBe(true);
    clock.advance(3_000);
    let freshDone = false;
    void fresh.then(() => (freshDone = true));
    await Promise.resolve();
    expect(freshDone).toBe(false);
    clock.advance(2_000);
    expect(await fresh).toMatchObject({ ok: false });
    expect(breaker.getStats()).toMatchObject({ total_timeouts: 2, in_flight: 0 });
    expect(breaker.activeTimers).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('turning the timeout off stops timing new calls; turning it on starts', async () => {
    const { breaker, clock } = breakerOnClock({ timeoutMs: 1_000 });
    breaker.reconfigure({ timeoutMs: 0 });
    const untimed = settle(breaker.execute(() => new Promise((resolve) => setTimeout(resolve, 5, 'late'))));
    clock.advance(10_000);
    expect(await untimed).toEqual({ ok: true, value: 'late' });
    breaker.reconfigure({ timeoutMs: 500 });
    const timed = settle(breaker.execute(() => new Promise(() => {})));
    clock.advance(600);
    expect(await timed).toMatchObject({ ok: false });
  });

  it('more half-open permits admit more probes at once', async () => {
    const { breaker, clock } = breakerOnClock({ failureThreshold: 1, recoveryTimeoutMs: 1_000, timeoutMs: 0 });
    await failTimes(breaker, 1);
    clock.advance(1_000);
    const hanging = () => new Promise(() => {});
    void breaker.execute(hanging).catch(() => {});
    expect(await settle(breaker.execute(hanging))).toMatchObject({ ok: false, error: { name: 'CircuitOpenError' } });
    breaker.reconfigure({ halfOpenMaxCalls: 3, successThreshold: 2 });
    void breaker.execute(hanging).catch(() => {});
    void breaker.execute(hanging).catch(() => {});
    expect(breaker.getStats().in_flight).toBe(3);
  });

  it('keeps forced and disabled modes', async () => {
    const { breaker } = breakerOnClock();
    breaker.forceOpen();
    expect(breaker.reconfigure({ failureThreshold: 2 }).state).toBe('forced_open');
    breaker.disable();
    expect(breaker.reconfigure({ failureThreshold: 3 }).state).toBe('disabled');
  });

  it('a bad option is refused naming it, and changes nothing', async () => {
    const { breaker, clock } = breakerOnClock({ failureThreshold: 5 });
    await failTimes(breaker, 2);
    expect(() => breaker.reconfigure({ failureThreshold: 0 })).toThrow(/failureThreshold must be an integer >= 1; got 0/);
    expect(() => breaker.reconfigure({ recoveryTimeoutMs: -1 })).toThrow(RangeError);
    expect(() => breaker.reconfigure({ clock: new ManualClock() })).toThrow(/clock cannot change on a running breaker/);
    expect(() => breaker.reconfigure({ initialState: undefined } as never)).toThrow(/initialState/);
    expect(() => breaker.reconfigure({ failureThreshold: 3, failurePolicy: { type: 'consecutive', threshold: 3 } })).toThrow(/exclusive/);
    expect(() => breaker.reconfigure(null as never)).toThrow(/options must be an object; got null/);
    expect(breaker.reconfigure({ clock }).changed).toEqual([]); // the same clock is no change
    expect(breaker.getStats()).toMatchObject({ failure_count: 2, failure_threshold: 5 });
  });

  it('an option named with undefined returns to its default; a defaulted halfOpenMaxWaitMs follows the new timeout', () => {
    const { breaker } = breakerOnClock({ recoveryTimeoutMs: 5_000, timeoutMs: 2_000 });
    expect(breaker.options.halfOpenMaxWaitMs).toBe(2_000);
    breaker.reconfigure({ timeoutMs: 7_000 });
    expect(breaker.options.halfOpenMaxWaitMs).toBe(7_000);
    breaker.reconfigure({ recoveryTimeoutMs: undefined });
    expect(breaker.options.recoveryTimeoutMs).toBe(60_000);
  });

  it('a state store counting fleet-wide sees the new threshold', () => {
    let binding: StoreBinding | undefined;
    const store: CircuitStateStore = {
      connect(b) {
        binding = b;
        return { dispose() {}, transitioned() {}, failed() {} } as never;
      },
    };
    const { breaker } = breakerOnClock({ failureThreshold: 5, halfOpenMaxCalls: 1, stateStore: store });
    breaker.reconfigure({ failureThreshold: 9, halfOpenMaxCalls: 2 });
    expect(binding).toMatchObject({ threshold: 9, halfOpenMaxCalls: 2 });
  });
});

describe('registry.reconfigure', () => {
  it("reconfigures a family's members and those created later; callers declaring the original options keep working", async () => {
    const registry = new CircuitBreakerRegistry({ clock: new ManualClock(), logger: false });
    const declared = { failureThreshold: 3 };
    const family = registry.getFamily('peers', declared);
    await failTimes(family.get('alpha'), 2);
    const report = registry.reconfigure('peers', { failureThreshold: 6 });
    expect(report.changed).toEqual(['failurePolicy']);
    expect((report as { members: ReadonlyMap<string, unknown> }).members.get('alpha')).toMatchObject({ failureCounts: 'kept' });
    expect(registry.getFamily('peers', declared)).toBe(family); // an adapter re-declaring its family on each call
    expect(family.get('beta').options.failurePolicy).toEqual({ type: 'consecutive', threshold: 6 });
    expect(family.get('alpha').getStats()).toMatchObject({ failure_count: 2, failure_threshold: 6 });
    expect(() => registry.getFamily('peers', { failureThreshold: 4 })).toThrow(/different failureThreshold \(existing: 3, requested: 4\)/);
  });

  it('reconfigures a plain breaker by name and refuses a member or an unknown name', () => {
    const registry = new CircuitBreakerRegistry({ logger: false });
    registry.getBreaker('db', { timeoutMs: 1_000 });
    registry.getFamily('peers').get('alpha');
    expect(registry.reconfigure('db', { timeoutMs: 2_000 })).toMatchObject({ changed: ['timeoutMs', 'halfOpenMaxWaitMs'] });
    expect(registry.getBreaker('db', { timeoutMs: 1_000 }).options.timeoutMs).toBe(2_000);
    expect(() => registry.reconfigure('peers/alpha', {})).toThrow(/member of a keyed family; reconfigure the family "peers"/);
    expect(() => registry.reconfigure('nope', {})).toThrow(/no circuit breaker or family is called "nope"/);
  });
});

describe('reconfigure, attacked', () => {
  it('outcome listeners keep getting durations after the failure policy changes', async () => {
    const { breaker, clock } = breakerOnClock({ failureThreshold: 5 });
    const durations: number[] = [];
    breaker.onSuccess((e) => durations.push(e.durationMs));
    const slow = () => new Promise<string>((resolve) => clock.setTimeout(() => resolve('ok'), 40));
    const first = breaker.execute(slow);
    clock.advance(40);
    await first;
    breaker.reconfigure({ failureThreshold: 8 });
    breaker.reconfigure({ failurePolicy: { type: 'time-window', windowMs: 10_000, minimumCalls: 5, failureRateThreshold: 0.5 } });
    breaker.reconfigure({ failureThreshold: 3 });
    const second = breaker.execute(slow);
    clock.advance(40);
    await second;
    expect(durations).toEqual([40, 40]);
  });

  it('deadline lists retired by timeout changes are let go once their calls have ended', async () => {
    const { breaker, clock } = breakerOnClock({ timeoutMs: 1_000, failureThreshold: 1_000_000 });
    for (let i = 0; i < 2_000; i++) {
      const call = breaker.execute(() => new Promise<void>((resolve) => clock.setTimeout(() => resolve(), 10)));
      breaker.reconfigure({ timeoutMs: i % 2 === 0 ? 2_000 : 1_000 });
      clock.advance(10);
      await call;
    }
    // White-box on purpose: nothing public reads the retired lists without also pruning them.
    const retired = (breaker as unknown as { retiredDeadlines?: unknown[] }).retiredDeadlines;
    expect(retired?.length ?? 0).toBeLessThanOrEqual(2);
  });
});

describe('registry.reconfigure, attacked', () => {
  it("an option named with undefined returns to the registry's default, as getBreaker would have given it", async () => {
    const clock = new ManualClock();
    const policy = { type: 'count-window', size: 10, minimumCalls: 5, failureRateThreshold: 0.5 } as const;
    const registry = new CircuitBreakerRegistry({ clock, logger: false, recoveryTimeoutMs: 5_000, failurePolicy: policy });
    const db = registry.getBreaker('db', { recoveryTimeoutMs: 1_000, failureThreshold: 3 });
    registry.reconfigure('db', { recoveryTimeoutMs: undefined, failureThreshold: undefined, clock: undefined, logger: undefined });
    const fresh = registry.getBreaker('fresh');
    expect(db.options.recoveryTimeoutMs).toBe(fresh.options.recoveryTimeoutMs);
    expect(db.options.failurePolicy).toEqual(policy);
    expect(db.options.logger).toBe(null);
    const family = registry.getFamily('peers', { timeoutMs: 2_000 });
    registry.reconfigure('peers', { timeoutMs: undefined, recoveryTimeoutMs: 9_000 });
    expect(family.get('a').options).toMatchObject({ timeoutMs: fresh.options.timeoutMs, recoveryTimeoutMs: 9_000, failurePolicy: policy });
    // Without registry defaults, the core's default.
    const bare = new CircuitBreakerRegistry({ clock, logger: false });
    bare.getBreaker('x', { failureThreshold: 2 });
    bare.reconfigure('x', { failureThreshold: undefined });
    expect(bare.get('x')!.options.failurePolicy).toEqual({ type: 'consecutive', threshold: 5 });
  });
});

describe('reconfigure, calls in flight tell the limit they ran under', () => {
  it('a call timed out under the old timeout says so in its error and its event, not the new one', async () => {
    const { breaker, clock } = breakerOnClock({ timeoutMs: 1_000, failureThreshold: 10 });
    const limits: number[] = [];
    breaker.onTimeout((e) => limits.push(e.timeoutMs));
    const old = settle(breaker.execute(() => new Promise(() => {})));
    breaker.reconfigure({ timeoutMs: 5_000 });
    clock.advance(1_100);
    const result = await old;
    expect(result).toMatchObject({ ok: false, error: { timeoutMs: 1_000 } });
    expect(limits).toEqual([1_000]);
  });

  it('a probe stuck past the halfOpenMaxWaitMs it started under is reported with that limit', async () => {
    const { breaker, clock } = breakerOnClock({ failureThreshold: 1, recoveryTimeoutMs: 1_000, halfOpenMaxWaitMs: 2_000 });
    await settle(breaker.execute(fail));
    clock.advance(1_000);
    const probe = settle(breaker.execute(() => new Promise(() => {})));
    breaker.reconfigure({ halfOpenMaxWaitMs: 30_000 });
    clock.advance(2_000);
    expect(await probe).toMatchObject({ ok: false, error: { timeoutMs: 2_000 } });
    expect(breaker.state).toBe('open');
  });
});

describe('reconfigure to a time-based policy with calls in flight', () => {
  it('calls started untimed settle into the new time window at their end, and an old burst ages out of it', async () => {
    const { breaker, clock } = breakerOnClock({ failureThreshold: 100 });
    const pending = Array.from({ length: 10 }, () => Promise.withResolvers<string>());
    const calls = pending.map(({ promise }) => settle(breaker.execute(() => promise)));
    breaker.reconfigure({ timeoutMs: 60_000 }); // calls timed by a deadline but not by the clock
    const timed = Array.from({ length: 10 }, () => Promise.withResolvers<string>());
    const timedCalls = timed.map(({ promise }) => settle(breaker.execute(() => promise)));
    breaker.reconfigure({ failurePolicy: { type: 'time-window', windowMs: 10_000, minimumCalls: 20, failureRateThreshold: 0.5 } });
    for (const { reject } of [...pending, ...timed]) reject(new Error('down'));
    await Promise.all([...calls, ...timedCalls]);
    expect(breaker.state).toBe('open'); // 20 failures of 20 calls, inside the window
    breaker.reset();
    // The same burst again, then a quiet hour: the burst must have aged out.
    const again = Array.from({ length: 15 }, () => Promise.withResolvers<string>());
    breaker.reconfigure({ failureThreshold: 100 });
    const againCalls = again.map(({ promise }) => settle(breaker.execute(() => promise)));
    breaker.reconfigure({ failurePolicy: { type: 'time-window', windowMs: 10_000, minimumCalls: 20, failureRateThreshold: 0.5 } });
    for (const { reject } of again) reject(new Error('down'));
    await Promise.all(againCalls);
    expect(breaker.state).toBe('closed'); // 15 calls: below minimumCalls
    clock.advance(3_600_000);
    // Ten calls an hour later, half failing: below minimumCalls on their own.
    for (let i = 0; i < 10; i++) await settle(breaker.execute(i % 2 === 0 ? fail : succeed));
    expect(breaker.state).toBe('closed');
    expect(breaker.getStats().failure_count).toBe(5);
  });
});
