import { lookup as dnsLookup } from 'node:dns/promises';
import {
  AddressNotAllowedError,
  AddressPolicy,
  createGuardedFetch,
  type AddressPolicyOptions,
  type GuardedFetch,
  type LookupAll,
  type ResolvedAddress,
} from '@phlow/address-policy';
import type { DIDDocument, DIDResolutionOptions, DIDResolutionResult, DIDResolver, ParsedDID } from 'did-resolver';
import { fetch as undiciFetch, type Dispatcher } from 'undici';
import { checkDurationMs, checkFunction, checkInteger, checkKnownKeys, readAtMost } from '@phlow/circuit-breaker/internal';
import { didWebLocation } from './did-web-url.js';
import { failedResolution } from './resolution-result.js';

export type { ResolvedAddress };

/**
 * Options of {@link WebDidDriver} and {@link getWebResolver}. `allowPrivateAddresses` is the shared
 * address policy of `@phlow/address-policy` (the same option guards A2A endpoints in `@phlow/a2a`).
 */
export interface WebDidDriverOptions extends AddressPolicyOptions {
  /** Extra CA certificates (PEM) to trust on top of Node's root store: a private PKI or a test host. */
  readonly ca?: string | readonly string[];
  /**
   * Your own undici 8 dispatcher instead of the driver's guarded pool. The address policy is then
   * checked on the canonical host and by a lookup before the request, but the connection is not
   * pinned to the checked address (a DNS answer that changes in between is not seen).
   */
  readonly dispatcher?: Dispatcher;
  /**
   * The fetch to use. Default: undici's own `fetch` (undici 8, the major of the dispatchers), and
   * `globalThis.fetch` given here means that default too, on every Node line. A fetch of yours must
   * pass `init` (with `dispatcher`) on to undici 8's fetch: Node 22's and 24's global fetch bundle an
   * older undici that refuses the dispatcher.
   */
  readonly fetch?: typeof fetch;
  /** Abort a request after this long (ms); 0 turns it off. Default 15 000 (the guide's DID timeout). */
  readonly timeoutMs?: number;
  /** Largest document accepted (bytes). Default 262 144 (256 KiB). */
  readonly maxBytes?: number;
  /** Name resolution (all addresses of a host); `dns.lookup(host, { all: true })` by default. */
  readonly lookup?: LookupAll;
  /**
   * Most did:web hosts with kept-alive connections at once (least recently used closed first);
   * each host keeps at most 16 sockets. Default 64.
   */
  readonly maxPooledHosts?: number;
}

const OPTION_NAMES = ['allowPrivateAddresses', 'ca', 'dispatcher', 'fetch', 'timeoutMs', 'maxBytes', 'lookup', 'maxPooledHosts'] as const;

/** Media types a did:web document may be served as (DID Core §6.2, §6.3, and plain JSON as hosts serve it). */
const DOCUMENT_TYPES = ['application/did+json', 'application/did+ld+json', 'application/json', 'application/ld+json'];
const ACCEPT = 'application/did+json, application/did+ld+json;q=0.9, application/json;q=0.8, application/ld+json;q=0.7';

/**
 * A did:web driver for did-resolver on `fetch`, written because web-did-resolver (2.0.32) cannot be
 * aborted, cannot be given a fetch, a timeout or a CA, reports every failure as `notFound` and returns
 * documents whose id does not match. This one:
 *
 * - maps DIDs per the did:web spec (ports, paths) and refuses ids that would escape their path;
 * - refuses hosts whose resolved addresses are private (all of them are checked) and pins the
 *   connection to the checked addresses: the check runs inside the connection's own DNS lookup, on
 *   the host as the URL parser reads it, and again on the address actually connected;
 * - keeps checked connections alive per host (a bounded pool: `maxPooledHosts` hosts, 16 sockets
 *   each), so resolving several DIDs of one host costs one TLS handshake;
 * - takes an `AbortSignal` through the resolution options (`{ signal }`) and has its own timeout;
 *   an abort destroys a connection still being set up for it (even mid-TLS-handshake);
 * - caps the response size, checks the content type and that the document's `id` is the DID;
 * - never throws: every problem is a `didResolutionMetadata.error` (see the README's table).
 */
export class WebDidDriver {
  /** The driver function, for a did-resolver registry: `new Resolver({ web: driver.resolve })`. */
  readonly resolve: DIDResolver;
  private readonly policy: AddressPolicy;
  /** The fetch paired with a dispatcher of the user's; the guarded fetch keeps its own. */
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  private readonly lookup: LookupAll | undefined;
  private readonly userDispatcher: Dispatcher | undefined;
  /** Every request without a dispatcher of the user's goes through it: one pool, one TLS session cache. */
  private readonly guardedFetch: GuardedFetch | undefined;

  constructor(options: WebDidDriverOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`web did driver options must be an object; got ${String(options)}`);
    }
    checkKnownKeys('web did driver options', options, OPTION_NAMES);
    this.policy = new AddressPolicy(options);
    this.timeoutMs = checkDurationMs('timeoutMs', options.timeoutMs ?? 15_000);
    this.maxBytes = checkInteger('maxBytes', options.maxBytes ?? 262_144, 1);
    const fetchOption = options.fetch === undefined ? undefined : checkFunction<typeof fetch>('fetch', options.fetch);
    // The global fetch of Node 22 and 24 refuses an undici 8 dispatcher: it means "the default" (undici's).
    this.fetchImpl = fetchOption === undefined || fetchOption === globalThis.fetch ? (undiciFetch as unknown as typeof fetch) : fetchOption;
    this.lookup = options.lookup === undefined ? undefined : checkFunction<LookupAll>('lookup', options.lookup);
    const ca = options.ca === undefined ? [] : typeof options.ca === 'string' ? [options.ca] : [...options.ca];
    if (!ca.every((pem) => typeof pem === 'string' && pem.includes('-----BEGIN CERTIFICATE-----'))) {
      throw new TypeError('ca must be a PEM certificate string or a list of them ("-----BEGIN CERTIFICATE-----...")');
    }
    if (options.dispatcher !== undefined) {
      if (typeof (options.dispatcher as { dispatch?: unknown }).dispatch !== 'function') {
        throw new TypeError('dispatcher must be an undici Dispatcher (an object with dispatch())');
      }
      if (ca.length > 0) throw new TypeError('give either ca or dispatcher: a dispatcher brings its own TLS settings');
      if (options.maxPooledHosts !== undefined) throw new TypeError('give either maxPooledHosts or dispatcher: a dispatcher brings its own pool');
    }
    this.userDispatcher = options.dispatcher;
    this.guardedFetch =
      options.dispatcher !== undefined
        ? undefined
        : createGuardedFetch({
            policy: this.policy,
            ...(fetchOption === undefined ? {} : { fetch: fetchOption }),
            ...(ca.length > 0 ? { ca } : {}),
            ...(this.lookup === undefined ? {} : { lookup: this.lookup }),
            ...(options.maxPooledHosts === undefined ? {} : { maxOrigins: checkInteger('maxPooledHosts', options.maxPooledHosts, 1) }),
          });
    this.resolve = (did, parsed, _resolver, resolutionOptions) => this.resolveDid(did, parsed, resolutionOptions);
  }

  /** Closes the kept-alive connections (resolutions in flight finish first). */
  close(): Promise<void> {
    return this.guardedFetch?.close() ?? Promise.resolve();
  }

  /** The same as {@link WebDidDriver.close}, so `await using driver = new WebDidDriver()` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private async resolveDid(did: string, parsed: ParsedDID, options: DIDResolutionOptions | undefined): Promise<DIDResolutionResult> {
    const location = didWebLocation(parsed.id);
    if (typeof location === 'string') return failedResolution('invalidDid', `${did}: ${location}`);
    const callerSignal = options?.signal as AbortSignal | undefined;
    if (callerSignal !== undefined && !(callerSignal instanceof AbortSignal)) {
      return failedResolution('internalError', `resolution option signal must be an AbortSignal; got ${String(callerSignal)}`, { reason: 'driver_error' });
    }
    const timeoutSignal = this.timeoutMs > 0 ? AbortSignal.timeout(this.timeoutMs) : undefined;
    const signals = [callerSignal, timeoutSignal].filter((s): s is AbortSignal => s !== undefined);
    const signal = signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals);
    try {
      const init: Record<string, unknown> = { headers: { accept: ACCEPT }, redirect: 'manual' };
      if (signal !== undefined) init['signal'] = signal;
      let response: Response;
      if (this.guardedFetch !== undefined) {
        response = await this.guardedFetch(location.url, init as RequestInit);
      } else {
        if (this.policy.enforced) {
          const addresses = this.lookup !== undefined ? await this.lookup(location.hostname) : await dnsLookup(location.hostname, { all: true, verbatim: true });
          this.policy.check(location.hostname, addresses.map((a) => a.address));
        }
        init['dispatcher'] = this.userDispatcher;
        response = await this.fetchImpl(location.url, init as RequestInit);
      }
      return await this.readDocument(did, location.url, response);
    } catch (error) {
      if (timeoutSignal?.aborted === true) {
        return failedResolution('internalError', `${location.url}: no answer within ${this.timeoutMs} ms`, { reason: 'timeout' });
      }
      if (callerSignal?.aborted === true) {
        return failedResolution('internalError', `${location.url}: aborted by the caller`, { reason: 'aborted' });
      }
      const refused = findCause(error, AddressNotAllowedError.isInstance);
      if (refused !== undefined) return failedResolution('notAllowed', refused.message, { reason: 'address' });
      return failedResolution('internalError', `${location.url}: ${describeNetworkError(error)}`, { reason: 'network' });
    }
  }

  private async readDocument(did: string, url: string, response: Response): Promise<DIDResolutionResult> {
    const status = response.status;
    if (status !== 200) {
      await response.body?.cancel().catch(() => {});
      const answer = `${url} answered HTTP ${status}`;
      if (status >= 500 || status === 408 || status === 429) {
        return failedResolution('internalError', answer, { reason: 'http_status', httpStatus: status });
      }
      if (status >= 300 && status < 400) {
        return failedResolution('notFound', `${answer} (redirects are not followed for did:web)`, { reason: 'http_status', httpStatus: status });
      }
      if (status >= 400) return failedResolution('notFound', answer, { reason: 'http_status', httpStatus: status });
      return failedResolution('invalidDidDocument', `${answer}; expected 200 with a DID document`, { httpStatus: status });
    }
    const mediaType = (response.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (!DOCUMENT_TYPES.includes(mediaType)) {
      await response.body?.cancel().catch(() => {});
      return failedResolution(
        'representationNotSupported',
        `${url} served ${mediaType === '' ? 'no content type' : JSON.stringify(mediaType)}; expected one of ${DOCUMENT_TYPES.join(', ')}`,
        { httpStatus: status },
      );
    }
    const body = await readAtMost(response, this.maxBytes);
    if (!body.ok) {
      return failedResolution('invalidDidDocument', `${url}: the document is larger than maxBytes (${this.maxBytes} bytes)`, { httpStatus: status });
    }
    let document: unknown;
    try {
      document = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body.bytes));
    } catch (error) {
      return failedResolution('invalidDidDocument', `${url}: the body is not JSON in UTF-8 (${(error as Error).message})`, { httpStatus: status });
    }
    const problem = documentProblem(did, document);
    if (problem !== undefined) return failedResolution('invalidDidDocument', `${url}: ${problem}`, { httpStatus: status });
    const didDocument = document as DIDDocument;
    return {
      didDocument,
      didDocumentMetadata: {},
      didResolutionMetadata: { contentType: '@context' in didDocument ? 'application/did+ld+json' : 'application/did+json' },
    };
  }
}

/** Why `document` is not the DID document of `did`, or undefined. */
function documentProblem(did: string, document: unknown): string | undefined {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) return 'the document is not a JSON object';
  const record = document as Record<string, unknown>;
  if (record['id'] !== did) return `the document id ${JSON.stringify(record['id'])} is not the DID ${did}`;
  for (const key of ['verificationMethod', 'service', 'authentication', 'assertionMethod', 'keyAgreement'] as const) {
    if (record[key] !== undefined && !Array.isArray(record[key])) return `the document's ${key} is not an array`;
  }
  const services = (record['service'] as unknown[] | undefined) ?? [];
  for (const service of services) {
    if (typeof service !== 'object' || service === null || !('serviceEndpoint' in service) || !('type' in service)) {
      return 'a service entry lacks type or serviceEndpoint';
    }
  }
  return undefined;
}

function findCause<T>(error: unknown, is: (value: unknown) => value is T): T | undefined {
  for (let current = error, depth = 0; current !== undefined && current !== null && depth < 8; depth++) {
    if (is(current)) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** `fetch failed` says nothing; the cause's code (ECONNREFUSED, CERT_HAS_EXPIRED...) says what happened. */
function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  const base = error instanceof Error ? error.message : String(error);
  if (cause === undefined || cause === null) return base;
  const code = typeof cause.code === 'string' ? cause.code : undefined;
  const message = typeof cause.message === 'string' ? cause.message : undefined;
  return [base, code, message].filter((part) => part !== undefined && part !== '').join(': ');
}

/**
 * A registry fragment for did-resolver, like web-did-resolver's `getResolver()`:
 * `new Resolver({ ...getWebResolver({ allowPrivateAddresses: false }) })`.
 */
export function getWebResolver(options?: WebDidDriverOptions): { web: DIDResolver } {
  return { web: new WebDidDriver(options).resolve };
}
