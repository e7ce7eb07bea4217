import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './circuit-breaker.js';
import { CircuitBreakerError, CircuitOpenError, CircuitTimeoutError } from './errors.js';
import type { CircuitLogEntry } from './json-logger.js';
import { ManualClock } from './manual-clock.js';
import { breakerOnClock, deferred, DependencyDown, fail, flush, settle, succeed } from './test-helpers.test-util.js';

describe('the guide', () => {
  it('passes the guide test: threshold 2, three failures → OPEN, next call fails fast', async () => {
    const breaker = new CircuitBreaker('test', { failureThreshold: 2, logger: false });
    for (let i = 0; i < 3; i++) await settle(breaker.execute(() => Promise.reject(new Error('test'))));
    expect(breaker.state).toBe('open');
    let ran = false;
    const outcome = await settle(breaker.execute(() => ((ran = true), 'success')));
    expect(outcome.ok).toBe(false);
    expect(CircuitBreakerError.isInstance((outcome as { error: unknown }).error)).toBe(true);
    expect(ran).toBe(false);
  });

  it('uses the guide defaults: 5 failures, 60 s recovery, 30 s timeout', () => {
    const breaker = new CircuitBreaker('defaults', { logger: false });
    expect(breaker.options.failurePolicy).toEqual({ type: 'consecutive', threshold: 5 });
    expect(breaker.options.recoveryTimeoutMs).toBe(60_000);
    expect(breaker.options.timeoutMs).toBe(30_000);
    expect(breaker.state).toBe('closed');
  });

  it('goes CLOSED → OPEN → HALF_OPEN → CLOSED, and HALF_OPEN → OPEN on a failed probe', async () => {
    const { breaker, clock } = breakerOnClock({ failureThreshold: 3, recoveryTimeoutMs: 30_000 });
    const seen: string[] = [];
    breaker.onStateChange((e) => seen.push(`${e.from}>${e.to}:${e.reason}`));
    for (let i = 0; i < 2; i++) await settle(breaker.execute(fail));
    expect(breaker.state).toBe('closed');
    await settle(breaker.execute(fail));
    expect(breaker.state).toBe('open');

    clock.advance(29_999);
    expect(breaker.state).toBe('open');
    clock.advance(1);
    expect(breaker.state).toBe('half_open');
    await settle(breaker.execute(fail));
    expect(breaker.state).toBe('open');

    clock.advance(30_000);
    expect(await breaker.execute(succeed)).toBe('ok');
    expect(breaker.state).toBe('closed');
    expect(seen).toEqual([
      'closed>open:failure_threshold',
      'open>half_open:recovery_timeout',
      'half_open>open:probe_failed',
      'open>half_open:recovery_timeout',
      'half_open>closed:probe_succeeded',
    ]);
  });

  it('logs state changes as JSON lines in the guide shape', async () => {
    const entries: CircuitLogEntry[] = [];
    const clock = new ManualClock(1_705_320_645_123);
    const breaker = new CircuitBreaker('external_api', { failureThreshold: 5, clock, logger: (e) => entries.push(e), timeoutMs: 0 });
    for (let i = 0; i < 5; i++) await settle(breaker.execute(fail));
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      timestamp: 1705320645.123,
      level: 'warning',
      message: 'Circuit breaker external_api opened',
      failure_count: 5,
      threshold: 5,
      from: 'closed',
      to: 'open',
    });
    expect(() => JSON.parse(JSON.stringify(entries[0]))).not.toThrow();
  });

  it('logs nothing with logger: false', async () => {
    const writes: string[] = [];
    const original = process.stderr.write;
    process.stderr.write = ((chunk: string) => (writes.push(chunk), true)) as typeof process.stderr.write;
    try {
      const breaker = new CircuitBreaker('quiet', { failureThreshold: 1, logger: false });
      await settle(breaker.execute(fail));
      expect(breaker.state).toBe('open');
    } finally {
      process.stderr.write = original;
    }
    expect(writes).toEqual([]);
  });

  it('writes JSON lines to stderr by default', async () => {
    const writes: string[] = [];
    const original = process.stderr.write;
    process.stderr.write = ((chunk: string) => (writes.push(chunk), true)) as typeof process.stderr.write;
    try {
      const breaker = new CircuitBreaker('loud', { failureThreshold: 1 });
      await settle(breaker.execute(fail));
    } finally {
      process.stderr.write = original;
    }
    expect(writes).toHaveLength(1);
    expect(JSON.parse(writes[0]!)).toMatchObject({ level: 'warning', message: 'Circuit breaker loud opened' });
  });
});

describe('rejections', () => {
  it('carries name, state and when to retry, and is both CircuitOpenError and CircuitBreakerError', async () => {
    const { breaker, clock } = breakerOnClock({ failureThreshold: 1, recoveryTimeoutMs: 10_000 });
    await settle(breaker.execute(fail));
    clock.advance(4_000);
    const outcome = await settle(breaker.execute(succeed));
    const error = (outcome as { error: CircuitOpenError }).error;
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect(error).toBeInstanceOf(CircuitBreakerError);
    expect(CircuitOpenError.isInstance(error)).toBe(true);
    expect(error.breakerName).toBe('dep');
    expect(error.state).toBe('open');
    expect(error.retryAfterMs).toBe(6_000);
    expect(error.retryAt).toBe(clock.now() + 6_000);
    expect(error.message).toBe('Circuit breaker dep is open');
  });

  it('rejections of one open period share one stackless error whose retryAfterMs is computed when read', async () => {
    const { breaker, clock } = breakerOnClock({ failureThreshold: 1, recoveryTimeoutMs: 10_000 });
    await settle(breaker.execute(fail));
    const first = (await settle(breaker.execute(succeed))) as { error: CircuitOpenError };
    clock.advance(3_000);
    const second = (await settle(breaker.execute(succeed))) as { error: CircuitOpenError };
    expect(second.error).toBe(first.error);
    expect(first.error.retryAfterMs).toBe(7_000);
    expect(first.error.stack).toBe('CircuitOpenError: Circuit breaker dep is open');
    expect(JSON.parse(JSON.stringify(first.error))).toMatchObject({ name: 'CircuitOpenError', state: 'open', retryAfterMs: 7_000 });
    expect(breaker.getStats().total_rejections).toBe(2);
    // A new open period gets a new error.
    clock.advance(7_000);
    await settle(breaker.execute(fail));
    const third = (await settle(breaker.execute(succeed))) as { error: CircuitOpenError };
    expect(third.error).not.toBe(first.error);
  });

  it('recognises errors from another copy of the package by their marker', () => {
    const foreign = Object.assign(new Error('x'), { [Symbol.for('phlow.circuit-breaker.error')]: true });
    expect(CircuitBreakerError.isInstance(foreign)).toBe(true);
    expect(CircuitOpenError.isInstance(foreign)).toBe(false);
    expect(CircuitBreakerError.isInstance(new Error('x'))).toBe(false);
    expect(CircuitBreakerError.isInstance(null)).toBe(false);
  });
});

describe('half-open', () => {
  it('admits at most halfOpenMaxCalls probes and rejects the rest at once', async () => {
    const { breaker, clock } = breakerOnClock({ failureThreshold: 1, recoveryTimeoutMs: 1_000, halfOpenMaxCalls: 2, successThreshold: 2 });
    await settle(breaker.execute(fail));
    clock.advance(1_000);
    const first = deferred();
    const second = deferred();
    const p1 = breaker.execute(() => first.promise);
    const p2 = breaker.execute(() => second.promise);
    const third = await settle(breaker.execute(succeed));
    expect(CircuitOpenError.isInstance((third as { error: unknown }).error)).toBe(true);
    expect((third as { error: CircuitOpenError }).error.state).toBe('half_open');

    first.resolve('a');
    await p1;
    expect(breaker.state).toBe('half_open');
    second.resolve('b');
    await p2;
    expect(breaker.state).toBe('closed');
  });

  it('needs successThreshold successes to close', async () => {
    const { breaker, clock } = breakerOnClock({ failureThreshold: 1, recoveryTimeoutMs: 1_000, successThreshold: 3 });
    await settle(breaker.execute(fail));
    clock.advance(1_000);
    await breaker.execute(succeed);
    await breaker.execute(succeed);
    expect(breaker.state).toBe('half_open');
    expect(breaker.getStats().success_count).toBe(2);
    await breaker.execute(succeed);
    expect(breaker.state).toBe('closed');
  });

  it('reopens when a probe never settles within halfOpenMaxWaitMs', async () => {
    const { breaker, clock } = breakerOnClock({ failureThreshold: 1, recoveryTimeoutMs: 1_000, halfOpenMaxWaitMs: 5_000 });
    const reasons: string[] = [];
    breaker.onStateChange((e) => reasons.push(e.reason));
    await settle(breaker.execute(fail));
    clock.advance(1_000);
    const hung = deferred();
    const probe = settle(breaker.execute(() => hung.promise));
    clock.advance(4_999);
    expect(breaker.state).toBe('half_open');
    clock.advance(1);
    expect(breaker.state).toBe('open');
    expect(reasons).toContain('probe_stuck');
    expect(breaker.getStats()).toMatchObject({ abandoned_probes: 1, in_flight: 1, total_timeouts: 1 });
    expect(CircuitTimeoutError.isInstance(((await probe) as { error: unknown }).error)).toBe(true);
    // The stuck probe settling late moves nothing.
    hung.resolve('late');
    await flush();
    expect(breaker.state).toBe('open');
  });

  it('an ignored probe outcome frees its permit without closing or opening', async () => {
    const { breaker, clock } = breakerOnClock({ failureThreshold: 1, recoveryTimeoutMs: 1_000, expectedError: DependencyDown });
    await settle(breaker.execute(fail));
    clock.advance(1_000);
    await settle(breaker.execute(() => Promise.reject(new TypeError('caller bug'))));
    expect(breaker.state).toBe('half_open');
    expect(await breaker.execute(succeed)).toBe('ok');
    expect(breaker.state).toBe('closed');
  });
});

describe('generations', () => {
  it('a slow call started while CLOSED and failing while OPEN does not move the new state', async () => {
    const { breaker, clock } = breakerOnClock({ failureThreshold: 2, recoveryTimeoutMs: 1_000 });
    const slow = deferred();
    const slowCall = settle(breaker.execute(() => slow.promise));
    await settle(breaker.execute(fail));
    await settle(breaker.execute(fail));
    expect(breaker.state).toBe('open');
    clock.advance(1_000);
    expect(breaker.state).toBe('half_open');
    const stale: boolean[] = [];
    breaker.onFailure((e) => stale.push(e.stale));
    slow.reject(new DependencyDown('late'));
    await slowCall;
    expect(breaker.state).toBe('half_open');
    expect(stale).toEqual([true]);
    expect(breaker.getStats().total_failures).toBe(3);
  });

  it('a late success from before a trip does not close an open breaker', async () => {
    const { breaker } = breakerOnClock({ failureThreshold: 1 });
    const slow = deferred();
    const slowCall = breaker.execute(() => slow.promise);
    await settle(breaker.execute(fail));
    slow.resolve('late');
    expect(await slowCall).toBe('late');
    expect(breaker.state).toBe('open');
  });
});

describe('timeouts and signals', () => {
  it('times out, aborts the signal with the CircuitTimeoutError, and counts a failure', async () => {
    const { breaker, clock } = breakerOnClock({ failureThreshold: 1, timeoutMs: 100 });
    let seenSignal: AbortSignal | undefined;
    const call = settle(
      breaker.execute(({ signal }) => {
        seenSignal = signal;
        return new Promise(() => {});
      }),
    );
    clock.advance(99);
    expect(seenSignal!.aborted).toBe(false);
    clock.advance(1);
    const outcome = await call;
    const error = (outcome as { error: CircuitTimeoutError }).error;
    expect(error).toBeInstanceOf(CircuitTimeoutError);
    expect(CircuitBreakerError.isInstance(error)).toBe(true);
    expect(error.timeoutMs).toBe(100);
    expect(seenSignal!.aborted).toBe(true);
    expect(seenSignal!.reason).toBe(error);
    expect(breaker.state).toBe('open');
    expect(breaker.getStats()).toMatchObject({ total_timeouts: 1, total_failures: 1 });
  });

  it('a timeout really cancels work that honours the signal (a real HTTP request)', async () => {
    const http = await import('node:http');
    const { promise: requested, resolve: sawRequest } = Promise.withResolvers<void>();
    const { promise: closed, resolve: sawClose } = Promise.withResolvers<'closed'>();
    const server = http.createServer((req) => {
      sawRequest();
      req.socket.on('close', () => sawClose('closed'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      const { breaker, clock } = breakerOnClock({ timeoutMs: 1_000 });
      const call = settle(breaker.execute(({ signal }) => fetch(`http://127.0.0.1:${port}/hang`, { signal })));
      await requested; // the request is on the wire; now let the deadline pass
      clock.advance(1_000);
      const outcome = await call;
      expect(CircuitTimeoutError.isInstance((outcome as { error: unknown }).error)).toBe(true);
      // The server never answers: only the client's abort can close the socket. The wait is a bound
      // for a hung test, not a measurement.
      const bound = new Promise<'still open'>((resolve) => setTimeout(() => resolve('still open'), 10_000).unref());
      expect(await Promise.race([closed, bound])).toBe('closed');
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("the caller's abort rejects with the caller's reason and is not a failure", async () => {
    const { breaker } = breakerOnClock({ failureThreshold: 1, timeoutMs: 1_000 });
    const controller = new AbortController();
    let inner: AbortSignal | undefined;
    const call = settle(
      breaker.execute(
        ({ signal }) => {
          inner = signal;
          return new Promise(() => {});
        },
        { signal: controller.signal },
      ),
    );
    const reason = new Error('user went away');
    controller.abort(reason);
    const outcome = await call;
    expect((outcome as { error: unknown }).error).toBe(reason);
    expect(inner!.aborted).toBe(true);
    expect(inner!.reason).toBe(reason);
    expect(breaker.state).toBe('closed');
    expect(breaker.getStats()).toMatchObject({ total_failures: 0, total_ignored: 1, in_flight: 0 });
  });

  it('many calls sharing one caller signal add one abort listener, and all abort together', async () => {
    const { breaker } = breakerOnClock({ timeoutMs: 1_000 });
    const controller = new AbortController();
    const calls = Array.from({ length: 20 }, () => settle(breaker.execute(() => new Promise(() => {}), { signal: controller.signal })));
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    controller.abort(new Error('request ended'));
    const outcomes = await Promise.all(calls);
    expect(outcomes.every((o) => !o.ok && (o.error as Error).message === 'request ended')).toBe(true);
    expect(breaker.getStats()).toMatchObject({ total_ignored: 20, in_flight: 0 });
  });

  it('a settled call stops listening to the caller signal', async () => {
    const { breaker } = breakerOnClock({ timeoutMs: 1_000 });
    const controller = new AbortController();
    await breaker.execute(succeed, { signal: controller.signal });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('an already-aborted caller signal never runs the function', async () => {
    const { breaker } = breakerOnClock();
    let ran = false;
    const outcome = await settle(breaker.execute(() => (ran = true), { signal: AbortSignal.abort(new Error('gone')) }));
    expect(ran).toBe(false);
    expect(((outcome as { error: Error }).error).message).toBe('gone');
    expect(breaker.getStats().total_ignored).toBe(1);
  });

  it('with no timeout and no caller signal, the signal exists, never aborts, and is not shared between calls', async () => {
    const { breaker } = breakerOnClock({ timeoutMs: 0 });
    const signal = await breaker.execute(({ signal }) => signal);
    expect(signal).toBeInstanceOf(AbortSignal);
    expect(signal.aborted).toBe(false);
    // A shared signal would collect an abort listener from every fetch it is handed.
    expect(await breaker.execute(({ signal }) => signal)).not.toBe(signal);
  });

  it('holds one timer at most, and none once idle', async () => {
    const { breaker, clock } = breakerOnClock({ timeoutMs: 1_000 });
    for (let i = 0; i < 100; i++) await breaker.execute(succeed);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(1_000);
    expect(clock.pendingTimers).toBe(0);
    expect(breaker.activeTimers).toBe(0);
  });

  it('never times out early and at most two resolutions (2 %) late while the coarse clock ticks', async () => {
    const { breaker, clock } = breakerOnClock({ failureThreshold: 10, timeoutMs: 10_000 });
    const first = settle(breaker.execute(() => new Promise(() => {})));
    clock.advance(150); // the deadline timer ticks every 100 ms while calls are in flight
    let secondDone = false;
    const second = settle(breaker.execute(() => new Promise(() => {}))).then((o) => ((secondDone = true), o));
    clock.advance(9_850); // 10 000 ms after the first call: exact, since the queue was idle
    expect(CircuitTimeoutError.isInstance(((await first) as { error: unknown }).error)).toBe(true);
    clock.advance(9_999 - 9_850); // 9 999 ms after the second call started
    await flush();
    expect(secondDone).toBe(false);
    clock.advance(1 + 200);
    expect(CircuitTimeoutError.isInstance(((await second) as { error: unknown }).error)).toBe(true);
  });

  it('a signal read after the timeout is already aborted', async () => {
    const { breaker, clock } = breakerOnClock({ timeoutMs: 10 });
    const gate = deferred();
    let lateSignal: AbortSignal | undefined;
    const call = settle(
      breaker.execute(async (context) => {
        await gate.promise;
        lateSignal = context.signal;
      }),
    );
    clock.advance(10);
    await call;
    gate.resolve('go');
    await flush();
    expect(lateSignal!.aborted).toBe(true);
  });
});

describe('classification', () => {
  it('expectedError as a class counts only that class; other errors are ignored', async () => {
    const { breaker } = breakerOnClock({ failureThreshold: 1, expectedError: DependencyDown });
    const outcome = await settle(breaker.execute(() => Promise.reject(new TypeError('bad input'))));
    expect((outcome as { error: unknown }).error).toBeInstanceOf(TypeError);
    expect(breaker.state).toBe('closed');
    await settle(breaker.execute(fail));
    expect(breaker.state).toBe('open');
  });

  it('expectedError as a list of classes', async () => {
    class Timeout extends Error {}
    const { breaker } = breakerOnClock({ failureThreshold: 2, expectedError: [DependencyDown, Timeout] });
    await settle(breaker.execute(() => Promise.reject(new Timeout())));
    await settle(breaker.execute(() => Promise.reject(new RangeError())));
    expect(breaker.state).toBe('closed');
    await settle(breaker.execute(fail));
    expect(breaker.state).toBe('open');
  });

  it('expectedError as a predicate', async () => {
    const { breaker } = breakerOnClock({
      failureThreshold: 1,
      expectedError: (error) => (error as { status?: number }).status! >= 500,
    });
    await settle(breaker.execute(() => Promise.reject(Object.assign(new Error(), { status: 404 }))));
    expect(breaker.state).toBe('closed');
    await settle(breaker.execute(() => Promise.reject(Object.assign(new Error(), { status: 503 }))));
    expect(breaker.state).toBe('open');
  });

  it('classifyResult turns a returned value into a failure (the value still reaches the caller)', async () => {
    const { breaker } = breakerOnClock({
      failureThreshold: 2,
      classifyResult: (value) => {
        const status = (value as { status: number }).status;
        return status >= 500 ? 'failure' : status >= 400 ? 'ignored' : 'success';
      },
    });
    expect(await breaker.execute(() => ({ status: 503 }))).toEqual({ status: 503 });
    expect(await breaker.execute(() => ({ status: 404 }))).toEqual({ status: 404 });
    expect(breaker.state).toBe('closed');
    await breaker.execute(() => ({ status: 500 }));
    expect(breaker.state).toBe('open');
    expect(breaker.getStats()).toMatchObject({ total_failures: 2, total_ignored: 1 });
  });

  it('a non-native thenable is adopted and its outcome counted', async () => {
    const { breaker } = breakerOnClock({ failureThreshold: 1 });
    const thenable = { then: (resolve: (v: string) => void) => resolve('from thenable') } as unknown as PromiseLike<string>;
    expect(await breaker.execute(() => thenable)).toBe('from thenable');
    const failing = { then: (_: unknown, reject: (e: unknown) => void) => reject(new DependencyDown('thenable down')) } as unknown as PromiseLike<string>;
    await settle(breaker.execute(() => failing));
    expect(breaker.getStats()).toMatchObject({ total_successes: 1, total_failures: 1, state: 'open' });
  });

  it('a synchronous value is returned as a resolved promise and counted', async () => {
    const { breaker } = breakerOnClock();
    const promise = breaker.execute(() => 42);
    expect(promise).toBeInstanceOf(Promise);
    expect(await promise).toBe(42);
    expect(breaker.getStats().total_successes).toBe(1);
  });

  it('a synchronous throw counts like a rejection', async () => {
    const { breaker } = breakerOnClock({ failureThreshold: 1 });
    const outcome = await settle(
      breaker.execute(() => {
        throw new DependencyDown('sync');
      }),
    );
    expect((outcome as { error: unknown }).error).toBeInstanceOf(DependencyDown);
    expect(breaker.state).toBe('open');
  });

  it('a throwing classifier is reported and never breaks the call', async () => {
    const entries: CircuitLogEntry[] = [];
    const breaker = new CircuitBreaker('x', {
      logger: (e) => entries.push(e),
      classifyResult: () => {
        throw new Error('classifier bug');
      },
    });
    expect(await breaker.execute(succeed)).toBe('ok');
    expect(entries.some((e) => e.message.includes('classifier bug'))).toBe(true);
  });
});

describe('open backoff', () => {
  it('grows the open duration after repeated failed probes, capped, with jitter', async () => {
    const { breaker, clock } = breakerOnClock({
      failureThreshold: 1,
      recoveryTimeoutMs: 1_000,
      openBackoff: { maxMs: 5_000, multiplier: 2, jitter: 0.5 },
      random: () => 0.5,
    });
    const durations: number[] = [];
    breaker.onStateChange((e) => {
      if (e.to === 'open') durations.push(e.retryAt! - e.at);
    });
    await settle(breaker.execute(fail));
    for (let i = 0; i < 4; i++) {
      clock.advance(durations.at(-1)!);
      expect(breaker.state).toBe('half_open');
      await settle(breaker.execute(fail));
    }
    // 1000, then 2000·0.75, 4000·0.75, min(8000, 5000)·0.75, min(16000, 5000)·0.75
    expect(durations).toEqual([1_000, 1_500, 3_000, 3_750, 3_750]);
    clock.advance(3_750);
    await breaker.execute(succeed);
    await settle(breaker.execute(fail));
    expect(durations.at(-1)).toBe(1_000);
  });
});

describe('manual control', () => {
  it('forceOpen rejects until reset; disable passes everything through and records it', async () => {
    const { breaker } = breakerOnClock({ failureThreshold: 1 });
    breaker.forceOpen();
    expect(breaker.state).toBe('forced_open');
    const outcome = await settle(breaker.execute(succeed));
    expect((outcome as { error: CircuitOpenError }).error.state).toBe('forced_open');
    expect((outcome as { error: CircuitOpenError }).error.retryAt).toBeNull();

    breaker.disable();
    for (let i = 0; i < 5; i++) await settle(breaker.execute(fail));
    expect(breaker.state).toBe('disabled');
    expect(breaker.getStats().total_failures).toBe(5);

    breaker.reset();
    expect(breaker.state).toBe('closed');
    await settle(breaker.execute(fail));
    expect(breaker.state).toBe('open');
  });

  it('reset clears counts toward the threshold but keeps totals', async () => {
    const { breaker } = breakerOnClock({ failureThreshold: 3 });
    await settle(breaker.execute(fail));
    await settle(breaker.execute(fail));
    breaker.reset();
    expect(breaker.getStats().failure_count).toBe(0);
    await settle(breaker.execute(fail));
    await settle(breaker.execute(fail));
    expect(breaker.state).toBe('closed');
    expect(breaker.getStats().total_failures).toBe(4);
  });
});

describe('events', () => {
  it('are disposable, report outcomes with durations, and a throwing listener breaks nothing', async () => {
    const { breaker, clock } = breakerOnClock({ failureThreshold: 1, timeoutMs: 0 });
    const seen: string[] = [];
    const sub = breaker.onSuccess((e) => seen.push(`success ${e.durationMs}`));
    breaker.onSuccess(() => {
      throw new Error('bad listener');
    });
    const gate = deferred();
    const call = breaker.execute(() => gate.promise);
    clock.advance(25);
    gate.resolve('x');
    await call;
    sub.dispose();
    sub.dispose();
    await breaker.execute(succeed);
    breaker.onFailure((e) => seen.push(`failure ${e.cause}`));
    breaker.onReject((e) => seen.push(`reject ${e.state}`));
    await settle(breaker.execute(fail));
    await settle(breaker.execute(succeed));
    expect(seen).toEqual(['success 25', 'failure error', 'reject open']);
  });

  it('stats survive transitions and reconcile', async () => {
    const { breaker, clock } = breakerOnClock({ failureThreshold: 2, recoveryTimeoutMs: 100 });
    await breaker.execute(succeed);
    await settle(breaker.execute(fail));
    await settle(breaker.execute(fail));
    await settle(breaker.execute(succeed));
    clock.advance(100);
    await breaker.execute(succeed);
    const stats = breaker.getStats();
    expect(stats).toMatchObject({
      state: 'closed',
      total_calls: 5,
      total_successes: 2,
      total_failures: 2,
      total_rejections: 1,
      total_ignored: 0,
      in_flight: 0,
      failure_threshold: 2,
    });
  });
});

describe('export and restore', () => {
  it('restores an open breaker from toJSON()', async () => {
    const { breaker, clock } = breakerOnClock({ failureThreshold: 1, recoveryTimeoutMs: 5_000 });
    await settle(breaker.execute(fail));
    const saved = JSON.parse(JSON.stringify(breaker.toJSON()));
    const restored = new CircuitBreaker('dep', { logger: false, clock, initialState: saved, recoveryTimeoutMs: 5_000 });
    expect(restored.state).toBe('open');
    expect(restored.toJSON()).toEqual(breaker.toJSON());
    clock.advance(5_000);
    expect(restored.state).toBe('half_open');
  });

  it('rejects a malformed initial state with a clear error', () => {
    expect(() => new CircuitBreaker('x', { initialState: { state: 'ajar' } as never })).toThrow(
      /initialState.state must be one of closed, open, half_open, forced_open, disabled; got "ajar"/,
    );
    expect(
      () =>
        new CircuitBreaker('x', {
          initialState: { state: 'open', generation: -1, openedAt: null, retryAt: null, failedProbes: 0 },
        }),
    ).toThrow(/initialState.generation must be an integer >= 0; got -1/);
  });

  it('applyRemote adopts only newer generations', () => {
    const { breaker, clock } = breakerOnClock();
    breaker.applyRemote({ state: 'open', generation: 5, openedAt: clock.now(), retryAt: clock.now() + 1000, failedProbes: 0 });
    expect(breaker.state).toBe('open');
    breaker.applyRemote({ state: 'closed', generation: 4, openedAt: null, retryAt: null, failedProbes: 0 });
    expect(breaker.state).toBe('open');
    breaker.applyRemote({ state: 'closed', generation: 6, openedAt: null, retryAt: null, failedProbes: 0 });
    expect(breaker.state).toBe('closed');
  });
});

describe('wrap', () => {
  it('passes this and arguments through', async () => {
    const { breaker } = breakerOnClock();
    const target = {
      base: 40,
      add(this: { base: number }, x: number) {
        return Promise.resolve(this.base + x);
      },
    };
    const add = breaker.wrap(target.add);
    expect(await add.call(target, 2)).toBe(42);
    expect(breaker.getStats().total_successes).toBe(1);
  });
});

describe('the clock', () => {
  it('an idle breaker holds no timers with the real clock either', async () => {
    const breaker = new CircuitBreaker('idle', { logger: false });
    expect(breaker.activeTimers).toBe(0);
    breaker.dispose();
  });

  it('ManualClock fires timers in order at their own time', () => {
    const clock = new ManualClock(0);
    const fired: number[] = [];
    clock.setTimeout(() => fired.push(clock.now()), 30);
    const cancelled = clock.setTimeout(() => fired.push(-1), 20);
    clock.setTimeout(() => fired.push(clock.now()), 10);
    clock.clearTimeout(cancelled);
    clock.advance(100);
    expect(fired).toEqual([10, 30]);
    expect(clock.now()).toBe(100);
  });
});
