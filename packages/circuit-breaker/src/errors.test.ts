import { describe, expect, it } from 'vitest';
import { CircuitBreakerError, CircuitFamilyFullError, CircuitOpenError, CircuitTimeoutError } from './errors.js';
import * as api from './index.js';
import { ManualClock } from './manual-clock.js';

const clock = new ManualClock();
const samples = {
  CircuitBreakerError: new CircuitBreakerError('dep', 'generic'),
  CircuitOpenError: new CircuitOpenError('dep', 'open', null, clock),
  CircuitTimeoutError: new CircuitTimeoutError('dep', 100),
  CircuitFamilyFullError: new CircuitFamilyFullError('peers', 'k', 1, null, clock),
};
const classes = { CircuitBreakerError, CircuitOpenError, CircuitTimeoutError, CircuitFamilyFullError };
const subclasses = Object.entries(classes).filter(([name]) => name !== 'CircuitBreakerError');

/** What another copy of the package would produce: same markers, different classes. */
function foreignCopy(error: Error): object {
  return Object.create(Object.getPrototypeOf(error), Object.getOwnPropertyDescriptors(error));
}

describe('each error class recognises its own errors and no other', () => {
  it('every exported error class has an isInstance of its own', () => {
    const exported = Object.entries(api).filter(([, value]) => typeof value === 'function' && value.prototype instanceof Error);
    expect(exported.map(([name]) => name).sort()).toEqual(Object.keys(classes).sort());
    for (const [name, cls] of exported) expect(Object.hasOwn(cls, 'isInstance'), name).toBe(true);
  });

  it.each(subclasses)('%s.isInstance accepts only its own class', (name, cls) => {
    for (const [otherName, error] of Object.entries(samples)) {
      expect(cls.isInstance(error), `${name}.isInstance(${otherName})`).toBe(otherName === name);
    }
  });

  it('every subclass is still a CircuitBreakerError, by isInstance and instanceof', () => {
    for (const error of Object.values(samples)) {
      expect(CircuitBreakerError.isInstance(error)).toBe(true);
      expect(error).toBeInstanceOf(CircuitBreakerError);
    }
  });

  it('plain errors and look-alikes are nobody’s', () => {
    const lookAlike = Object.assign(new Error('Circuit breaker dep is open'), { name: 'CircuitOpenError', state: 'open' });
    for (const cls of Object.values(classes)) {
      for (const value of [new Error('x'), lookAlike, null, undefined, 'CircuitOpenError', {}]) expect(cls.isInstance(value)).toBe(false);
    }
  });

  it('markers survive a copy of the error made elsewhere (duplicate package copies)', () => {
    const copy = foreignCopy(samples.CircuitFamilyFullError);
    expect(CircuitFamilyFullError.isInstance(copy)).toBe(true);
    expect(CircuitOpenError.isInstance(copy)).toBe(false);
  });

  it('CircuitFamilyFullError carries when to retry', () => {
    const error = new CircuitFamilyFullError('peers', 'k', 1, clock.now() + 5_000, clock);
    expect(error.retryAfterMs).toBe(5_000);
    expect(error.toJSON()).toMatchObject({ key: 'k', maxKeys: 1, retryAfterMs: 5_000 });
  });
});
