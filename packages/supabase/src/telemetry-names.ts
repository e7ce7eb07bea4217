/**
 * The span attributes of this package's own, in one place: the README's telemetry table and the tests
 * read from here. Standard attributes (`db.*`, `http.*`, `server.*`, `error.type`) come from
 * `@opentelemetry/semantic-conventions`; breaker metrics and the `phlow.circuit_breaker.*` span
 * attributes from `@phlow/otel`.
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

/**
 * The edge function invoked. Incubating in semantic-conventions: copied, as OTel recommends, not
 * imported from /incubating.
 */
export const ATTR_FAAS_INVOKED_NAME = 'faas.invoked_name';
