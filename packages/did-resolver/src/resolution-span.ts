import { SpanStatusCode, type Attributes, type Span } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE, ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT } from '@opentelemetry/semantic-conventions';
import type { DIDResolutionResult } from 'did-resolver';
import type { DidWebLocation } from './did-web-url.js';
import { ATTR_DID, ATTR_DID_METHOD, ATTR_RESOLUTION_ERROR, ATTR_RESOLUTION_REASON } from './telemetry-names.js';

/** What every span of a resolution says about the DID: the DID, its method, and a did:web DID's server. */
export function resolutionAttributes(did: string, method: string, location: DidWebLocation | undefined): Attributes {
  const attributes: Attributes = { [ATTR_DID]: did, [ATTR_DID_METHOD]: method };
  if (location !== undefined) {
    attributes[ATTR_SERVER_ADDRESS] = location.hostname;
    const port = location.authority.slice(location.hostname.length + 1);
    if (port !== '') attributes[ATTR_SERVER_PORT] = Number(port);
  }
  return attributes;
}

/**
 * Puts a result's error on the span; `failure` also sets status ERROR and `error.type`. An answer from a
 * working host (`notFound`, ...) keeps its error attributes without the ERROR status.
 */
export function annotateError(span: Span, result: DIDResolutionResult, failure: boolean): void {
  const metadata = result.didResolutionMetadata;
  if (metadata.error === undefined) return;
  span.setAttribute(ATTR_RESOLUTION_ERROR, metadata.error);
  if (typeof metadata['reason'] === 'string') span.setAttribute(ATTR_RESOLUTION_REASON, metadata['reason']);
  if (failure) {
    span.setAttribute(ATTR_ERROR_TYPE, metadata.error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: typeof metadata['message'] === 'string' ? metadata['message'] : metadata.error });
  }
}
