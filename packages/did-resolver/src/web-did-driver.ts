import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupFunction } from 'node:net';
import { createSecureContext, rootCertificates } from 'node:tls';
import type { DIDDocument, DIDResolutionOptions, DIDResolutionResult, DIDResolver, ParsedDID } from 'did-resolver';
import type { Socket } from 'node:net';
import { Agent, buildConnector, type Dispatcher } from 'undici';
import { checkDurationMs, checkFunction, checkInteger, checkKnownKeys } from '@phlow/circuit-breaker';
import { AddressGuard, AddressNotAllowedError, type PrivateAddressPolicy } from './address-policy.js';
import { didWebLocation } from './did-web-url.js';
import { failedResolution } from './resolution-result.js';

/** A resolved address, as `dns.lookup(host, { all: true })` returns it. */
export interface ResolvedAddress {
  readonly address: string;
  readonly family: number;
}

/** Options of {@link WebDidDriver} and {@link getWebResolver}. */
export interface WebDidDriverOptions {
  /**
   * Refuse hosts that resolve to loopback, private, shared, link-local, metadata, multicast or reserved
   * addresses (`false`, the default); allow them all (`true`, local development); or allow the listed
   * addresses and CIDR ranges only (`['127.0.0.1', '::1']`).
   */
  readonly allowPrivateAddresses?: PrivateAddressPolicy;
  /** Extra CA certificates (PEM) to trust on top of Node's root store: a private PKI or a test host. */
  readonly ca?: string | readonly string[];
  /**
   * Your own undici dispatcher instead of the driver's. The address policy is then checked by a
   * lookup before the request, but the connection is not pinned to the checked address.
   */
  readonly dispatcher?: Dispatcher;
  /** The fetch to use; the global `fetch` by default. It must accept `dispatcher` (Node's and undici's do). */
  readonly fetch?: typeof fetch;
  /** Abort a request after this long (ms); 0 turns it off. Default 15 000 (the guide's DID timeout). */
  readonly timeoutMs?: number;
  /** Largest document accepted (bytes). Default 262 144 (256 KiB). */
  readonly maxBytes?: number;
  /** Name resolution (all addresses of a host); `dns.lookup(host, { all: true })` by default. */
  readonly lookup?: (hostname: string) => Promise<readonly ResolvedAddress[]>;
}

const OPTION_NAMES = ['allowPrivateAddresses', 'ca', 'dispatcher', 'fetch', 'timeoutMs', 'maxBytes', 'lookup'] as const;

/** Media types a did:web document may be served as (DID Core §6.2, §6.3, and plain JSON as hosts serve it). */
const DOCUMENT_TYPES = ['application/did+json', 'application/did+ld+json', 'application/json', 'application/ld+json'];
const ACCEPT = 'application/did+json, application/did+ld+json;q=0.9, application/json;q=0.8, application/ld+json;q=0.7';

const defaultLookup = (hostname: string): Promise<readonly ResolvedAddress[]> => dnsLookup(hostname, { all: true, verbatim: true });

/**
 * A did:web driver for did-resolver on `fetch`, written because web-did-resolver (2.0.32) cannot be
 * aborted, cannot be given a fetch, a timeout or a CA, reports every failure as `notFound` and returns
 * documents whose id does not match. This one:
 *
 * - maps DIDs per the did:web spec (ports, paths) and refuses ids that would escape their path;
 * - refuses hosts whose resolved addresses are private (all of them are checked) and pins the
 *   connection to the checked addresses: the check runs inside the connection's own DNS lookup;
 * - takes an `AbortSignal` through the resolution options (`{ signal }`) and has its own timeout;
 *   an abort closes the resolution's socket at once, even mid-TLS-handshake;
 * - caps the response size, checks the content type and that the document's `id` is the DID;
 * - never throws: every problem is a `didResolutionMetadata.error` (see the README's table).
 */
export class WebDidDriver {
  /** The driver function, for a did-resolver registry: `new Resolver({ web: driver.resolve })`. */
  readonly resolve: DIDResolver;
  private readonly guard: AddressGuard;
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  private readonly lookup: (hostname: string) => Promise<readonly ResolvedAddress[]>;
  private readonly userDispatcher: Dispatcher | undefined;
  /** One connector for every resolution: it holds the TLS session cache and the parsed CA store. */
  private readonly connect: buildConnector.connector;

  constructor(options: WebDidDriverOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`web did driver options must be an object; got ${String(options)}`);
    }
    checkKnownKeys('web did driver options', options, OPTION_NAMES);
    const policy = options.allowPrivateAddresses ?? false;
    if (typeof policy !== 'boolean' && !Array.isArray(policy)) {
      throw new TypeError(
        `allowPrivateAddresses must be true, false or a list of addresses/CIDR ranges; got ${JSON.stringify(policy)}`,
      );
    }
    this.guard = new AddressGuard(policy);
    this.timeoutMs = checkDurationMs('timeoutMs', options.timeoutMs ?? 15_000);
    this.maxBytes = checkInteger('maxBytes', options.maxBytes ?? 262_144, 1);
    this.fetchImpl = options.fetch === undefined ? globalThis.fetch : checkFunction('fetch', options.fetch);
    this.lookup = options.lookup === undefined ? defaultLookup : checkFunction('lookup', options.lookup);
    const ca = options.ca === undefined ? [] : typeof options.ca === 'string' ? [options.ca] : [...options.ca];
    if (!ca.every((pem) => typeof pem === 'string' && pem.includes('-----BEGIN CERTIFICATE-----'))) {
      throw new TypeError('ca must be a PEM certificate string or a list of them ("-----BEGIN CERTIFICATE-----...")');
    }
    if (options.dispatcher !== undefined) {
      if (typeof (options.dispatcher as { dispatch?: unknown }).dispatch !== 'function') {
        throw new TypeError('dispatcher must be an undici Dispatcher (an object with dispatch())');
      }
      if (ca.length > 0) throw new TypeError('give either ca or dispatcher: a dispatcher brings its own TLS settings');
    }
    this.userDispatcher = options.dispatcher;
    // Parsing Node's ~140 root certificates plus `ca` costs ~40 ms: do it once, not per connection.
    const secureContext = ca.length > 0 ? createSecureContext({ ca: [...rootCertificates, ...ca] }) : undefined;
    this.connect = buildConnector({
      ...(secureContext === undefined ? {} : { secureContext }),
      ...(this.guard.checks ? { lookup: this.guardedLookup() } : {}),
    } as buildConnector.BuildOptions);
    this.resolve = (did, parsed, _resolver, resolutionOptions) => this.resolveDid(did, parsed, resolutionOptions);
  }

  /**
   * The lookup our agent connects with: it resolves every address of the host, refuses the host if
   * any address is refused, and hands the checked addresses to the socket, so the address connected
   * to is one that was checked (no window for DNS rebinding between check and connect).
   */
  private guardedLookup(): LookupFunction {
    return (hostname, options, callback) => {
      this.lookup(hostname)
        .then((addresses) => {
          this.guard.check(hostname, addresses.map((a) => a.address));
          const usable = options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : [...addresses];
          if (usable.length === 0) throw Object.assign(new Error(`no usable address for ${hostname}`), { code: 'ENOTFOUND' });
          return usable;
        })
        .then(
          (usable) => {
            if (options.all === true) (callback as unknown as (error: null, addresses: ResolvedAddress[]) => void)(null, usable);
            else callback(null, usable[0]!.address, usable[0]!.family);
          },
          (error: NodeJS.ErrnoException) => callback(error, '', 0),
        );
    };
  }

  /**
   * A connection of its own for one resolution, closed when it ends. undici neither closes a socket
   * still connecting when its request is aborted nor when its agent is destroyed: the socket lives
   * on until the connect timeout (10 s), so against a black-holed host every timeout would leave a
   * socket behind. Our connector keeps the socket it made and `close()` destroys it. No pooling is
   * lost that matters: documents are cached, and a pool would keep sockets open to untrusted hosts.
   */
  private ownConnection(): { agent: Agent; close(): void } {
    const sockets: Socket[] = [];
    const connect = this.connect;
    const agent = new Agent({
      connect: (options, callback) => {
        const socket = connect(options, callback) as unknown as Socket | undefined;
        if (socket !== undefined) sockets.push(socket);
        return socket as never;
      },
    });
    return {
      agent,
      close() {
        for (const socket of sockets) socket.destroy();
        agent.destroy().catch(() => {});
      },
    };
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
    const connection = this.userDispatcher === undefined ? this.ownConnection() : undefined;
    const agent = connection?.agent;
    try {
      if (this.guard.checks && agent === undefined) {
        const addresses = await this.lookup(location.hostname);
        this.guard.check(location.hostname, addresses.map((a) => a.address));
      }
      // Node's fetch takes an undici 7 dispatcher; only the two undici type packages disagree.
      const init: Record<string, unknown> = { headers: { accept: ACCEPT }, redirect: 'manual', dispatcher: agent ?? this.userDispatcher };
      if (signal !== undefined) init['signal'] = signal;
      const response = await this.fetchImpl(location.url, init as RequestInit);
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
    } finally {
      connection?.close();
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
    const body = await readCapped(response, this.maxBytes);
    if (body === undefined) {
      return failedResolution('invalidDidDocument', `${url}: the document is larger than maxBytes (${this.maxBytes} bytes)`, { httpStatus: status });
    }
    let document: unknown;
    try {
      document = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
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

/** The body, or undefined once it passes `maxBytes` (the rest is not read: the stream is cancelled). */
async function readCapped(response: Response, maxBytes: number): Promise<Uint8Array | undefined> {
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => {});
    return undefined;
  }
  if (response.body === null) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
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
