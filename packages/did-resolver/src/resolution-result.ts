import type { DIDResolutionResult } from 'did-resolver';

/**
 * Error codes of a resolution: did-resolver's own, those of the W3C DID Resolution spec, and
 * `notAllowed` (ours: the host's address is refused by the private-address policy).
 */
export type ResolutionErrorCode =
  | 'invalidDid'
  | 'unsupportedDidMethod'
  | 'notFound'
  | 'representationNotSupported'
  | 'invalidDidDocument'
  | 'internalError'
  | 'notAllowed';

/**
 * What went wrong, finer than the error code, in `didResolutionMetadata.reason`: `network`
 * (connection, TLS, DNS), `http_status` (see `httpStatus`), `timeout`, `aborted` (the caller's
 * signal), `address` (refused by the address policy), `circuit_open`, `family_full` (too many hosts
 * with open breakers), `driver_error` (the driver threw).
 */
export type ResolutionFailureReason =
  | 'network'
  | 'http_status'
  | 'timeout'
  | 'aborted'
  | 'address'
  | 'circuit_open'
  | 'family_full'
  | 'driver_error';

/** @internal A result without a document, in did-resolver's shape. */
export function failedResolution(
  error: ResolutionErrorCode,
  message: string,
  extra: { reason?: ResolutionFailureReason; httpStatus?: number; retryAfterMs?: number } = {},
): DIDResolutionResult {
  return { didDocument: null, didDocumentMetadata: {}, didResolutionMetadata: { error, message, ...extra } };
}
