import { CircuitBreakerError, CircuitFamilyFullError, CircuitOpenError, CircuitTimeoutError, ManualClock } from '@phlow/circuit-breaker';
import { describe, expect, it } from 'vitest';
import { A2aStreamIdleTimeoutError } from './errors.js';

/** One instance of every error class a caller may meet through a protected A2A client. */
const errors = {
  CircuitBreakerError: new CircuitBreakerError('a2a/p', 'base'),
  CircuitOpenError: new CircuitOpenError('a2a/p', 'open', 1_000, new ManualClock()),
  CircuitTimeoutError: new CircuitTimeoutError('a2a/p', 20_000),
  CircuitFamilyFullError: new CircuitFamilyFullError('a2a', 'p', 1),
  A2aStreamIdleTimeoutError: new A2aStreamIdleTimeoutError('a2a/p', 20_000, 2),
} as const;
type Name = keyof typeof errors;
const names = Object.keys(errors) as Name[];
const classes: Record<Name, { isInstance(value: unknown): boolean }> = {
  CircuitBreakerError,
  CircuitOpenError,
  CircuitTimeoutError,
  CircuitFamilyFullError,
  A2aStreamIdleTimeoutError,
};

describe('A2aStreamIdleTimeoutError.isInstance recognises its own errors only', () => {
  it.each(names.filter((name) => name !== 'A2aStreamIdleTimeoutError'))('not a %s', (name) => {
    expect(A2aStreamIdleTimeoutError.isInstance(errors[name])).toBe(false);
  });

  it('nor lookalikes without the marker: a plain Error named like it, null, a string', () => {
    const impostor = Object.assign(new Error('no event'), { name: 'A2aStreamIdleTimeoutError', idleTimeoutMs: 1, eventsReceived: 0, breakerName: 'x' });
    expect(A2aStreamIdleTimeoutError.isInstance(impostor)).toBe(false);
    expect(A2aStreamIdleTimeoutError.isInstance(null)).toBe(false);
    expect(A2aStreamIdleTimeoutError.isInstance('A2aStreamIdleTimeoutError')).toBe(false);
  });

  it('but its own, also from another copy of the package (same Symbol.for marker, different class)', () => {
    expect(A2aStreamIdleTimeoutError.isInstance(errors.A2aStreamIdleTimeoutError)).toBe(true);
    class OtherCopy extends Error {}
    Object.defineProperty(OtherCopy.prototype, Symbol.for('phlow.a2a.stream-idle-timeout-error'), { value: true });
    const fromOtherCopy = new OtherCopy('idle');
    expect(fromOtherCopy).not.toBeInstanceOf(A2aStreamIdleTimeoutError);
    expect(A2aStreamIdleTimeoutError.isInstance(fromOtherCopy)).toBe(true);
  });
});

describe("the core's error classes and the idle timeout do not recognise each other", () => {
  it.each(names.filter((name) => name !== 'A2aStreamIdleTimeoutError' && name !== 'CircuitBreakerError'))('%s.isInstance(idle timeout) is false', (name) => {
    expect(classes[name].isInstance(errors.A2aStreamIdleTimeoutError)).toBe(false);
  });

  it('CircuitBreakerError.isInstance(idle timeout) is true: the guide fallback catches it', () => {
    expect(CircuitBreakerError.isInstance(errors.A2aStreamIdleTimeoutError)).toBe(true);
    expect(errors.A2aStreamIdleTimeoutError).toBeInstanceOf(CircuitBreakerError);
  });
});

it('serialises what a log needs', () => {
  expect(JSON.parse(JSON.stringify(errors.A2aStreamIdleTimeoutError))).toEqual({
    name: 'A2aStreamIdleTimeoutError',
    message: 'A2A stream through a2a/p received no event for 20000 ms (after 2 events); request aborted',
    breakerName: 'a2a/p',
    idleTimeoutMs: 20_000,
    eventsReceived: 2,
  });
});
