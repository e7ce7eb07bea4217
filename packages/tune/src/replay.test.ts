import { CircuitBreaker, CircuitOpenError, ManualClock, type CircuitBreakerOptions } from '@phlow/circuit-breaker';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkCandidate, type Candidate } from './candidate.js';
import { exactReplayTraffic, type ReplayTraffic } from './imputation.js';
import { seededRandom } from '@phlow/circuit-breaker/internal';
import { replay, STATE_CODE } from './replay.js';
import { trafficFromRows, type CallOutcome } from './traffic.js';

/**
 * The same traffic driven through the public API the plain way: every call starts at its start time
 * with a function returning a promise that a timer on the manual clock settles at its end (thrown
 * errors for failures), calls overlapping as recorded; after each end the event loop runs.
 */
async function driveByHand(input: ReplayTraffic, options: CircuitBreakerOptions) {
  const { start } = input.traffic;
  const clock = new ManualClock(start[0] ?? 0);
  const breaker = new CircuitBreaker('by-hand', { ...options, clock, timeoutMs: 0, logger: false, random: seededRandom(0x5eed) });
  const transitions: [number, number][] = [];
  breaker.onStateChange((e) => transitions.push([e.at, STATE_CODE[e.to as 'closed' | 'open' | 'half_open']]));
  const admitted: number[] = [];
  const ends: number[] = [];
  const runEndsUpTo = async (t: number) => {
    while (ends.length > 0 && ends[0]! <= t) {
      const end = ends.shift()!;
      clock.advance(end - clock.now());
      while (ends[0] === end) ends.shift(); // the clock fires every timer due at `end`
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  for (let i = 0; i < start.length; i++) {
    await runEndsUpTo(start[i]!);
    clock.advance(start[i]! - clock.now());
    const d = input.duration[i]!;
    const failed = input.outcome[i] === 1;
    let ran = false;
    breaker
      .execute(() => {
        ran = true;
        return new Promise((resolve, reject) => clock.setTimeout(() => (failed ? reject(new Error('503')) : resolve('ok')), d));
      })
      .catch(() => {});
    admitted.push(ran ? 1 : 0);
    if (ran) {
      const end = start[i]! + d;
      ends.splice(sortedIndex(ends, end), 0, end);
    }
  }
  await runEndsUpTo(Infinity);
  return { admitted, transitions };
}

function sortedIndex(values: number[], value: number): number {
  let i = values.length;
  while (i > 0 && values[i - 1]! > value) i--;
  return i;
}

const candidates: Candidate[] = [
  { failureThreshold: 3, recoveryTimeoutMs: 2_000 },
  { failureThreshold: 2, recoveryTimeoutMs: 1_000, successThreshold: 2, openBackoff: { maxMs: 8_000 } },
  { failurePolicy: { type: 'count-window', size: 10, minimumCalls: 4, failureRateThreshold: 0.5, slowCallDurationMs: 500, slowCallRateThreshold: 0.5 }, recoveryTimeoutMs: 3_000 },
  { failurePolicy: { type: 'time-window', windowMs: 5_000, minimumCalls: 3, failureRateThreshold: 0.6 }, recoveryTimeoutMs: 1_500 },
  { failureThreshold: 2, recoveryTimeoutMs: 1_000, halfOpenMaxCalls: 2, successThreshold: 2 },
  { failureThreshold: 1, recoveryTimeoutMs: 500, halfOpenMaxWaitMs: 800 }, // probes slower than 800 ms are stuck
].map((options) => checkCandidate(options));

describe('replay', () => {
  it('gives the same admissions and transitions as driving the breaker by hand with overlapping promises, timers and thrown errors', async () => {
    const call = fc.record({ gap: fc.integer({ min: 0, max: 2_000 }), duration: fc.integer({ min: 0, max: 1_500 }), failed: fc.boolean() });
    await fc.assert(
      fc.asyncProperty(fc.array(call, { minLength: 1, maxLength: 300 }), fc.constantFrom(...candidates), async (calls, candidate) => {
        let t = 1_000_000;
        const rows = calls.map((c) => ({ start: (t += c.gap), duration: c.duration, outcome: (c.failed ? 'failure' : 'success') as CallOutcome }));
        const input = exactReplayTraffic(trafficFromRows('p', rows));
        const fast = await replay(input, candidate);
        const slow = await driveByHand(input, candidate.options);
        expect(Array.from(fast.admitted)).toEqual(slow.admitted);
        expect(Array.from(fast.transitionAt, (at, j) => [at, fast.transitionState[j]])).toEqual(slow.transitions);
      }),
      { numRuns: 300 },
    );
  });

  it('lets the slow-call rate see recorded durations: slow successes open a slow-call breaker', async () => {
    const rows = Array.from({ length: 20 }, (_, i) => ({ start: i * 1_000, duration: 900, outcome: 'success' as const }));
    const candidate = checkCandidate({
      failurePolicy: { type: 'count-window', size: 10, minimumCalls: 5, failureRateThreshold: 1, slowCallDurationMs: 500, slowCallRateThreshold: 0.8 },
    });
    const run = await replay(exactReplayTraffic(trafficFromRows('slow', rows)), candidate);
    expect(run.transitionState[0]).toBe(STATE_CODE.open);
    // The fifth call trips it, stamped at its end: start 4 000 + 900 ms.
    expect(run.transitionAt[0]).toBe(4_900);
    expect(Array.from(run.admitted).indexOf(0)).toBe(5);
  });

  it('lets calls overlap: during a hanging outage every call until the first timeout is let through', async () => {
    // One call every 100 ms; from 1 s on, each hangs 3 s and times out. Opens after 3 failures in a row.
    const rows = Array.from({ length: 100 }, (_, i) => ({ start: i * 100, duration: i >= 10 ? 3_000 : 10, outcome: (i >= 10 ? 'timeout' : 'success') as CallOutcome }));
    const run = await replay(exactReplayTraffic(trafficFromRows('hang', rows)), checkCandidate({ failureThreshold: 3, recoveryTimeoutMs: 60_000 }));
    // The third timeout ends at 1.2 s + 3 s: every call started before then (10 … 41) was let through;
    // the call starting at that very moment meets the breaker open (ends go first on a tie).
    expect(run.transitionAt[0]).toBe(4_200);
    expect(Array.from(run.admitted).lastIndexOf(1)).toBe(41);
    expect(Array.from(run.admitted).slice(10, 42).every((a) => a === 1)).toBe(true);
  });
});

describe('the core, as replay relies on it', () => {
  it('settles a synchronous function inside execute, and a half-open probe one microtask later', async () => {
    const clock = new ManualClock(0);
    const breaker = new CircuitBreaker('sync', { clock, timeoutMs: 0, logger: false, failureThreshold: 2, recoveryTimeoutMs: 1_000, classifyResult: (v) => v as 'failure' });
    void breaker.execute(() => 'failure');
    expect(breaker.getStats().failure_count).toBe(1);
    void breaker.execute(() => 'failure');
    expect(breaker.storedState).toBe('open');
    clock.advance(1_000);
    expect(breaker.state).toBe('half_open');
    const probe = breaker.execute(() => 'success');
    expect(breaker.storedState).toBe('half_open');
    await probe;
    expect(breaker.storedState).toBe('closed');
  });
});
