import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './circuit-breaker.js';
import { firstDifference, resolveOptions } from './options.js';

const make = (options: object) => () => new CircuitBreaker('x', options as never);

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
    [
      { failurePolicy: { type: 'count-window', size: 10, minimumCalls: 20, failureRateThreshold: 0.5 } },
      RangeError,
      'failurePolicy.minimumCalls must be <= failurePolicy.size (10); got 20',
    ],
    [
      { failurePolicy: { type: 'count-window', size: 10, minimumCalls: 5, failureRateThreshold: 0 } },
      RangeError,
      'failurePolicy.failureRateThreshold must be a number > 0 and <= 1; got 0',
    ],
    [
      { failurePolicy: { type: 'count-window', size: 10, minimumCalls: 5, failureRateThreshold: 50 } },
      RangeError,
      'failurePolicy.failureRateThreshold must be a number > 0 and <= 1; got 50',
    ],
    [
      { failurePolicy: { type: 'time-window', windowMs: 0, minimumCalls: 5, failureRateThreshold: 0.5 } },
      RangeError,
      'failurePolicy.windowMs must be a number >= 1',
    ],
    [
      { failurePolicy: { type: 'time-window', windowMs: 1000, minimumCalls: 5, failureRateThreshold: 0.5, slowCallDurationMs: 100 } },
      TypeError,
      'slowCallDurationMs and failurePolicy.slowCallRateThreshold go together',
    ],
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
