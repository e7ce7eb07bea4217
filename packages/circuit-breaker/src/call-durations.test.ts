import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './circuit-breaker.js';
import type { CallDurationOutcome } from './call-durations.js';
import type { CircuitLogEntry } from './json-logger.js';
import { ManualClock } from './manual-clock.js';
import { seededRandom as seeded } from './seeded-random.js';

interface Heard {
  outcome: CallDurationOutcome;
  durationMs: number;
  weight: number;
}

/** A ManualClock that counts its `now()` reads: what a timed call costs is two of them. */
class CountingClock extends ManualClock {
  reads = 0;
  override now(): number {
    this.reads++;
    return super.now();
  }
}

function listen(breaker: CircuitBreaker, options?: Parameters<CircuitBreaker['onCallDuration']>[1]): { heard: Heard[]; dispose: () => void } {
  const heard: Heard[] = [];
  const subscription = breaker.onCallDuration((outcome, durationMs, weight) => heard.push({ outcome, durationMs, weight }), options);
  return { heard, dispose: () => subscription.dispose() };
}

/** `n` calls, one after another, each taking `msOf(i)` on `clock` and resolving. */
async function calls(breaker: CircuitBreaker, clock: ManualClock, n: number, msOf: (i: number) => number = () => 0): Promise<void> {
  for (let i = 0; i < n; i++) {
    await breaker.execute(async () => {
      clock.advance(msOf(i));
      return i;
    });
  }
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

describe('CircuitBreaker.onCallDuration: what a listener hears', () => {
  it('hears each outcome with its duration on the breaker clock, weight 1 below the sampling rate', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker('durations', {
      clock,
      logger: false,
      failureThreshold: 100,
      timeoutMs: 1_000,
      classifyResult: (value) => (value === 'bad' ? 'failure' : value === 'meh' ? 'ignored' : 'success'),
    });
    const { heard } = listen(breaker);
    await breaker.execute(async () => {
      clock.advance(12);
      return 'ok';
    });
    await breaker.execute(async () => {
      clock.advance(30);
      return 'bad';
    });
    await expect(
      breaker.execute(async () => {
        clock.advance(7);
        throw new Error('down');
      }),
    ).rejects.toThrow('down');
    await breaker.execute(async () => {
      clock.advance(3);
      return 'meh';
    });
    const hanging = breaker.execute(() => new Promise(() => {}));
    clock.advance(1_100); // deadlines are checked on a 100 ms tick: late by up to one, never early
    await expect(hanging).rejects.toThrow(/timed out/);
    expect(heard.slice(0, 4)).toEqual([
      { outcome: 'success', durationMs: 12, weight: 1 },
      { outcome: 'failure', durationMs: 30, weight: 1 },
      { outcome: 'failure', durationMs: 7, weight: 1 },
      { outcome: 'ignored', durationMs: 3, weight: 1 },
    ]);
    expect(heard).toHaveLength(5);
    expect(heard[4]).toMatchObject({ outcome: 'timeout', weight: 1 });
    expect(heard[4]!.durationMs).toBeGreaterThanOrEqual(1_000);
    expect(heard[4]!.durationMs).toBeLessThanOrEqual(1_100);
  });

  it('hears a call the caller aborted as ignored', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker('aborted', { clock, logger: false });
    const { heard } = listen(breaker);
    const controller = new AbortController();
    const call = breaker.execute(() => new Promise(() => {}), { signal: controller.signal });
    clock.advance(40);
    controller.abort(new Error('caller gave up'));
    await expect(call).rejects.toThrow('caller gave up');
    expect(heard).toEqual([{ outcome: 'ignored', durationMs: 40, weight: 1 }]);
  });

  it('times sampled calls only: below the rate every call, above it a random one in `thenOneIn`, weights summing to the calls', async () => {
    const clock = new CountingClock();
    const breaker = new CircuitBreaker('sampled', { clock, logger: false, random: seeded(7) });
    const { heard } = listen(breaker, { sampling: { everyCallUpTo: 100, thenOneIn: 16 } });
    clock.reads = 0;
    await calls(breaker, clock, 20_000); // all within one second of the breaker's clock
    // Two clock reads per timed call, none for the others.
    expect(clock.reads).toBe(2 * heard.length);
    expect(breaker.getStats().total_successes).toBe(20_000);
    expect(heard.slice(0, 100).every((h) => h.weight === 1)).toBe(true);
    const sampled = heard.slice(100);
    // One timed call in each run of 16 after the first 100, each standing for its run
    expect(sampled.length).toBeGreaterThanOrEqual(Math.floor(19_900 / 16));
    expect(sampled.length).toBeLessThanOrEqual(Math.ceil(19_900 / 16));
    expect(sampled.every((h) => h.weight === 16)).toBe(true);
    // The weights count the calls to within one run (the current one may be weighed ahead of its end).
    const counted = sum(heard.map((h) => h.weight));
    expect(Math.abs(counted - 20_000)).toBeLessThan(16);
  });

  it('starts a new second on the timed calls own clock reads: every call is timed again after it', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker('seconds', { clock, logger: false, random: seeded(11) });
    const { heard } = listen(breaker, { sampling: { everyCallUpTo: 50, thenOneIn: 10 } });
    await calls(breaker, clock, 2_000);
    const firstSecond = heard.length;
    expect(firstSecond).toBeLessThan(50 + 2_000 / 10 * 1.5);
    clock.advance(1_000);
    await calls(breaker, clock, 2_000);
    const second = heard.slice(firstSecond);
    // The first call timed after the gap notices the new second; the next 49 are timed one by one.
    const run = second.findIndex((h, i) => i > 0 && h.weight === 1 && second.slice(i, i + 49).every((x) => x.weight === 1));
    expect(run).toBeGreaterThanOrEqual(0);
    expect(run).toBeLessThanOrEqual(1);
    expect(sum(heard.map((h) => h.weight))).toBeGreaterThan(4_000 - 20);
  });

  it('weighs each outcome without bias when outcomes follow the traffic: the failing tail of every burst', async () => {
    // Bursts of 150 calls, one a second, the last 50 of each failing (the slow tail of a batch, say):
    // every burst goes past `everyCallUpTo`, so its tail is sampled, and the untimed end of one burst
    // must not be counted as the first timed call of the next (always a success here).
    const clock = new ManualClock();
    const breaker = new CircuitBreaker('bursts', { clock, logger: false, failureThreshold: 1_000_000, random: seeded(5) });
    const { heard } = listen(breaker, { sampling: { everyCallUpTo: 100, thenOneIn: 16 } });
    for (let burst = 0; burst < 400; burst++) {
      for (let i = 0; i < 150; i++) {
        await breaker.execute(() => (i >= 100 ? Promise.reject(new Error('tail')) : 'ok')).catch(() => {});
      }
      clock.advance(1_000);
    }
    const failures = sum(heard.filter((h) => h.outcome === 'failure').map((h) => h.weight));
    const successes = sum(heard.filter((h) => h.outcome === 'success').map((h) => h.weight));
    expect(failures / 20_000).toBeGreaterThan(0.9);
    expect(failures / 20_000).toBeLessThan(1.1);
    expect(successes / 40_000).toBeGreaterThan(0.95);
    expect(successes / 40_000).toBeLessThan(1.05);
    expect(Math.abs(failures + successes - 60_000)).toBeLessThan(16);
  });

  it('is not fooled by periodic traffic: a slow call every 8th is weighed as 1/8 of the calls', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker('periodic', { clock, logger: false, random: seeded(3) });
    const { heard } = listen(breaker, { sampling: { everyCallUpTo: 0, thenOneIn: 8 } });
    await calls(breaker, clock, 80_000, (i) => (i % 8 === 7 ? 50 : 0));
    const slow = sum(heard.filter((h) => h.durationMs === 50).map((h) => h.weight));
    const all = sum(heard.map((h) => h.weight));
    expect(heard.length).toBeGreaterThan(8_000);
    expect(slow / all).toBeGreaterThan(0.125 - 0.02);
    expect(slow / all).toBeLessThan(0.125 + 0.02);
  });
});

describe('CircuitBreaker.onCallDuration: who else wants every call', () => {
  it('`sampling: false` hears every call; while such a listener is there, a sampling one hears every call too', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker('every', { clock, logger: false });
    const sampling = listen(breaker, { sampling: { everyCallUpTo: 0, thenOneIn: 50 } });
    const every = listen(breaker, { sampling: false });
    await calls(breaker, clock, 500);
    expect(every.heard).toHaveLength(500);
    expect(sampling.heard).toHaveLength(500);
    every.dispose();
    await calls(breaker, clock, 5_000);
    expect(sampling.heard.length - 500).toBeLessThan(5_000 / 50 * 1.5);
    expect(sampling.heard.slice(500).some((h) => h.weight > 1)).toBe(true);
  });

  it('hears every call with weight 1 while an outcome listener or a time-window policy times them anyway', async () => {
    const clock = new ManualClock();
    const withListener = new CircuitBreaker('listened', { clock, logger: false });
    withListener.onSuccess(() => {});
    const a = listen(withListener, { sampling: { everyCallUpTo: 0, thenOneIn: 64 } });
    await calls(withListener, clock, 300);
    expect(a.heard).toHaveLength(300);
    expect(a.heard.every((h) => h.weight === 1)).toBe(true);

    const windowed = new CircuitBreaker('windowed', { clock, logger: false, failurePolicy: { type: 'time-window', windowMs: 10_000, failureRateThreshold: 0.5, minimumCalls: 10 } });
    const b = listen(windowed, { sampling: { everyCallUpTo: 0, thenOneIn: 64 } });
    await calls(windowed, clock, 300);
    expect(b.heard).toHaveLength(300);
  });

  it('times nothing once the last listener is gone (disposing twice is harmless)', async () => {
    const clock = new CountingClock();
    const breaker = new CircuitBreaker('gone', { clock, logger: false });
    const { heard, dispose } = listen(breaker, { sampling: false });
    await calls(breaker, clock, 10);
    dispose();
    dispose();
    clock.reads = 0;
    await calls(breaker, clock, 1_000);
    expect(heard).toHaveLength(10);
    expect(clock.reads).toBe(0);
  });

  it('an options object whose `signal` getter unsubscribes the last listener does not make execute throw', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker('sneaky', { clock, logger: false });
    const subscription = breaker.onCallDuration(() => {}, { sampling: { everyCallUpTo: 0, thenOneIn: 1_000_000 } });
    const sneaky = {
      get signal() {
        subscription.dispose();
        return undefined;
      },
    };
    // The first call is timed (every second starts with one): it reads the getter before it starts.
    const outcomes = [0, 1, 2].map((i) => breaker.execute(async () => i, sneaky));
    await expect(Promise.all(outcomes)).resolves.toEqual([0, 1, 2]);
  });

  it('a listener that throws is logged and the call goes on', async () => {
    const clock = new ManualClock();
    const logs: CircuitLogEntry[] = [];
    const breaker = new CircuitBreaker('throws', { clock, logger: (entry) => logs.push(entry) });
    breaker.onCallDuration(() => {
      throw new Error('broken sink');
    });
    const { heard } = listen(breaker);
    await expect(breaker.execute(async () => 'fine')).resolves.toBe('fine');
    expect(heard).toHaveLength(1);
    expect(logs.find((entry) => entry.event === 'listener_error')?.message).toMatch(/broken sink/);
  });

  it('a custom `random` outside [0, 1) neither stalls sampling nor weighs a call as nothing', async () => {
    for (const broken of [() => 1, () => Number.NaN, () => -0.5]) {
      const clock = new ManualClock();
      const breaker = new CircuitBreaker('odd-random', { clock, logger: false, random: broken });
      const { heard } = listen(breaker, { sampling: { everyCallUpTo: 0, thenOneIn: 10 } });
      await calls(breaker, clock, 1_000);
      expect(heard.length).toBeGreaterThanOrEqual(99);
      expect(heard.every((h) => h.weight >= 1)).toBe(true);
      expect(sum(heard.map((h) => h.weight))).toBeGreaterThan(1_000 - 10);
    }
  });
});

describe('CircuitBreaker.onCallDuration: bad arguments', () => {
  const breaker = new CircuitBreaker('bad', { logger: false });
  it.each([
    [[undefined], TypeError, 'onCallDuration listener must be a function; got undefined'],
    [[() => {}, 3], TypeError, 'onCallDuration options must be an object { sampling? }; got 3'],
    [[() => {}, { sample: false }], TypeError, 'onCallDuration options: unknown option "sample"; allowed: sampling'],
    [[() => {}, { sampling: true }], TypeError, 'onCallDuration sampling must be false or an object { everyCallUpTo?, thenOneIn? }; got true'],
    [[() => {}, { sampling: { thenOneIn: 0 } }], RangeError, 'onCallDuration sampling.thenOneIn must be an integer from 1 to 1000000; got 0'],
    [[() => {}, { sampling: { everyCallUpTo: 1.5 } }], RangeError, 'onCallDuration sampling.everyCallUpTo must be an integer >= 0; got 1.5'],
    [[() => {}, { sampling: { rate: 2 } }], TypeError, 'onCallDuration sampling: unknown option "rate"; allowed: everyCallUpTo, thenOneIn'],
  ])('%o throws', (args, type, message) => {
    const subscribe = () => (breaker.onCallDuration as (...a: unknown[]) => unknown)(...args);
    expect(subscribe).toThrow(type);
    expect(subscribe).toThrow(message);
  });

  it('`thenOneIn: 1` is every call', async () => {
    const clock = new ManualClock();
    const every = new CircuitBreaker('one-in-one', { clock, logger: false });
    const { heard } = listen(every, { sampling: { everyCallUpTo: 0, thenOneIn: 1 } });
    await calls(every, clock, 200);
    expect(heard).toHaveLength(200);
  });
});
