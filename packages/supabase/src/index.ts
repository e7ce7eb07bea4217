export { createClient, circuitBreakerOf } from './create-client.js';
export type { ProtectedClientOptions } from './create-client.js';
export { protectFetch } from './protect-fetch.js';
export type { ProtectedFetch } from './protect-fetch.js';
export { DEFAULT_MAX_BODY_BYTES, SUPABASE_DEFAULTS } from './options.js';
export { ResponseTooLargeError } from './response-too-large-error.js';
export type { SupabaseBreakerOptions, SupabaseCircuitOptions } from './options.js';
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
export {
  ATTR_DB_COLLECTION_NAME,
  ATTR_DB_NAMESPACE,
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_RESPONSE_STATUS_CODE,
  ATTR_DB_STORED_PROCEDURE_NAME,
  ATTR_DB_SYSTEM_NAME,
  ATTR_ERROR_TYPE,
  ATTR_FAAS_INVOKED_NAME,
  ATTR_HTTP_RESEND_COUNT,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_OUTCOME,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_SERVICE,
  INSTRUMENTATION_SCOPE,
} from './telemetry-names.js';
export { VERSION } from './version.js';
