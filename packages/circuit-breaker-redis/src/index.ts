export { RedisStateStore } from './redis-state-store.js';
export type { RedisStateStoreStats, StoreStatus } from './redis-state-store.js';
export type { ClientRole, RedisClusterConnection, RedisStateStoreOptions, ResolvedStoreOptions } from './store-options.js';
export type { DegradationReason, StoreDegradedEvent, StoreRecoveredEvent } from './store-events.js';
export { breakerKeys, transitionsChannel } from './redis-keys.js';
export type { BreakerKeys } from './redis-keys.js';
