/**
 * Where one breaker lives in Redis. Every key starts with the hash tag `{prefix:name}`, so all of a
 * breaker's keys hash to one Cluster slot and its scripts may touch them together. (A name containing
 * `}` ends the tag early, but identically for all of that breaker's keys, so they still share a slot.)
 */
export interface BreakerKeys {
  /** Hash: the fleet's snapshot (s, g, o, r, f). */
  readonly state: string;
  /** Hash: replica id → "count:lastUpdateMs", each replica's current run of failures. */
  readonly failures: string;
  /** Sorted set of half-open permits for one generation, scored by lease expiry. */
  probes(generation: number): string;
}

export function breakerKeys(prefix: string, name: string): BreakerKeys {
  const tag = `{${prefix}:${name}}`;
  return {
    state: `${tag}:state`,
    failures: `${tag}:failures`,
    probes: (generation) => `${tag}:probes:${generation}`,
  };
}

/** The one pub/sub channel a store publishes every transition on (a channel is not a key: no slot). */
export function transitionsChannel(prefix: string): string {
  return `${prefix}:transitions`;
}
