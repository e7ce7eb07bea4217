import { CircuitBreakerRegistry } from '@phlow/circuit-breaker';
import { describe, expect, it } from 'vitest';
import { bulkheadFamily } from './bulkhead-family.js';
import { BulkheadRejectedError } from './errors.js';

describe('bulkheadFamily', () => {
  it('gives each key its own bulkhead, named family/key', async () => {
    const peers = bulkheadFamily({ name: 'peer', maxConcurrent: 1, registry: new CircuitBreakerRegistry() });
    let release!: () => void;
    const planner = peers.execute('planner', () => new Promise<void>((resolve) => (release = resolve)));
    // planner is full; billing is not held up by it.
    await expect(peers.execute('billing', () => 'billed')).resolves.toBe('billed');
    const rejected = await peers.execute('planner', () => 'never').catch((e: unknown) => e);
    expect(rejected).toMatchObject({ policy: 'peer/planner', reason: 'full' });
    release();
    await planner;
    expect(peers.get('planner')!.name).toBe('peer/planner');
  });

  it('stays within maxKeys under a flood of new keys: idle members make room, busy ones are kept', async () => {
    const peers = bulkheadFamily({ name: 'peer', maxConcurrent: 1, maxKeys: 3, registry: new CircuitBreakerRegistry() });
    let release!: () => void;
    const busy = peers.execute('regular', () => new Promise<void>((resolve) => (release = resolve)));
    for (let i = 0; i < 10_000; i++) await peers.execute(`one-off-${i}`, () => i);
    expect(peers.size).toBe(3);
    expect(peers.get('regular')!.inFlight).toBe(1); // never evicted while busy
    release();
    await busy;
  });

  it('rejects a new key when every member is busy', async () => {
    const peers = bulkheadFamily({ name: 'peer', maxConcurrent: 1, maxKeys: 1, registry: new CircuitBreakerRegistry() });
    let release!: () => void;
    const busy = peers.execute('a', () => new Promise<void>((resolve) => (release = resolve)));
    const error = await peers.execute('b', () => 'never').catch((e: unknown) => e);
    expect(BulkheadRejectedError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ policy: 'peer/b', reason: 'full' });
    release();
    await busy;
    await expect(peers.execute('b', () => 'now')).resolves.toBe('now');
  });

  it('validates its options at once', () => {
    expect(() => bulkheadFamily({ maxConcurrent: 0 })).toThrow('bulkheadFamily: maxConcurrent');
    expect(() => bulkheadFamily({ maxConcurrent: 1, maxKeys: 0 })).toThrow('bulkheadFamily: maxKeys');
    expect(() => bulkheadFamily({ maxConcurrent: 1, name: 'a/b' })).toThrow('without "/"');
    expect(() => bulkheadFamily({ maxConcurrent: 1, maxQueue: -1 })).toThrow('bulkhead: maxQueue');
    expect(() => bulkheadFamily({ maxConcurrent: 1, keys: 3 } as never)).toThrow('unknown option "keys"');
  });
});
