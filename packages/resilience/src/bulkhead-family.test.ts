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

  it('keeps a member it handed out: a flood of other keys cannot make a second bulkhead for its key (twice its limit)', async () => {
    const peers = bulkheadFamily({ name: 'peer', maxConcurrent: 1, maxQueue: 0, maxKeys: 3, registry: new CircuitBreakerRegistry() });
    const held = peers.get('planner')!; // put in a pipeline, say, and idle for now
    for (let i = 0; i < 1_000; i++) await peers.execute(`hostile-${i}`, () => i);
    let release!: () => void;
    const running = held.execute(() => new Promise<void>((resolve) => (release = resolve)));
    // The family's planner is the held one: its one slot is taken, so a second call is refused.
    const second = await peers.execute('planner', () => 'twice the limit').catch((e: unknown) => e);
    expect(second).toMatchObject({ policy: 'peer/planner', reason: 'full' });
    expect(peers.get('planner')).toBe(held);
    expect(peers.size).toBeLessThanOrEqual(3);
    release();
    await running;
  });

  it('rejects keys from outside once every member is held or busy', async () => {
    const peers = bulkheadFamily({ name: 'peer', maxConcurrent: 1, maxKeys: 2, registry: new CircuitBreakerRegistry() });
    peers.get('a');
    peers.get('b');
    const error = await peers.execute('c', () => 'never').catch((e: unknown) => e);
    expect(error).toMatchObject({ policy: 'peer/c', reason: 'full' });
    await expect(peers.execute('a', () => 'held ones still work')).resolves.toBe('held ones still work');
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
