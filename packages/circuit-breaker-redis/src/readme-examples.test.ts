import { CircuitBreaker, CircuitBreakerRegistry, CircuitOpenError } from '@phlow/circuit-breaker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStateStore } from './index.js';
import { RedisServer } from './redis-server.test-util.js';

// The README's examples, kept compiling and running against a redis-server of our own.
let server: RedisServer;
let REDIS_URL: string;
beforeAll(async () => {
  server = await RedisServer.start();
  REDIS_URL = server.url;
});
afterAll(async () => {
  await server.kill();
});

describe('README examples', () => {
  it('Usage: one breaker shared by every replica', async () => {
    // --- README: usage ---
    const store = new RedisStateStore({ redis: REDIS_URL, halfOpenMaxProbes: 1 });
    store.onDegraded(({ reason }) => console.warn(`breaker state store degraded (${reason}): deciding locally`));

    const payments = new CircuitBreaker('payments', {
      failureThreshold: 5, // counted across every replica
      recoveryTimeoutMs: 30_000,
      halfOpenMaxCalls: 1, // per replica; halfOpenMaxProbes above caps the fleet
      stateStore: store,
      logger: false,
    });

    const charge = await payments.execute(async ({ signal }) => {
      signal.throwIfAborted();
      return { id: 'ch_1', status: 'succeeded' };
    });

    // On shutdown:
    payments.dispose();
    await store.close();
    // --- end ---
    expect(charge.status).toBe('succeeded');
  });

  it('Usage: a registry whose breakers all share state', async () => {
    // --- README: registry ---
    const store = new RedisStateStore({ redis: REDIS_URL, keyPrefix: 'agent-a:cb' });
    const registry = new CircuitBreakerRegistry({ stateStore: store, logger: false });
    const did = registry.getBreaker('did_resolution', { failureThreshold: 5, recoveryTimeoutMs: 60_000 });
    const tenants = registry.getFamily('supabase', { failureThreshold: 3 }); // members: "supabase/<key>"
    await store.ready(); // optional: wait until Redis answered before taking traffic
    // --- end ---
    await store.reconcile();
    const tenant = tenants.get('tenant-42');
    tenant.forceOpen();
    await expect(tenant.execute(() => 'x')).rejects.toBeInstanceOf(CircuitOpenError);
    expect(await did.execute(() => 'resolved')).toBe('resolved');
    did.dispose();
    tenant.dispose();
    await store.close();
  });
});
