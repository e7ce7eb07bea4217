import type { DIDResolutionResult } from 'did-resolver';

/** A cached result and when it was stored. */
export interface CacheEntry {
  readonly result: DIDResolutionResult;
  readonly storedAt: number;
}

/**
 * Successful resolutions by DID, bounded by count (least recently used goes first) and by age:
 * fresh for `ttlMs`, then usable as a stale fallback for `staleIfErrorMs` more, then dropped.
 * Written by hand: it is a Map in insertion order plus two timestamps, and stale-if-error needs the
 * age of an expired entry, which TTL caches such as lru-cache hide once it is expired.
 */
export class ResolutionCache {
  private readonly entries = new Map<string, CacheEntry>();

  constructor(
    readonly ttlMs: number,
    readonly staleIfErrorMs: number,
    readonly maxEntries: number,
    private readonly now: () => number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The entry if it is fresh; refreshes its recency. */
  fresh(key: string): CacheEntry | undefined {
    const entry = this.usable(key);
    if (entry === undefined || this.now() - entry.storedAt >= this.ttlMs) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry;
  }

  /** The entry if it is fresh or within its stale-if-error window. */
  usable(key: string): CacheEntry | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (this.now() - entry.storedAt >= this.ttlMs + this.staleIfErrorMs) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  set(key: string, result: DIDResolutionResult): void {
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { result, storedAt: this.now() });
  }

  delete(key: string): boolean {
    return this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}
