import type { DIDDocument, DIDResolutionResult, Service, ServiceEndpoint } from 'did-resolver';

/** What {@link CircuitBreakerResolver.resolveServiceEndpoint} found. */
export interface ServiceEndpointLookup {
  /** The first URL of the best matching service, or undefined (no document, no matching service, no URL). */
  readonly url: string | undefined;
  /** The service `url` comes from. */
  readonly service: Service | undefined;
  /** Every matching service, best first (in the order of the requested types, then document order). */
  readonly services: readonly Service[];
  /** The resolution itself: check `didResolutionMetadata.error`, and `stale` for a cached fallback. */
  readonly resolution: DIDResolutionResult;
}

/** Services of `document` whose `type` (a string or a list) is one of `types`, best first. */
export function findServices(document: DIDDocument | null | undefined, types: readonly string[]): Service[] {
  const services = Array.isArray(document?.service) ? document.service : [];
  const found: Service[] = [];
  for (const type of types) {
    for (const service of services) {
      const serviceType: unknown = service?.type;
      const matches = serviceType === type || (Array.isArray(serviceType) && serviceType.includes(type));
      if (matches && !found.includes(service)) found.push(service);
    }
  }
  return found;
}

/** The first URL of an endpoint: a string, the first string of a list, or a map's `uri`/`url`. */
export function endpointUrl(endpoint: ServiceEndpoint | ServiceEndpoint[] | undefined): string | undefined {
  if (typeof endpoint === 'string') return endpoint;
  if (Array.isArray(endpoint)) {
    for (const entry of endpoint) {
      const url = endpointUrl(entry);
      if (url !== undefined) return url;
    }
    return undefined;
  }
  if (typeof endpoint === 'object' && endpoint !== null) {
    const candidate: unknown = endpoint['uri'] ?? endpoint['url'];
    return typeof candidate === 'string' ? candidate : undefined;
  }
  return undefined;
}
