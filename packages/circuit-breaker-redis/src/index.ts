export { RedisStateStore } from './redis-state-store.js';
export type { StoreStatus } from './connection-health.js';
export type { RedisStateStoreStats } from './store-stats.js';
export type { ClientRole, RedisClusterConnection, RedisStateStoreOptions, ResolvedStoreOptions } from './store-options.js';
export type { DegradationReason, StoreDegradedEvent, StoreRecoveredEvent } from './store-events.js';
export { breakerKeys, transitionsChannel } from './redis-keys.js';
export type { BreakerKeys } from './redis-keys.js';
