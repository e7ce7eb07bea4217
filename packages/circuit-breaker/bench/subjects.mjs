// The things the bench compares, each built the way its own docs recommend. Every subject is
// `(fn) => Promise` around the same async no-op, so the only difference is the library.
import { CircuitBreaker } from '../dist/index.js';

const THIRTY_SECONDS = 30_000;

export async function makeSubject(name, fn) {
  switch (name) {
    case 'bare':
      return () => fn();
    case 'phlow': {
      const breaker = new CircuitBreaker('bench', { timeoutMs: 0, logger: false });
      return () => breaker.execute(fn);
    }
    case 'phlow+timeout': {
      const breaker = new CircuitBreaker('bench', { timeoutMs: THIRTY_SECONDS, logger: false });
      return () => breaker.execute(fn);
    }
    case 'opossum': {
      const { default: Opossum } = await import('opossum');
      const breaker = new Opossum(fn, { timeout: false });
      return () => breaker.fire();
    }
    case 'opossum+timeout': {
      const { default: Opossum } = await import('opossum');
      const breaker = new Opossum(fn, { timeout: THIRTY_SECONDS });
      return () => breaker.fire();
    }
    case 'cockatiel': {
      const { circuitBreaker, handleAll, ConsecutiveBreaker } = await import('cockatiel');
      const policy = circuitBreaker(handleAll, { halfOpenAfter: 60_000, breaker: new ConsecutiveBreaker(5) });
      return () => policy.execute(fn);
    }
    case 'cockatiel+timeout': {
      const { circuitBreaker, handleAll, ConsecutiveBreaker, timeout, wrap, TimeoutStrategy } = await import('cockatiel');
      const policy = wrap(
        timeout(THIRTY_SECONDS, TimeoutStrategy.Cooperative),
        circuitBreaker(handleAll, { halfOpenAfter: 60_000, breaker: new ConsecutiveBreaker(5) }),
      );
      return () => policy.execute(fn);
    }
    default:
      throw new RangeError(`unknown subject ${name}`);
  }
}

/** A subject whose breaker is open, so every call is rejected without running. */
export async function makeOpenSubject(name, fn) {
  const failing = () => Promise.reject(new Error('down'));
  switch (name) {
    case 'phlow': {
      const breaker = new CircuitBreaker('bench', { timeoutMs: 0, logger: false, failureThreshold: 1 });
      await breaker.execute(failing).catch(() => {});
      return () => breaker.execute(fn);
    }
    case 'opossum': {
      const { default: Opossum } = await import('opossum');
      const breaker = new Opossum(fn, { timeout: false, resetTimeout: 3_600_000 });
      breaker.open();
      return () => breaker.fire();
    }
    case 'cockatiel': {
      const { circuitBreaker, handleAll, ConsecutiveBreaker } = await import('cockatiel');
      const policy = circuitBreaker(handleAll, { halfOpenAfter: 3_600_000, breaker: new ConsecutiveBreaker(1) });
      await policy.execute(failing).catch(() => {});
      return () => policy.execute(fn);
    }
    default:
      throw new RangeError(`unknown subject ${name}`);
  }
}

/** Creates one idle breaker (never called). */
export async function idleFactory(name) {
  switch (name) {
    case 'phlow':
      return (i) => new CircuitBreaker(`idle-${i}`, { logger: false });
    case 'opossum': {
      const { default: Opossum } = await import('opossum');
      return () => new Opossum(async () => {});
    }
    case 'cockatiel': {
      const { circuitBreaker, handleAll, ConsecutiveBreaker } = await import('cockatiel');
      return () => circuitBreaker(handleAll, { halfOpenAfter: 60_000, breaker: new ConsecutiveBreaker(5) });
    }
    default:
      throw new RangeError(`unknown subject ${name}`);
  }
}
