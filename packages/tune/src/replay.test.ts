import { CircuitBreaker, CircuitOpenError, ManualClock, type CircuitBreakerOptions } from '@phlow/circuit-breaker';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkCandidate, type Candidate } from './candidate.js';
import { exactReplayTraffic, type ReplayTraffic } from './imputation.js';
import { replay, seededRandom, STATE_CODE } from './replay.js';
import { trafficFromRows, type CallOutcome } from './traffic.js';

/** The same traffic driven through the public API the plain way: `await execute`, failures thrown. */
async function driveByHand(input: ReplayTraffic, options: CircuitBreakerOptions) {
  const { start } = input.traffic;
  const clock = new ManualClock(start[0] ?? 0);
  const breaker = new CircuitBreaker('by-hand', { ...options, clock, timeoutMs: 0, logger: false, random: seededRandom(0x5eed) });
  const transitions: [number, number][] = [];
  breaker.onStateChange((e) => transitions.push([e.at, STATE_CODE[e.to as 'closed' | 'open' | 'half_open']]));
  const admitted: number[] = [];
  for (let i = 0; i < start.length; i++) {
    if (start[i]! > clock.now()) clock.advance(start[i]! - clock.now());
    const d = input.duration[i]!;
    const outcome = input.outcome[i]!;
    try {
      await breaker.execute(() => {
        clock.jump(d);
        if (outcome === 1) throw new Error('503');
        return 'ok';
      });
      admitted.push(1);
    } catch (error) {
      admitted.push(CircuitOpenError.isInstance(error) ? 0 : 1);
      if (CircuitOpenError.isInstance(error)) continue;
    }
    clock.jump(-d);
  }
  return { admitted, transitions };
}

const candidates: Candidate[] = [
  { failureThreshold: 3, recoveryTimeoutMs: 2_000 },
  { failureThreshold: 2, recoveryTimeoutMs: 1_000, successThreshold: 2, openBackoff: { maxMs: 8_000 } },
  { failurePolicy: { type: 'count-window', size: 10, minimumCalls: 4, failureRateThreshold: 0.5, slowCallDurationMs: 500, slowCallRateThreshold: 0.5 }, recoveryTimeoutMs: 3_000 },
  { failurePolicy: { type: 'time-window', windowMs: 5_000, minimumCalls: 3, failureRateThreshold: 0.6 }, recoveryTimeoutMs: 1_500 },
].map((options) => checkCandidate(options));

describe('replay', () => {
  it('gives the same admissions and transitions as driving the breaker by hand with await and thrown errors', async () => {
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
      { numRuns: 150 },
    );
  });

  it('lets the slow-call rate see recorded durations: slow successes open a slow-call breaker', async () => {
    const rows = Array.from({ length: 20 }, (_, i) => ({ start: i * 100, duration: 900, outcome: 'success' as const }));
    const candidate = checkCandidate({
      failurePolicy: { type: 'count-window', size: 10, minimumCalls: 5, failureRateThreshold: 1, slowCallDurationMs: 500, slowCallRateThreshold: 0.8 },
    });
    const run = await replay(exactReplayTraffic(trafficFromRows('slow', rows)), candidate);
    expect(run.transitionState[0]).toBe(STATE_CODE.open);
    // The fifth call trips it, stamped at its end: start 400 + 900 ms.
    expect(run.transitionAt[0]).toBe(1_300);
    expect(Array.from(run.admitted).indexOf(0)).toBe(5);
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
