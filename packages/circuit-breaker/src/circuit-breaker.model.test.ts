import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './circuit-breaker.js';
import type { CircuitState } from './circuit-state.js';
import { CircuitOpenError, CircuitTimeoutError } from './errors.js';
import { ManualClock } from './manual-clock.js';
import { deferred, DependencyDown, flush } from './test-helpers.test-util.js';

/**
 * A model-based test: random schedules of calls, outcomes, clock advances, resets and concurrency
 * run against the real breaker and against a small reference model written from the guide's rules,
 * and the two must agree on state and every counter after every step.
 */

interface Config {
  readonly failureThreshold: number;
  readonly recoveryTimeoutMs: number;
  /** 0: no timeouts, so only the half-open max wait frees a hung probe. */
  readonly timeoutMs: number;
  readonly halfOpenMaxCalls: number;
  readonly successThreshold: number;
  readonly halfOpenMaxWaitMs: number;
}

const WITH_TIMEOUTS: Config = {
  failureThreshold: 3,
  recoveryTimeoutMs: 100,
  timeoutMs: 50,
  halfOpenMaxCalls: 2,
  successThreshold: 2,
  halfOpenMaxWaitMs: 50,
};
const WITHOUT_TIMEOUTS: Config = { ...WITH_TIMEOUTS, timeoutMs: 0, halfOpenMaxWaitMs: 80 };

type Kind = 'success' | 'failure' | 'ignored';

interface Timer {
  readonly at: number;
  /** ManualClock fires timers due at the same time in the order they were set. */
  readonly seq: number;
}

interface ModelCall {
  readonly id: number;
  readonly generation: number;
  readonly startedAt: number;
  readonly deadline: number;
  /** Admitted while half-open: guarded, with its own stuck timer at `halfOpenMaxWaitMs`. */
  readonly probe: boolean;
  probeTimer: Timer | undefined;
}

class Model {
  state: CircuitState = 'closed';
  generation = 0;
  consecutive = 0;
  retryAt = 0;
  halfOpenSince = 0;
  probes: ModelCall[] = [];
  halfOpenSuccesses = 0;
  calls = 0;
  successes = 0;
  failures = 0;
  timeouts = 0;
  rejections = 0;
  ignored = 0;
  /** Calls in flight, in the order they were admitted (the deadline list's order). */
  readonly pending: ModelCall[] = [];
  /** Probes timed out whose functions still run: in flight until they settle. */
  readonly abandoned: ModelCall[] = [];
  now = 0;
  /** The deadline queue's tick timer (see CallDeadlines). */
  private tick: Timer | undefined = undefined;
  private seq = 0;
  private readonly resolution: number;

  constructor(private readonly config: Config) {
    this.resolution = Math.min(1_000, Math.max(1, config.timeoutMs / 100));
  }

  private timer(ms: number): Timer {
    return { at: this.now + ms, seq: this.seq++ };
  }

  /**
   * A call's deadline: exact when the queue was idle; otherwise the call joins the epoch the next tick
   * seals, and may time out `timeoutMs` after that tick.
   */
  private deadlineFor(startKnown: boolean): number {
    if (this.config.timeoutMs === 0) return Infinity;
    if (this.tick === undefined) {
      this.tick = this.timer(this.resolution);
      return this.now + this.config.timeoutMs;
    }
    // A call whose start the breaker read (admitted outside CLOSED) gets an exact deadline too.
    return (startKnown ? this.now : this.tick.at) + this.config.timeoutMs;
  }

  private move(state: CircuitState) {
    this.state = state;
    this.generation++;
    if (state === 'open') this.retryAt = this.now + this.config.recoveryTimeoutMs;
    if (state === 'half_open') {
      this.probes = [];
      this.halfOpenSuccesses = 0;
      this.halfOpenSince = this.now;
    }
    if (state === 'closed') this.consecutive = 0;
  }

  refresh() {
    if (this.state === 'open' && this.now >= this.retryAt) this.move('half_open');
  }

  /** Abandoned probes hold trial permits for the first halfOpenMaxWaitMs of a half-open period. */
  private permitsTaken(): number {
    const held = this.abandoned.length > 0 && this.now - this.halfOpenSince < this.config.halfOpenMaxWaitMs ? this.abandoned.length : 0;
    return this.probes.length + held;
  }

  /** Returns the admitted call, or undefined when rejected. */
  start(id: number): ModelCall | undefined {
    this.calls++;
    const startKnown = this.state !== 'closed';
    if (startKnown) this.refresh();
    if (this.state === 'open' || (this.state === 'half_open' && this.permitsTaken() >= this.config.halfOpenMaxCalls)) {
      this.rejections++;
      return undefined;
    }
    const probe = this.state === 'half_open';
    // Outside CLOSED the breaker reads the clock to admit, so the call's start time is known.
    const deadline = this.deadlineFor(startKnown);
    const call: ModelCall = {
      id,
      generation: this.generation,
      startedAt: this.now,
      deadline,
      probe,
      probeTimer: probe ? this.timer(this.config.halfOpenMaxWaitMs) : undefined,
    };
    if (probe) this.probes.push(call);
    this.pending.push(call);
    return call;
  }

  settle(call: ModelCall, kind: Kind) {
    if (this.abandoned.includes(call)) {
      // A late outcome of an abandoned probe: it only leaves the in-flight count.
      this.abandoned.splice(this.abandoned.indexOf(call), 1);
      return;
    }
    this.pending.splice(this.pending.indexOf(call), 1);
    call.probeTimer = undefined;
    const current = call.generation === this.generation;
    const isProbe = current && this.state === 'half_open';
    if (isProbe) this.probes.splice(this.probes.indexOf(call), 1);
    if (kind === 'success') {
      this.successes++;
      if (current && this.state === 'closed') this.consecutive = 0;
      if (isProbe && ++this.halfOpenSuccesses >= this.config.successThreshold) this.move('closed');
    } else if (kind === 'failure') {
      this.failures++;
      if (current && this.state === 'closed' && ++this.consecutive >= this.config.failureThreshold) this.move('open');
      if (isProbe) this.move('open');
    } else {
      this.ignored++;
    }
  }

  /** A deadline passed: a timeout failure; a probe's function keeps running, abandoned. */
  private timeOut(call: ModelCall) {
    this.timeouts++;
    this.settle(call, 'failure');
    if (call.probe) this.abandoned.push(call);
  }

  /** Moves time as ManualClock does: each due timer fires at its own time, in (time, order) order. */
  advance(ms: number) {
    const target = this.now + ms;
    for (;;) {
      let next: Timer | undefined = this.tick !== undefined && this.tick.at <= target ? this.tick : undefined;
      let stuck: ModelCall | undefined;
      for (const call of this.pending) {
        const t = call.probeTimer;
        if (t !== undefined && t.at <= target && (next === undefined || t.at < next.at || (t.at === next.at && t.seq < next.seq))) {
          next = t;
          stuck = call;
        }
      }
      if (next === undefined) break;
      this.now = Math.max(this.now, next.at);
      if (stuck !== undefined) {
        this.timeOut(stuck);
        continue;
      }
      // The tick expires from the head of the list (oldest call) and stops at the first call not yet due.
      while (this.pending.length > 0 && this.pending[0]!.deadline <= this.now) this.timeOut(this.pending[0]!);
      this.tick = this.pending.length > 0 ? this.timer(this.resolution) : undefined;
    }
    this.now = target;
  }

  reset() {
    if (this.state !== 'closed') this.move('closed');
    else this.consecutive = 0;
  }

  observe() {
    this.refresh();
    return this.state;
  }
}

type Command =
  | { readonly type: 'start' }
  | { readonly type: 'settle'; readonly pick: number; readonly kind: Kind }
  | { readonly type: 'advance'; readonly ms: number }
  | { readonly type: 'reset' };

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ type: 'start' } as const) },
  {
    weight: 4,
    arbitrary: fc.record({
      type: fc.constant('settle' as const),
      pick: fc.nat(),
      kind: fc.constantFrom<Kind>('success', 'success', 'failure', 'failure', 'failure', 'ignored'),
    }),
  },
  {
    weight: 2,
    // Multiples of 10 land exactly on deadlines and recovery times, where >= versus > matters.
    arbitrary: fc.record({
      type: fc.constant('advance' as const),
      ms: fc.oneof(fc.integer({ min: 1, max: 120 }), fc.integer({ min: 1, max: 12 }).map((n) => n * 10)),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ type: 'reset' } as const) },
);

/** Long enough schedules to pass through every state several times. */
const schedule = fc.array(command, { minLength: 10, maxLength: 60, size: 'max' });

async function runSchedule(config: Config, commands: readonly Command[]) {
  const clock = new ManualClock(0);
  const breaker = new CircuitBreaker('model', { ...config, clock, logger: false, expectedError: DependencyDown });
  const model = new Model(config);
  const real = new Map<number, { gate: ReturnType<typeof deferred<string>>; outcome: Promise<unknown> }>();
  const rejectedIds: number[] = [];
  let nextId = 0;

  for (const step of commands) {
    switch (step.type) {
      case 'start': {
        const id = nextId++;
        const gate = deferred();
        const admitted = model.start(id);
        const outcome = breaker.execute(() => gate.promise).then(
          (value) => ({ value }),
          (error) => ({ error }),
        );
        if (admitted) real.set(id, { gate, outcome });
        else rejectedIds.push(id);
        await flush();
        if (!admitted) {
          const result = (await outcome) as { error?: unknown };
          expect(CircuitOpenError.isInstance(result.error)).toBe(true);
        }
        break;
      }
      case 'settle': {
        // Abandoned probes (timed out, function still running) can settle late too.
        const open = [...model.pending, ...model.abandoned];
        if (open.length === 0) break;
        const call = open[step.pick % open.length]!;
        const { gate } = real.get(call.id)!;
        model.settle(call, step.kind);
        if (step.kind === 'success') gate.resolve('ok');
        else gate.reject(step.kind === 'failure' ? new DependencyDown('down') : new TypeError('not counted'));
        await flush();
        break;
      }
      case 'advance': {
        const before = model.pending.map((c) => c.id);
        model.advance(step.ms);
        const stillPending = new Set(model.pending.map((c) => c.id));
        const timedOut = before.filter((id) => !stillPending.has(id));
        clock.advance(step.ms);
        await flush();
        for (const id of timedOut) {
          const result = (await real.get(id)!.outcome) as { error?: unknown };
          expect(CircuitTimeoutError.isInstance(result.error)).toBe(true);
        }
        break;
      }
      case 'reset':
        model.reset();
        breaker.reset();
        break;
    }
    const stats = breaker.getStats();
    const expected = model.observe();
    expect(stats.state).toBe(expected);
    expect({
      calls: stats.total_calls,
      successes: stats.total_successes,
      failures: stats.total_failures,
      timeouts: stats.total_timeouts,
      rejections: stats.total_rejections,
      ignored: stats.total_ignored,
      inFlight: stats.in_flight,
      failureCount: stats.failure_count,
    }).toEqual({
      calls: model.calls,
      successes: model.successes,
      failures: model.failures,
      timeouts: model.timeouts,
      rejections: model.rejections,
      ignored: model.ignored,
      inFlight: model.pending.length + model.abandoned.length,
      failureCount: model.consecutive,
    });
    expect(stats.generation).toBe(model.generation);
    expect(stats.abandoned_probes).toBe(model.abandoned.length);
    if (expected === 'half_open') expect(stats.success_count).toBe(model.halfOpenSuccesses);
  }
  // Settle what is left so nothing leaks; afterwards counters reconcile exactly.
  for (const { gate } of real.values()) gate.resolve('late');
  await flush();
  const stats = breaker.getStats();
  expect(stats.total_calls).toBe(stats.total_successes + stats.total_failures + stats.total_rejections + stats.total_ignored);
  clock.advance(config.timeoutMs + 2);
  expect(clock.pendingTimers).toBe(0);
}

describe('model-based: the breaker agrees with a reference model after every step', () => {
  it('holds for 10 000 random schedules of calls, outcomes, timeouts, clock advances, resets and concurrency', async () => {
    await fc.assert(
      fc.asyncProperty(schedule, (commands) => runSchedule(WITH_TIMEOUTS, commands)),
      { numRuns: 10_000 },
    );
  }, 180_000);

  it('holds for 5 000 schedules without call timeouts, where hung probes are freed by the half-open max wait', async () => {
    await fc.assert(
      fc.asyncProperty(schedule, (commands) => runSchedule(WITHOUT_TIMEOUTS, commands)),
      { numRuns: 5_000 },
    );
  }, 180_000);
});
