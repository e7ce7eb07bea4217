import { ManualClock } from '@phlow/circuit-breaker';
import type { DIDResolutionResult } from 'did-resolver';
import { describe, expect, it } from 'vitest';
import { ResolutionCache } from './resolution-cache.js';

const result = (id: string): DIDResolutionResult => ({ didDocument: { id }, didDocumentMetadata: {}, didResolutionMetadata: {} });

describe('ResolutionCache', () => {
  it('is fresh for ttlMs, then usable as a stale fallback for staleIfErrorMs, then gone', () => {
    const clock = new ManualClock();
    const cache = new ResolutionCache(1_000, 5_000, 10, () => clock.now());
    cache.set('did:web:a', result('did:web:a'));
    clock.advance(999);
    expect(cache.fresh('did:web:a')?.result.didDocument?.id).toBe('did:web:a');
    clock.advance(1);
    expect(cache.fresh('did:web:a')).toBeUndefined();
    expect(cache.usable('did:web:a')?.storedAt).toBe(clock.now() - 1_000);
    clock.advance(4_999);
    expect(cache.usable('did:web:a')).toBeDefined();
    clock.advance(1);
    expect(cache.usable('did:web:a')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('holds at most maxEntries, dropping the least recently used', () => {
    const clock = new ManualClock();
    const cache = new ResolutionCache(60_000, 0, 2, () => clock.now());
    cache.set('a', result('a'));
    cache.set('b', result('b'));
    expect(cache.fresh('a')).toBeDefined(); // a is now the most recent
    cache.set('c', result('c'));
    expect(cache.size).toBe(2);
    expect(cache.fresh('b')).toBeUndefined();
    expect(cache.fresh('a')).toBeDefined();
    expect(cache.fresh('c')).toBeDefined();
  });
});
