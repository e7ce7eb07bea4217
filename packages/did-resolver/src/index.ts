export { CircuitBreakerResolver, DID_BREAKER_DEFAULTS } from './circuit-breaker-resolver.js';
export type { CircuitBreakerResolverOptions, ResolutionCacheOptions } from './circuit-breaker-resolver.js';
export { WebDidDriver, getWebResolver } from './web-did-driver.js';
export type { ResolvedAddress, WebDidDriverOptions } from './web-did-driver.js';
export { didWebLocation } from './did-web-url.js';
export type { DidWebLocation } from './did-web-url.js';
export { classifyResolution, isWebDidResolverTransportFailure } from './classify-resolution.js';
export { endpointUrl, findServices } from './service-endpoint.js';
export type { ServiceEndpointLookup } from './service-endpoint.js';
export type { ResolutionErrorCode, ResolutionFailureReason } from './resolution-result.js';
// Only this package's own names: the standard ones (server.address, server.port, error.type) are
// @opentelemetry/semantic-conventions' ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT and ATTR_ERROR_TYPE.
export {
  ATTR_CACHE,
  ATTR_COALESCED,
  ATTR_DID,
  ATTR_DID_METHOD,
  ATTR_RESOLUTION_ERROR,
  ATTR_RESOLUTION_REASON,
  INSTRUMENTATION_SCOPE,
} from './telemetry-names.js';
export type { CacheStatus } from './telemetry-names.js';
export { VERSION } from './version.js';
