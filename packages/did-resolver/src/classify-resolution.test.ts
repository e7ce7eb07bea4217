import type { DIDResolutionResult } from 'did-resolver';
import { describe, expect, it } from 'vitest';
import { classifyResolution } from './classify-resolution.js';

const withError = (error: string | undefined, extra: Record<string, unknown> = {}): DIDResolutionResult => ({
  didDocument: null,
  didDocumentMetadata: {},
  didResolutionMetadata: { ...(error === undefined ? {} : { error }), ...extra },
});

// web-did-resolver 2.0.32's messages, as it builds them (`...: ${error}` of node-fetch's errors).
const prefix = 'resolver_error: DID must resolve to a valid https URL containing a JSON document: ';

describe('classifyResolution', () => {
  it.each([
    ['a document', withError(undefined), 'success'],
    ['a network error', withError('internalError', { reason: 'network' }), 'failure'],
    ['a 503', withError('internalError', { reason: 'http_status', httpStatus: 503 }), 'failure'],
    ['a timeout', withError('internalError', { reason: 'timeout' }), 'failure'],
    ["the caller's abort", withError('internalError', { reason: 'aborted' }), 'ignored'],
    ['a real 404', withError('notFound', { httpStatus: 404 }), 'success'],
    ['a bad document', withError('invalidDidDocument'), 'success'],
    ['a wrong content type', withError('representationNotSupported'), 'success'],
    ['an invalid DID', withError('invalidDid'), 'ignored'],
    ['an unsupported method', withError('unsupportedDidMethod'), 'ignored'],
    ['a refused address', withError('notAllowed'), 'ignored'],
    ['an unknown code', withError('somethingElse'), 'ignored'],
    ['an unknown network-ish code', withError('networkUnavailable'), 'failure'],
    ['web-did-resolver: 404', withError('notFound', { message: `${prefix}Error: Bad response Not Found` }), 'success'],
    ['web-did-resolver: 500', withError('notFound', { message: `${prefix}Error: Bad response Internal Server Error` }), 'failure'],
    ['web-did-resolver: 429', withError('notFound', { message: `${prefix}Error: Bad response Too Many Requests` }), 'failure'],
    [
      'web-did-resolver: refused',
      withError('notFound', { message: `${prefix}FetchError: request to https://h/.well-known/did.json failed, reason: connect ECONNREFUSED 127.0.0.1:1` }),
      'failure',
    ],
    ['web-did-resolver: bad JSON', withError('notFound', { message: `${prefix}FetchError: invalid json response body at https://h reason: Unexpected token` }), 'success'],
    ['web-did-resolver: id mismatch', withError('notFound', { message: 'resolver_error: DID document id does not match requested did' }), 'success'],
    ['not a result at all', undefined as unknown as DIDResolutionResult, 'failure'],
  ])('%s → %s', (_label, result, outcome) => {
    expect(classifyResolution(result)).toBe(outcome);
  });
});
