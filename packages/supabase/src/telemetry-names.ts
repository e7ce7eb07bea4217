/**
 * Every span name part and attribute this package sets, in one place: the README's telemetry table
 * and the tests read from here. Breaker metrics and the `phlow.circuit_breaker.*` span attributes come
 * from `@phlow/otel`.
 */

/** Tracer (instrumentation scope) name. */
export const INSTRUMENTATION_SCOPE = '@phlow/supabase';

/** Which Supabase API a request went to: `rest`, `auth`, `storage`, `functions`, `realtime` or `other`. */
export const ATTR_SERVICE = 'phlow.supabase.service';
/**
 * How the breaker judged the request: `success`, `failure` or `ignored` (a retry's failure, counted
 * once with its operation). Rejections and timeouts show as `error.type` instead.
 */
export const ATTR_OUTCOME = 'phlow.supabase.outcome';

// OpenTelemetry semantic conventions (database, HTTP client, FaaS), as of semconv 1.3x.
export const ATTR_DB_SYSTEM_NAME = 'db.system.name';
export const ATTR_DB_OPERATION_NAME = 'db.operation.name';
export const ATTR_DB_COLLECTION_NAME = 'db.collection.name';
export const ATTR_DB_STORED_PROCEDURE_NAME = 'db.stored_procedure.name';
export const ATTR_DB_NAMESPACE = 'db.namespace';
export const ATTR_DB_RESPONSE_STATUS_CODE = 'db.response.status_code';
export const ATTR_HTTP_REQUEST_METHOD = 'http.request.method';
export const ATTR_HTTP_RESPONSE_STATUS_CODE = 'http.response.status_code';
export const ATTR_HTTP_RESEND_COUNT = 'http.request.resend_count';
export const ATTR_SERVER_ADDRESS = 'server.address';
export const ATTR_SERVER_PORT = 'server.port';
export const ATTR_FAAS_INVOKED_NAME = 'faas.invoked_name';
export const ATTR_ERROR_TYPE = 'error.type';
