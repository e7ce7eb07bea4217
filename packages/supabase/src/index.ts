export { createClient, breakerFor } from './create-client.js';
export type { ProtectedClientOptions } from './create-client.js';
export { protectFetch } from './protect-fetch.js';
export type { ProtectedFetch } from './protect-fetch.js';
export { DEFAULT_MAX_BODY_BYTES, SUPABASE_DEFAULTS } from './options.js';
export { ResponseTooLargeError } from './response-too-large-error.js';
export type { SupabaseBreakerOptions, SupabaseProtectionOptions } from './options.js';
export { classifyStatus } from './failure-classification.js';
export type { StatusClassifier } from './failure-classification.js';
export {
  CIRCUIT_HEADER,
  CIRCUIT_OPEN_CODE,
  DEFAULT_REJECTION_STATUS,
  isCircuitRejection,
} from './rejection.js';
export type { CircuitOpenBody } from './rejection.js';
export { SUPABASE_SERVICES } from './supabase-request.js';
export type { SupabaseService } from './supabase-request.js';
export { ATTR_OUTCOME, ATTR_SERVICE, INSTRUMENTATION_SCOPE } from './telemetry-names.js';
export { VERSION } from './version.js';
