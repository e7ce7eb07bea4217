import { CircuitBreaker, CircuitBreakerRegistry } from '@phlow/circuit-breaker';
import { FaultProxy } from '@phlow/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LoopbackServer, startLoopbackServer } from './loopback-server.test-util.js';
import { pipeline } from './pipeline.js';
import { retry } from './retry.js';
import { type RetryBudget, retryBudget } from './retry-budget.js';

/** A repeatable source of randomness (a 32-bit LCG), so the brownout fails the same requests each run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const CALLERS = 100;
const CALLS_EACH = 20;

describe('retry budget under a brownout (FaultProxy: 50 % of requests answered 503), 100 concurrent callers, breaker disabled', () => {
  let server: LoopbackServer;
  let proxy: FaultProxy;

  beforeAll(async () => {
    server = await startLoopbackServer((_request, response) => {
      response.end('ok');
    });
    proxy = new FaultProxy({ target: server.url, control: false, random: seeded(42) });
    await proxy.start();
    await proxy.setFaults({ errorStatus: { status: 503, rate: 0.5 } });
  });

  afterAll(async () => {
    await proxy.stop();
    await server.close();
  });

  /** Runs the callers; returns the requests that reached the dependency per request of the callers. */
  async function load(budget: RetryBudget | undefined): Promise<number> {
    proxy.resetStats();
    const registry = new CircuitBreakerRegistry();
    // The breaker is there, as in production, but disabled: only the retries and the budget shape the load.
    const breaker = new CircuitBreaker('brownout', { logger: false });
    breaker.disable();
    const policy = pipeline(retry({ registry, maxAttempts: 3, budget, backoff: { initialDelayMs: 1, maxDelayMs: 10 } }), breaker);
    const url = proxy.url;
    await Promise.all(
      Array.from({ length: CALLERS }, async () => {
        for (let i = 0; i < CALLS_EACH; i++) {
          const response = await policy.execute(({ signal }) => fetch(url, { signal }));
          await response.arrayBuffer();
        }
      }),
    );
    return proxy.stats().requests.received / (CALLERS * CALLS_EACH);
  }

  it('keeps the load within 1.2 × the callers\' own requests with a budget (and shows it without one)', async () => {
    const without = await load(undefined);
    const withBudget = await load(retryBudget({ ratio: 0.1, minRetriesPerSecond: 10, windowMs: 10_000 }));
    console.log(`requests reaching the dependency per caller request: ${without.toFixed(3)} without a budget, ${withBudget.toFixed(3)} with one`);
    expect(withBudget).toBeLessThanOrEqual(1.2);
    // Without a budget every failed call is repeated: 1 + 0.5 + 0.25 expected with three attempts.
    expect(without).toBeGreaterThan(1.5);
  });
});
