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
/** `postgresql` on PostgREST requests. */
export const ATTR_DB_SYSTEM_NAME = 'db.system.name';
/** PostgREST's verb as a database operation: `select`, `insert`, `upsert`, `update`, `delete`, `rpc`. */
export const ATTR_DB_OPERATION_NAME = 'db.operation.name';
/** The table or view of a PostgREST request. */
export const ATTR_DB_COLLECTION_NAME = 'db.collection.name';
/** The function of a PostgREST `rpc` request. */
export const ATTR_DB_STORED_PROCEDURE_NAME = 'db.stored_procedure.name';
/** The schema, from PostgREST's `Accept-Profile` / `Content-Profile` header. */
export const ATTR_DB_NAMESPACE = 'db.namespace';
/** The error `code` of an error response: a SQLSTATE (`23505`) or PostgREST's own (`PGRST116`). */
export const ATTR_DB_RESPONSE_STATUS_CODE = 'db.response.status_code';
/** `GET`, `POST`, … */
export const ATTR_HTTP_REQUEST_METHOD = 'http.request.method';
/** The response status, when a response arrived. */
export const ATTR_HTTP_RESPONSE_STATUS_CODE = 'http.response.status_code';
/** The retry number postgrest-js sends in `X-Retry-Count` (absent on a first attempt). */
export const ATTR_HTTP_RESEND_COUNT = 'http.request.resend_count';
/** The project's host. */
export const ATTR_SERVER_ADDRESS = 'server.address';
/** The project's port. */
export const ATTR_SERVER_PORT = 'server.port';
/** The edge function invoked. */
export const ATTR_FAAS_INVOKED_NAME = 'faas.invoked_name';
/** What went wrong: the status (`503`), the network error's code (`ECONNREFUSED`), `CircuitTimeoutError`, `CircuitOpenError`. */
export const ATTR_ERROR_TYPE = 'error.type';
