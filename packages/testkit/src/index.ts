export { FaultProxy } from './fault-proxy.js';
export type { ClosedBy, ConnectionCloseEvent, FaultProxyOptions, ProxiedRequestEvent, RequestOutcome } from './fault-proxy.js';
export type { ConnectionStats, FaultProxyStats, RequestStats } from './fault-proxy-stats.js';
export type { ErrorStatusFault, Faults, LatencyFault, SlowBodyFault } from './faults.js';
export type { Disposable } from './disposable.js';
export { SupabaseStandIn } from './supabase-stand-in.js';
export type { StandInRequestEvent, SupabaseStandInOptions } from './supabase-stand-in.js';
export { PostgrestHttpError, statusForSqlState } from './postgrest-error.js';
export type { PostgrestErrorBody } from './postgrest-error.js';
