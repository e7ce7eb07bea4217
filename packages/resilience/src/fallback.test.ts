import { CircuitBreaker, CircuitBreakerRegistry, markTransient, type PolicyEvent } from '@phlow/circuit-breaker';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { FallbackExhaustedError } from './errors.js';
import { fallback } from './fallback.js';

describe('fallback', () => {
  it("answers from the first tier that succeeds and says why the others did not (the guide's primary → backup → cache)", async () => {
    const registry = new CircuitBreakerRegistry();
    const events: PolicyEvent[] = [];
    registry.onPolicyEvent((e) => events.push(e));
    const primary = new CircuitBreaker('primary', { failureThreshold: 1, logger: false });
    await primary.execute(() => Promise.reject(new Error('down'))).catch(() => {});
    const chain = fallback(
      { name: 'chain', registry },
      { name: 'primary', run: () => primary.execute(() => 'fresh') },
      { name: 'backup', run: () => markTransient({ data: null, error: { message: 'unavailable' }, status: 503 }) },
      { name: 'cache', run: () => 'cached' },
    );
    const result = await chain.execute();
    expect(result.value).toBe('cached');
    expect(result.tier).toBe('cache');
    expect(result.tierIndex).toBe(2);
    expect(result.skipped.map((s) => [s.tier, s.reason])).toEqual([['primary', 'rejected'], ['backup', 'result']]);
    expect(events).toEqual([expect.objectContaining({ type: 'fallback', policy: 'chain', tier: 'cache', tierIndex: 2, skipped: [{ tier: 'primary', reason: 'rejected' }, { tier: 'backup', reason: 'result' }] })]);
  });

  it('answers from the primary without an event', async () => {
    const registry = new CircuitBreakerRegistry();
    const events: PolicyEvent[] = [];
    registry.onPolicyEvent((e) => events.push(e));
    const result = await fallback({ registry }, { name: 'a', run: () => 1 }, { name: 'b', run: () => 2 }).execute();
    expect(result).toEqual({ value: 1, tier: 'a', tierIndex: 0, skipped: [] });
    expect(events).toEqual([]);
  });

  it('rejects with FallbackExhaustedError listing every failure when no tier answers', async () => {
    const error = await fallback({ name: 'a', run: () => { throw new Error('x'); } }, { name: 'b', run: () => Promise.reject(new Error('y')) })
      .execute()
      .catch((e: unknown) => e);
    expect(FallbackExhaustedError.isInstance(error)).toBe(true);
    expect((error as FallbackExhaustedError).failures.map((f) => [f.tier, f.reason, (f.failure as Error).message])).toEqual([['a', 'error', 'x'], ['b', 'error', 'y']]);
  });

  it('passes an error the classifier keeps, and the caller\'s abort, straight to the caller', async () => {
    const bug = new TypeError('bug');
    let backupRan = false;
    const chain = fallback({ fallThroughOn: (e) => !(e instanceof TypeError) }, { name: 'a', run: () => { throw bug; } }, { name: 'b', run: () => { backupRan = true; return 1; } });
    await expect(chain.execute()).rejects.toBe(bug);
    expect(backupRan).toBe(false);
    const controller = new AbortController();
    const reason = new Error('left');
    const aborting = fallback({ name: 'a', run: () => { controller.abort(reason); throw reason; } }, { name: 'b', run: () => { backupRan = true; return 1; } });
    await expect(aborting.execute({ signal: controller.signal })).rejects.toBe(reason);
    expect(backupRan).toBe(false);
  });

  it('a classifier that throws lets errors fall through and keeps results', async () => {
    const chain = fallback({ fallThroughOn: () => { throw new Error('classifier bug'); } }, { name: 'a', run: () => { throw new Error('x'); } }, { name: 'b', run: () => 'b' });
    await expect(chain.execute()).resolves.toMatchObject({ tier: 'b', value: 'b' });
  });

  it('validates its tiers', () => {
    expect(() => fallback()).toThrow('fallback needs at least one tier');
    expect(() => fallback({ name: 'a', run: () => 1 }, { name: 'a', run: () => 2 })).toThrow('tier names must be unique');
    expect(() => fallback({ name: '', run: () => 1 })).toThrow('fallback: tier 0 must be');
  });
});

describe('fallback input', () => {
  it('hands each tier the call\'s input, typed from the tiers', async () => {
    const lastKnown = new Map([['planner', 'http://10.0.0.7:41241']]);
    const findPeer = fallback(
      { name: 'registry', run: (_context, peer: string): Promise<string> => Promise.reject(new Error(`registry down looking up ${peer}`)) },
      { name: 'last-known', run: (_context, peer: string) => lastKnown.get(peer) ?? Promise.reject(new Error('unknown peer')) },
    );
    const result = await findPeer.execute({ input: 'planner' });
    expectTypeOf(result.value).toEqualTypeOf<string>();
    expect(result).toMatchObject({ value: 'http://10.0.0.7:41241', tier: 'last-known', skipped: [{ tier: 'registry', reason: 'error' }] });
    // @ts-expect-error the tiers need an input
    await expect(findPeer.execute()).rejects.toBeInstanceOf(FallbackExhaustedError);
  });
});
