import type { DIDResolutionResult } from 'did-resolver';
import type { Outcome } from '@phlow/circuit-breaker';

/** HTTP status texts of answers that mean "the host is in trouble", as web-did-resolver reports them. */
const FAILING_STATUS_TEXTS = new Set([
  'Request Timeout',
  'Too Many Requests',
  'Internal Server Error',
  'Not Implemented',
  'Bad Gateway',
  'Service Unavailable',
  'Gateway Timeout',
  'HTTP Version Not Supported',
  'Insufficient Storage',
  'Loop Detected',
  'Network Authentication Required',
]);

/**
 * web-did-resolver 2.0.32 turns every failure into `notFound` with the cause in the message
 * (`...: Error: Bad response <statusText>`, `...: FetchError: request to <url> failed, reason: ...`).
 * True when such a message describes an unreachable or failing host rather than an answer.
 */
export function isWebDidResolverTransportFailure(message: string): boolean {
  const badResponse = /Bad response (.*)$/.exec(message);
  if (badResponse !== null) return FAILING_STATUS_TEXTS.has(badResponse[1]!.trim());
  return /FetchError: request to .* failed/.test(message);
}

/**
 * How a resolution counts for the breaker of its host or method (the README's "Failure
 * classification" table):
 *
 * - `failure`: the host could not be reached or failed — `internalError` (network, TLS, 5xx, 408,
 *   429, timeout), web-did-resolver's `notFound` whose message shows a network error or a 5xx, a
 *   result that is not a resolution result, and error codes naming a network problem;
 * - `success`: a document, or an answer from a working host — `notFound` (a real 404/410),
 *   `invalidDidDocument`, `representationNotSupported`;
 * - `ignored`: nothing was asked of the host — `invalidDid`, `unsupportedDidMethod`,
 *   `methodNotSupported`, `notAllowed`, a caller's abort, and unknown codes.
 */
export function classifyResolution(result: DIDResolutionResult): Outcome {
  const metadata = (result as Partial<DIDResolutionResult> | null | undefined)?.didResolutionMetadata;
  if (typeof metadata !== 'object' || metadata === null) return 'failure';
  const error = metadata.error;
  if (error === undefined) return 'success';
  switch (error) {
    case 'internalError':
      return metadata['reason'] === 'aborted' || metadata['reason'] === 'address' ? 'ignored' : 'failure';
    case 'notFound':
      return typeof metadata['message'] === 'string' && isWebDidResolverTransportFailure(metadata['message']) ? 'failure' : 'success';
    case 'invalidDidDocument':
    case 'representationNotSupported':
      return 'success';
    default:
      return /network|timeout|unavailable|unreachable/i.test(String(error)) ? 'failure' : 'ignored';
  }
}
