import { CircuitBreakerRegistry, CircuitTimeoutError } from '@phlow/circuit-breaker';
import { afterEach, describe, expect, it } from 'vitest';
import { adaptiveLimit } from './adaptive-limit.js';
import { bulkhead } from './bulkhead.js';
import { type LoopbackServer, startLoopbackServer } from './loopback-server.test-util.js';

describe('adaptiveLimit', () => {
  it('AIMD: +1 per sample while in use, × backoffRatio on a drop, never outside [min, max]', () => {
    const limit = adaptiveLimit({ algorithm: 'aimd', initialLimit: 10, minLimit: 2, maxLimit: 12, backoffRatio: 0.5, latencyThresholdMs: 100 });
    limit.sample(10, 10, false);
    expect(limit.limit).toBe(11);
    limit.sample(10, 1, false); // idle caller: no growth
    expect(limit.limit).toBe(11);
    for (let i = 0; i < 5; i++) limit.sample(10, 12, false);
    expect(limit.limit).toBe(12);
    limit.sample(150, 12, false); // slower than the threshold: a drop
    expect(limit.limit).toBe(6);
    for (let i = 0; i < 10; i++) limit.sample(1, 6, true);
    expect(limit.limit).toBe(2);
  });

  it('gradient: shrinks while calls get slower than the no-load latency, grows back when they speed up', () => {
    const limit = adaptiveLimit({ initialLimit: 50, maxLimit: 100, minRttWindow: 1_000_000 });
    const changes: number[] = [];
    limit.onLimitChange((value) => changes.push(value));
    limit.sample(10, 50, false); // the no-load latency
    // A dependency whose latency is 10 ms up to 10 calls at once and grows linearly beyond: the knee is 10.
    const latency = (inFlight: number) => 10 * Math.max(1, inFlight / 10);
    for (let i = 0; i < 500; i++) limit.sample(latency(limit.limit), limit.limit, false);
    expect(limit.limit).toBeGreaterThanOrEqual(10);
    expect(limit.limit).toBeLessThanOrEqual(25);
    const settled = limit.limit;
    for (let i = 0; i < 500; i++) limit.sample(10, limit.limit, false);
    expect(limit.limit).toBe(100);
    expect(changes.length).toBeGreaterThan(0);
    expect(settled).toBeLessThan(50);
  });

  it('ignores hostile samples (NaN, negative, Infinity)', () => {
    const limit = adaptiveLimit({ initialLimit: 20 });
    for (const bad of [Number.NaN, -1, Infinity]) limit.sample(bad, 20, false);
    expect(limit.limit).toBe(20);
  });

  it('validates its options', () => {
    expect(() => adaptiveLimit({ algorithm: 'vegas' as never })).toThrow('adaptiveLimit: algorithm must be one of');
    expect(() => adaptiveLimit({ minLimit: 5, maxLimit: 4 })).toThrow('adaptiveLimit: maxLimit');
    expect(() => adaptiveLimit({ initialLimit: 0 })).toThrow('adaptiveLimit: initialLimit');
    expect(() => adaptiveLimit({ backoffRatio: 1 })).toThrow('backoffRatio');
    expect(() => adaptiveLimit({ smoothing: 0 })).toThrow('adaptiveLimit: smoothing');
  });

  describe('as a bulkhead in front of a real HTTP server whose latency rises with concurrency', () => {
    let server: LoopbackServer | undefined;
    afterEach(async () => {
      await server?.close();
      server = undefined;
    });

    it('converges near the knee, and recovers when latency falls', async () => {
      // Long enough that this machine's own CPU time per call (shared with other test files) is small beside it.
      const baseMs = 50;
      let knee = 8;
      server = await startLoopbackServer(async (_request, response, active) => {
        // Up to `knee` requests at once are served in baseMs; beyond it they queue for the same resource.
        await new Promise((resolve) => setTimeout(resolve, baseMs * Math.max(1, active / knee)));
        response.end('ok');
      });
      // Started below the knee, as in production (it learns the no-load latency from its first calls).
      // tolerance 1.2: settle closer to the knee than the default 1.5 (which settles near 2 × the knee).
      const limit = adaptiveLimit({ initialLimit: 4, maxLimit: 64, tolerance: 1.2 });
      const bulk = bulkhead({ maxConcurrent: limit, maxQueue: 1_000, registry: new CircuitBreakerRegistry() });
      const url = server.url;
      const drive = async (callers: number, callsEach: number) => {
        await Promise.all(
          Array.from({ length: callers }, async () => {
            for (let i = 0; i < callsEach; i++) {
              await bulk.execute(async ({ signal }) => (await fetch(url, { signal })).text());
            }
          }),
        );
      };
      await drive(64, 12);
      const atKnee = limit.limit;
      console.log(`adaptive limit with the knee at ${knee}: ${atKnee}`);
      expect(atKnee).toBeGreaterThanOrEqual(knee / 2);
      expect(atKnee).toBeLessThanOrEqual(knee * 3);
      knee = 1_000; // the dependency no longer slows down under load
      await drive(64, 12);
      console.log(`adaptive limit once latency fell: ${limit.limit}`);
      // It grows until the client itself (this process, its event loop) adds latency: well past the old knee.
      expect(limit.limit).toBeGreaterThan(atKnee);
      expect(limit.limit).toBeGreaterThanOrEqual(3 * 8);
      expect(bulk.inFlight).toBe(0);
    });

    it('counts a breaker timeout as a drop', () => {
      const limit = adaptiveLimit({ algorithm: 'aimd', initialLimit: 10 });
      void CircuitTimeoutError;
      limit.sample(1, 10, true);
      expect(limit.limit).toBe(9);
    });
  });
});
