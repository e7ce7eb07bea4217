import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './circuit-breaker.js';
import { CIRCUIT_BREAKER_OPTION_NAMES, firstDifference, resolveOptions } from './options.js';

const make = (options: object) => () => new CircuitBreaker('x', options as never);
/** A valid window policy with `wrong` over it: each case below states only what is wrong. */
const countWindow = (wrong: object) => ({ failurePolicy: { type: 'count-window', size: 10, minimumCalls: 5, failureRateThreshold: 0.5, ...wrong } });
const timeWindow = (wrong: object) => ({ failurePolicy: { type: 'time-window', windowMs: 1000, minimumCalls: 5, failureRateThreshold: 0.5, ...wrong } });

describe('invalid options throw errors naming option, value and what is allowed', () => {
  it.each([
    [{ failureThreshold: 0 }, RangeError, 'failureThreshold must be an integer >= 1; got 0'],
    [{ failureThreshold: -3 }, RangeError, 'failureThreshold must be an integer >= 1; got -3'],
    [{ failureThreshold: 2.5 }, RangeError, 'failureThreshold must be an integer >= 1; got 2.5'],
    [{ failureThreshold: Number.NaN }, RangeError, 'failureThreshold must be an integer >= 1; got NaN'],
    [{ failureThreshold: '5' }, RangeError, 'failureThreshold must be an integer >= 1; got "5"'],
    [{ recoveryTimeoutMs: -1 }, RangeError, 'recoveryTimeoutMs must be a number >= 0 and <= 2147483647; got -1'],
    [{ recoveryTimeoutMs: Infinity }, RangeError, 'recoveryTimeoutMs must be a number >= 0 and <= 2147483647; got Infinity'],
    [{ timeoutMs: Number.NaN }, RangeError, 'timeoutMs must be a number >= 0 and <= 2147483647; got NaN'],
    [{ halfOpenMaxCalls: 0 }, RangeError, 'halfOpenMaxCalls must be an integer >= 1; got 0'],
    [{ successThreshold: 0 }, RangeError, 'successThreshold must be an integer >= 1; got 0'],
    [{ halfOpenMaxWaitMs: 0 }, RangeError, 'halfOpenMaxWaitMs must be a number >= 1 and <= 2147483647; got 0'],
    [{ failureThresold: 3 }, TypeError, 'unknown option "failureThresold"'],
    [{ expectedError: 'Error' }, TypeError, 'expectedError must be an error class, a list of error classes or a predicate'],
    [{ expectedError: [Error, 'x'] }, TypeError, 'expectedError[1] must be an error class; got "x"'],
    [{ classifyResult: 42 }, TypeError, 'classifyResult must be a function; got 42'],
    [{ logger: 'stdout' }, TypeError, 'logger must be a function; got "stdout"'],
    [{ clock: { now: () => 0 } }, TypeError, 'clock.setTimeout must be a function; got undefined'],
    [{ openBackoff: { maxMs: 10 }, recoveryTimeoutMs: 100 }, RangeError, 'openBackoff.maxMs must be >= recoveryTimeoutMs (100); got 10'],
    [{ openBackoff: { maxMs: 100_000, multiplier: 1 } }, RangeError, 'openBackoff.multiplier must be a number > 1 and <= 1000; got 1'],
    [{ openBackoff: { maxMs: 100_000, jitter: 2 } }, RangeError, 'openBackoff.jitter must be a number >= 0 and <= 1; got 2'],
    [
      { failureThreshold: 3, failurePolicy: { type: 'consecutive', threshold: 3 } },
      TypeError,
      'failureThreshold and failurePolicy are exclusive',
    ],
    [{ failurePolicy: { type: 'sliding' } }, RangeError, 'failurePolicy.type must be one of "consecutive", "count-window", "time-window"; got "sliding"'],
    [countWindow({ minimumCalls: 20 }), RangeError, 'failurePolicy.minimumCalls must be <= failurePolicy.size (10); got 20'],
    [countWindow({ failureRateThreshold: 0 }), RangeError, 'failurePolicy.failureRateThreshold must be a number > 0 and <= 1; got 0'],
    [countWindow({ failureRateThreshold: 50 }), RangeError, 'failurePolicy.failureRateThreshold must be a number > 0 and <= 1; got 50'],
    [timeWindow({ windowMs: 0 }), RangeError, 'failurePolicy.windowMs must be a number >= 1'],
    [timeWindow({ slowCallDurationMs: 100 }), TypeError, 'slowCallDurationMs and failurePolicy.slowCallRateThreshold go together'],
  ])('%j', (options, type, message) => {
    expect(make(options)).toThrow(type);
    expect(make(options)).toThrow(message);
  });

  it('rejects an empty name', () => {
    expect(() => new CircuitBreaker('', {})).toThrow('circuit breaker name must be a non-empty string; got ""');
  });

  it('rejects options that are not an object', () => {
    expect(() => resolveOptions(5 as never)).toThrow('circuit breaker options must be an object; got 5');
  });
});

describe('classes versus predicates in expectedError', () => {
  it('treats built-in and user error classes as classes and plain functions as predicates', async () => {
    class Mine extends Error {}
    function isRetryable(error: unknown) {
      return (error as Error).message === 'retry';
    }
    for (const [expected, error, counted] of [
      [TypeError, new TypeError(), true],
      [Mine, new Mine(), true],
      [Mine, new Error(), false],
      [isRetryable, new Error('retry'), true],
      [isRetryable, new Error('other'), false],
    ] as const) {
      expect(resolveOptions({ expectedError: expected }).classifyError(error)).toBe(counted ? 'failure' : 'ignored');
    }
  });
});

describe('firstDifference', () => {
  it('is undefined for equal configurations, whatever the key order of a policy', () => {
    const a = resolveOptions({ failurePolicy: { type: 'count-window', size: 10, minimumCalls: 5, failureRateThreshold: 0.5 } });
    const b = resolveOptions({ failurePolicy: { failureRateThreshold: 0.5, minimumCalls: 5, size: 10, type: 'count-window' } });
    expect(firstDifference(a, b)).toBeUndefined();
    expect(firstDifference(resolveOptions({}), resolveOptions({ failureThreshold: 5 }))).toBeUndefined();
  });

  it('names the first differing option', () => {
    expect(firstDifference(resolveOptions({}), resolveOptions({ timeoutMs: 5 }))).toBe('timeoutMs');
    expect(firstDifference(resolveOptions({}), resolveOptions({ failureThreshold: 2 }))).toBe('failurePolicy');
    expect(firstDifference(resolveOptions({ expectedError: TypeError }), resolveOptions({ expectedError: RangeError }))).toBe(
      'expectedError',
    );
  });
});

describe('null, 0 and empty values never mean "default"', () => {
  it.each(CIRCUIT_BREAKER_OPTION_NAMES.map((name) => [name]))('%s: null is refused, naming the option and what it accepts', (name) => {
    const attempt = make({ [name]: null });
    expect(attempt).toThrow(TypeError);
    expect(attempt).toThrow(new RegExp(`^${name} must be .+; got null \\(leave the option out, or pass undefined, for its default\\)$`));
  });

  it('timeoutMs: null does not quietly mean 30 s (the reported case)', () => {
    expect(make({ timeoutMs: null })).toThrow('timeoutMs must be a duration in ms (0 turns the timeout off); got null');
  });

  it.each([
    [{ failurePolicy: '' }, 'failurePolicy must be an object with a type; got ""'],
    [{ failurePolicy: 0 }, 'failurePolicy must be an object with a type; got 0'],
    [{ failurePolicy: false }, 'failurePolicy must be an object with a type; got false'],
    [{ timeoutMs: '' }, 'timeoutMs must be a number >= 0 and <= 2147483647; got ""'],
    [{ failureThreshold: '' }, 'failureThreshold must be an integer >= 1; got ""'],
    [{ openBackoff: { maxMs: 100_000, multiplier: null } }, 'openBackoff.multiplier must be a number > 1 and <= 1000; got null'],
    [{ openBackoff: { maxMs: 100_000, jitter: null } }, 'openBackoff.jitter must be a number >= 0 and <= 1; got null'],
    [{ openBackoff: { maxMs: 100_000, multiplier: 0 } }, 'openBackoff.multiplier must be a number > 1 and <= 1000; got 0'],
    [{ failurePolicy: { type: 'time-window', windowMs: 1000, minimumCalls: 5, failureRateThreshold: 0.5, buckets: null } }, 'failurePolicy.buckets must be an integer from 1 to 10000; got null'],
    [{ failurePolicy: { type: 'consecutive', threshold: null } }, 'failurePolicy.threshold must be an integer >= 1; got null'],
  ])('%j', (options, message) => {
    expect(make(options)).toThrow(message);
  });

  it('0 keeps its documented meaning where it has one, and is refused elsewhere', () => {
    expect(new CircuitBreaker('x', { timeoutMs: 0, logger: false }).options.timeoutMs).toBe(0); // off
    expect(new CircuitBreaker('x', { recoveryTimeoutMs: 0, logger: false }).options.recoveryTimeoutMs).toBe(0); // probe at once
    // With both off, the half-open max wait falls back to 60 s (documented), not to 0.
    expect(new CircuitBreaker('x', { timeoutMs: 0, recoveryTimeoutMs: 0, logger: false }).options.halfOpenMaxWaitMs).toBe(60_000);
    for (const name of ['failureThreshold', 'halfOpenMaxCalls', 'successThreshold', 'halfOpenMaxWaitMs']) {
      expect(make({ [name]: 0 }), name).toThrow(RangeError);
    }
  });

  it('execute options: null and a signal that is not an AbortSignal are refused before anything runs', async () => {
    const breaker = new CircuitBreaker('x', { logger: false, timeoutMs: 0 });
    let ran = 0;
    expect(() => breaker.execute(() => ran++, null as never)).toThrow('execute options must be an object { signal? }; got null');
    expect(() => breaker.execute(() => ran++, { signal: null as never })).toThrow(
      'execute options: signal must be an AbortSignal or undefined; got null',
    );
    expect(() => breaker.execute(() => ran++, { signal: {} as never })).toThrow('signal must be an AbortSignal or undefined; got {}');
    expect(ran).toBe(0);
    expect(breaker.getStats()).toMatchObject({ total_calls: 0, in_flight: 0 });
  });
});
