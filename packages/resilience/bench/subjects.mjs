// What the bench compares, each built the way its own docs recommend. Every subject is `() => Promise`
// around the same async no-op, so the only difference is the library.
import { CircuitBreaker } from '@phlow/circuit-breaker';
import { bulkhead, pipeline, retry, retryBudget } from '../dist/index.js';

const SLOTS = 10_000; // more than the calls in flight: the bulkhead admits every call (the closed path)

export async function makeSubject(name, fn) {
  switch (name) {
    case 'bare':
      return () => fn();
    case 'breaker': {
      const breaker = new CircuitBreaker('bench', { timeoutMs: 0, logger: false });
      return () => breaker.execute(fn);
    }
    case 'phlow': {
      const breaker = new CircuitBreaker('bench', { timeoutMs: 0, logger: false });
      const policy = pipeline(bulkhead({ maxConcurrent: SLOTS }), retry({ maxAttempts: 3 }), breaker);
      return () => policy.execute(fn);
    }
    case 'phlow+budget': {
      const breaker = new CircuitBreaker('bench', { timeoutMs: 0, logger: false });
      const policy = pipeline(bulkhead({ maxConcurrent: SLOTS }), retry({ maxAttempts: 3, budget: retryBudget() }), breaker);
      return () => policy.execute(fn);
    }
    case 'phlow+observed': {
      // Someone listens to policy events: each admitted call reports two bulkhead events and one attempt.
      const { CircuitBreakerRegistry } = await import('@phlow/circuit-breaker');
      const registry = new CircuitBreakerRegistry();
      registry.onPolicyEvent(() => {});
      const breaker = new CircuitBreaker('bench', { timeoutMs: 0, logger: false });
      const policy = pipeline(bulkhead({ maxConcurrent: SLOTS, registry }), retry({ maxAttempts: 3, registry }), breaker);
      return () => policy.execute(fn);
    }
    case 'cockatiel': {
      const { bulkhead: cBulkhead, circuitBreaker, ConsecutiveBreaker, ExponentialBackoff, handleAll, retry: cRetry, wrap } = await import('cockatiel');
      const policy = wrap(
        cBulkhead(SLOTS),
        // cockatiel's maxAttempts counts retries: 2 retries = 3 attempts, as our maxAttempts: 3.
        cRetry(handleAll, { maxAttempts: 2, backoff: new ExponentialBackoff() }),
        circuitBreaker(handleAll, { halfOpenAfter: 60_000, breaker: new ConsecutiveBreaker(5) }),
      );
      return () => policy.execute(fn);
    }
    default:
      throw new RangeError(`unknown subject ${name}`);
  }
}
