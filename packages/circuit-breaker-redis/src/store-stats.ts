import type { StoreStatus } from './connection-health.js';

/** Counters for dashboards and `@phlow/otel`; all cumulative since the store was made. */
export interface RedisStateStoreStats {
  readonly status: StoreStatus;
  readonly replicaId: string;
  /** Breakers attached right now. */
  readonly breakers: number;
  /** Times the store went from ready (or connecting) to degraded. */
  readonly degradations: number;
  /** Redis commands that failed or timed out. */
  readonly commandFailures: number;
  /** Snapshots this replica wrote as the fleet's: its transitions, and reconciles that found Redis behind (first use, data loss). */
  readonly transitionsPublished: number;
  /** Transition messages received for an attached breaker (its own included). */
  readonly transitionsReceived: number;
  /** Times the fleet-wide failure count opened a breaker. */
  readonly fleetTrips: number;
  /** Concurrent transitions from the same generation, resolved in the fleet's favour. */
  readonly conflicts: number;
  /** Failure batches sent. */
  readonly failureFlushes: number;
  readonly probesGranted: number;
  readonly probesDenied: number;
  /** Half-open calls that used their local permit because Redis did not answer in time. */
  readonly probeFallbacks: number;
}

/** The cumulative counters of {@link RedisStateStoreStats}, each bumped by the part of the store that sees its event. */
export type StoreCounters = {
  -readonly [K in Exclude<keyof RedisStateStoreStats, 'status' | 'replicaId' | 'breakers'>]: number;
};

export function newStoreCounters(): StoreCounters {
  return {
    degradations: 0,
    commandFailures: 0,
    transitionsPublished: 0,
    transitionsReceived: 0,
    fleetTrips: 0,
    conflicts: 0,
    failureFlushes: 0,
    probesGranted: 0,
    probesDenied: 0,
    probeFallbacks: 0,
  };
}
