/**
 * The names this package defines, in one place (the README's telemetry table lists them with the standard
 * ones it also sets: `server.address`, `server.port`, `error.type`, from `@opentelemetry/semantic-conventions`).
 */

/** Tracer name. */
export const INSTRUMENTATION_SCOPE = '@phlow/did-resolver';
/** Span attribute: the DID resolved (without path, query or fragment). */
export const ATTR_DID = 'phlow.did';
/** Span attribute: the DID method, e.g. `web`. */
export const ATTR_DID_METHOD = 'phlow.did.method';
/** Span attribute: how the cache answered, `hit`, `miss` or `stale`. */
export const ATTR_CACHE = 'phlow.did.cache';
/** Span attribute: true on the (INTERNAL) span of a resolution that joined one already in flight for the same DID. */
export const ATTR_COALESCED = 'phlow.did.coalesced';
/** Span attribute: the resolution's `didResolutionMetadata.error`, when there is one. */
export const ATTR_RESOLUTION_ERROR = 'phlow.did.resolution.error';
/** Span attribute: the resolution's failure reason (`network`, `timeout`, `circuit_open`...), when there is one. */
export const ATTR_RESOLUTION_REASON = 'phlow.did.resolution.reason';

/** How the cache answered a resolution. */
export type CacheStatus = 'hit' | 'miss' | 'stale';
