import { SpanKind, SpanStatusCode, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import {
  CircuitBreakerError,
  CircuitOpenError,
  CircuitTimeoutError,
  checkDurationMs,
  checkFunction,
  checkInteger,
  checkKnownKeys,
  getCircuitBreakerRegistry,
  systemClock,
  withAdapterDefaults,
  type CircuitBreaker,
  type CircuitBreakerFamily,
  type CircuitBreakerOptions,
  type CircuitBreakerRegistry,
  type Clock,
  type Outcome,
} from '@phlow/circuit-breaker';
import { SPAN_ATTR_ERROR_TYPE, recordBreakerError, withBreakerSpan } from '@phlow/otel';
import {
  Resolver,
  type DIDResolutionOptions,
  type DIDResolutionResult,
  type DIDResolver,
  type ParsedDID,
  type Resolvable,
  type ResolverRegistry,
} from 'did-resolver';
import { classifyResolution } from './classify-resolution.js';
import { didWebLocation, type DidWebLocation } from './did-web-url.js';
import { ResolutionCache } from './resolution-cache.js';
import { failedResolution } from './resolution-result.js';
import { endpointUrl, findServices, type ServiceEndpointLookup } from './service-endpoint.js';
import {
  ATTR_CACHE,
  ATTR_COALESCED,
  ATTR_DID,
  ATTR_DID_METHOD,
  ATTR_RESOLUTION_ERROR,
  ATTR_RESOLUTION_REASON,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  INSTRUMENTATION_SCOPE,
  type CacheStatus,
} from './telemetry-names.js';
import { VERSION } from './version.js';

/** Options of the resolution cache. */
export interface ResolutionCacheOptions {
  /** A successful resolution is served from the cache for this long (ms). Default 300 000 (5 min). */
  readonly ttlMs?: number;
  /**
   * After `ttlMs`, a cached document is still served, marked stale, for this long (ms) when a fresh
   * resolution fails (breaker open, timeout, network error, 5xx). Default 86 400 000 (24 h); 0 turns
   * stale-if-error off.
   */
  readonly staleIfErrorMs?: number;
  /** Most DIDs held (least recently used goes first). Default 1000. */
  readonly maxEntries?: number;
}

/** Options of {@link CircuitBreakerResolver}. */
export interface CircuitBreakerResolverOptions {
  /** Registry the breakers live in (so `/health` and `instrumentCircuitBreakers` see them). Default: the global one. */
  readonly registry?: CircuitBreakerRegistry;
  /** Prefix of breaker names: the did:web family is `<name>-web`, other methods `<name>-<method>`. Default `did`. */
  readonly name?: string;
  /**
   * Breaker options over the guide's DID defaults (failureThreshold 5, recoveryTimeoutMs 60 000,
   * timeoutMs 15 000). `classifyResult` is not accepted here: use this resolver's `classifyResult`.
   */
  readonly breaker?: Omit<CircuitBreakerOptions, 'classifyResult' | 'clock'>;
  /** Most did:web hosts with a breaker at once (the family's `maxKeys`). Default 1000. */
  readonly maxHosts?: number;
  /** A host's closed breaker unused this long is retired (ms). Default 600 000. */
  readonly hostIdleTtlMs?: number;
  /** The cache, or `false` for none. */
  readonly cache?: ResolutionCacheOptions | false;
  /** How a result counts for the breaker; default {@link classifyResolution}. Define it once (registry config check). */
  readonly classifyResult?: (result: DIDResolutionResult) => Outcome;
  /** Time source for breakers and cache (`ManualClock` in tests). Define it once. */
  readonly clock?: Clock;
  /** Tracer for the `resolve did:<method>` spans. Default: `trace.getTracer('@phlow/did-resolver')`. */
  readonly tracer?: Tracer;
}

const OPTION_NAMES = ['registry', 'name', 'breaker', 'maxHosts', 'hostIdleTtlMs', 'cache', 'classifyResult', 'clock', 'tracer'] as const;

/** The guide's protection for DID resolution. */
export const DID_BREAKER_DEFAULTS = { failureThreshold: 5, recoveryTimeoutMs: 60_000, timeoutMs: 15_000 } as const;

/** Where a resolution's breaker call ended, when it did not end with a usable result. */
interface Failure {
  readonly result: DIDResolutionResult;
  /** The caller gave up: answer at once, no stale fallback. */
  readonly aborted: boolean;
}

/** The machinery behind the resolver, built before `super()` so the wrapped drivers can reach it. */
class ProtectedResolution {
  readonly registry: ResolverRegistry = {};
  readonly cache: ResolutionCache | undefined;
  private readonly breakers: CircuitBreakerRegistry;
  private readonly prefix: string;
  private readonly breakerOptions: CircuitBreakerOptions;
  private readonly familyBounds: { maxKeys: number; idleTtlMs: number };
  private family: CircuitBreakerFamily | undefined;
  private readonly methodBreakers = new Map<string, CircuitBreaker>();
  private readonly inFlight = new Map<string, Promise<DIDResolutionResult | Failure>>();
  private readonly classify: (result: DIDResolutionResult) => Outcome;
  private readonly tracer: Tracer;
  private readonly clock: Clock;

  constructor(drivers: ResolverRegistry, options: CircuitBreakerResolverOptions) {
    if (typeof drivers !== 'object' || drivers === null) {
      throw new TypeError(`the resolver registry must be an object { method: driver }, e.g. getWebResolver(); got ${String(drivers)}`);
    }
    if (typeof options !== 'object' || options === null) throw new TypeError(`resolver options must be an object; got ${String(options)}`);
    checkKnownKeys('CircuitBreakerResolver options', options, OPTION_NAMES);
    this.breakers = options.registry ?? getCircuitBreakerRegistry();
    this.prefix = options.name ?? 'did';
    if (typeof this.prefix !== 'string' || !/^[A-Za-z0-9._:-]+$/.test(this.prefix)) {
      throw new TypeError(`name must be a non-empty string of letters, digits, . _ : -; got ${JSON.stringify(this.prefix)}`);
    }
    // A user's failurePolicy replaces the default failureThreshold (they are exclusive in the core);
    // a breaker option that is not an object is refused here, naming it.
    const breakerOptions = withAdapterDefaults(DID_BREAKER_DEFAULTS, options.breaker, 'breaker');
    if (options.breaker !== undefined && 'classifyResult' in options.breaker) {
      throw new TypeError('breaker.classifyResult is not accepted: pass classifyResult to the resolver (it judges DID resolution results)');
    }
    if (options.breaker !== undefined && 'clock' in options.breaker) {
      throw new TypeError('breaker.clock is not accepted: pass clock to the resolver (the cache uses it too)');
    }
    this.clock = options.clock ?? systemClock;
    this.classify = options.classifyResult === undefined ? classifyResolution : checkFunction('classifyResult', options.classifyResult);
    this.breakerOptions = {
      ...breakerOptions,
      classifyResult: this.classify as (value: unknown) => Outcome,
      ...(options.clock === undefined ? {} : { clock: options.clock }),
    };
    this.familyBounds = {
      maxKeys: checkInteger('maxHosts', options.maxHosts ?? 1000, 1),
      idleTtlMs: checkDurationMs('hostIdleTtlMs', options.hostIdleTtlMs ?? 600_000, 1),
    };
    this.cache = options.cache === false ? undefined : makeCache(options.cache ?? {}, this.clock);
    this.tracer = options.tracer ?? trace.getTracer(INSTRUMENTATION_SCOPE, VERSION);
    for (const [method, driver] of Object.entries(drivers)) {
      checkFunction(`registry.${method}`, driver);
      const wrapped: DIDResolver = (did, parsed, resolver, resolutionOptions) =>
        this.resolveThrough(method, driver, did, parsed, resolver, resolutionOptions ?? {});
      if (driver.parser !== undefined) wrapped.parser = driver.parser;
      this.registry[method] = wrapped;
    }
    // Fail at construction, not at the first resolution, if the registry holds these names with other options.
    if (drivers['web'] !== undefined) this.webFamily();
  }

  private webFamily(): CircuitBreakerFamily {
    return (this.family ??= this.breakers.getFamily(`${this.prefix}-web`, this.breakerOptions, this.familyBounds));
  }

  /** The breaker a DID's resolution goes through: its host's for did:web, its method's otherwise. */
  breakerFor(method: string, location: DidWebLocation | undefined): CircuitBreaker {
    if (location !== undefined) return this.webFamily().get(location.authority);
    let breaker = this.methodBreakers.get(method);
    if (breaker === undefined) {
      breaker = this.breakers.getBreaker(`${this.prefix}-${method}`, this.breakerOptions);
      this.methodBreakers.set(method, breaker);
    }
    return breaker;
  }

  private async resolveThrough(
    method: string,
    driver: DIDResolver,
    did: string,
    parsed: ParsedDID,
    resolver: Resolvable,
    options: DIDResolutionOptions,
  ): Promise<DIDResolutionResult> {
    let location: DidWebLocation | undefined;
    if (method === 'web') {
      const mapped = didWebLocation(parsed.id);
      if (typeof mapped === 'string') return failedResolution('invalidDid', `${did}: ${mapped}`);
      location = mapped;
    }
    const key = typeof options.accept === 'string' ? `${did}\n${options.accept}` : did;
    const cache = options.cache === false ? undefined : this.cache;
    const attributes: Attributes = { [ATTR_DID]: did, [ATTR_DID_METHOD]: method };
    if (location !== undefined) {
      attributes[ATTR_SERVER_ADDRESS] = location.hostname;
      const port = location.authority.slice(location.hostname.length + 1);
      if (port !== '') attributes[ATTR_SERVER_PORT] = Number(port);
    }
    const spanName = `resolve did:${method}`;
    const fresh = cache?.fresh(key);
    const hit = fresh === undefined ? undefined : copyResult(fresh.result);
    if (hit !== undefined) {
      this.tracer.startSpan(spanName, { kind: SpanKind.INTERNAL, attributes: { ...attributes, [ATTR_CACHE]: 'hit' } }).end();
      return markCache(hit, 'hit');
    }
    // Taken now so the span can say `stale` even when the breaker rejects without calling the driver.
    const fallback = cache?.usable(key);
    // Concurrent resolutions of one DID share one request (and count once for the breaker). Callers
    // with their own signal do not join: one caller's abort must not end another's resolution.
    const shareable = options['signal'] === undefined;
    const flying = shareable ? this.inFlight.get(key) : undefined;
    let joined: Span | undefined;
    let outcome: DIDResolutionResult | Failure;
    if (flying !== undefined) {
      joined = this.tracer.startSpan(spanName, { kind: SpanKind.INTERNAL, attributes: { ...attributes, [ATTR_COALESCED]: true } });
      outcome = copyOutcome(await flying);
    } else {
      const flight = this.callDriver(method, driver, did, parsed, resolver, options, location, spanName, attributes, fallback !== undefined);
      if (shareable) {
        this.inFlight.set(key, flight);
        const settle = (): void => {
          if (this.inFlight.get(key) === flight) this.inFlight.delete(key);
        };
        flight.then(settle, settle);
      }
      outcome = await flight;
    }
    const finish = (result: DIDResolutionResult, status: CacheStatus, extra?: Record<string, unknown>): DIDResolutionResult => {
      if (joined !== undefined) {
        joined.setAttribute(ATTR_CACHE, status);
        joined.end();
      }
      return markCache(result, status, extra);
    };
    if (!('aborted' in outcome)) {
      if (cache !== undefined && joined === undefined && outcome.didResolutionMetadata.error === undefined) {
        const copy = copyResult(outcome);
        if (copy !== undefined) cache.set(key, copy);
      }
      return finish(outcome, 'miss');
    }
    const served = fallback === undefined || outcome.aborted ? undefined : copyResult(fallback.result);
    if (fallback === undefined || served === undefined) return finish(outcome.result, 'miss');
    const metadata = outcome.result.didResolutionMetadata;
    return finish(served, 'stale', {
      stale: true,
      staleAgeMs: this.clock.now() - fallback.storedAt,
      staleBecause: { error: metadata.error, reason: metadata['reason'], message: metadata['message'] },
    });
  }

  /**
   * Runs the driver through its breaker inside a `withBreakerSpan` span: a result the caller can use
   * as is, or a failure. The span's cache attribute starts as what a failure would make it (`stale`
   * when a fallback exists) and is corrected once the driver answers, so it is right even when the
   * breaker rejects or times out and the span ends without the driver's answer.
   */
  private async callDriver(
    method: string,
    driver: DIDResolver,
    did: string,
    parsed: ParsedDID,
    resolver: Resolvable,
    options: DIDResolutionOptions,
    location: DidWebLocation | undefined,
    spanName: string,
    attributes: Attributes,
    hasFallback: boolean,
  ): Promise<DIDResolutionResult | Failure> {
    const callerSignal = options['signal'] instanceof AbortSignal ? (options['signal'] as AbortSignal) : undefined;
    const onFailure: CacheStatus = hasFallback ? 'stale' : 'miss';
    let breaker: CircuitBreaker;
    try {
      breaker = this.breakerFor(method, location);
    } catch (error) {
      // No breaker to run through (the host family is full of open breakers): a plain span says so.
      const span = this.tracer.startSpan(spanName, { kind: SpanKind.CLIENT, attributes: { ...attributes, [ATTR_CACHE]: onFailure } });
      recordBreakerError(span, error);
      const failure = failureFor(error, did, undefined);
      annotateError(span, failure.result, false);
      span.end();
      return failure;
    }
    let result: DIDResolutionResult;
    let span: Span | undefined;
    try {
      result = await withBreakerSpan(
        this.tracer,
        breaker,
        spanName,
        async ({ signal }, breakerSpan) => {
          span = breakerSpan;
          const answer = await driver(did, parsed, resolver, { ...options, signal });
          const failed = !isResolutionResult(answer) || this.classify(answer) === 'failure';
          breakerSpan.setAttribute(ATTR_CACHE, failed ? onFailure : 'miss');
          if (isResolutionResult(answer)) annotateError(breakerSpan, answer, failed);
          return answer;
        },
        { attributes: { ...attributes, [ATTR_CACHE]: onFailure }, ...(callerSignal === undefined ? {} : { signal: callerSignal }) },
      );
    } catch (error) {
      const failure = failureFor(error, did, callerSignal);
      if (span !== undefined && span.isRecording()) annotateError(span, failure.result, false);
      return failure;
    }
    if (!isResolutionResult(result)) {
      const failure = failedResolution('internalError', `the did:${method} driver returned no resolution result`, { reason: 'driver_error' });
      return { result: failure, aborted: false };
    }
    return this.classify(result) === 'failure' ? { result, aborted: false } : result;
  }
}

function isResolutionResult(value: unknown): value is DIDResolutionResult {
  return typeof value === 'object' && value !== null && typeof (value as DIDResolutionResult).didResolutionMetadata === 'object';
}

/** A joiner's own copy of a shared outcome, so callers cannot change each other's documents. */
function copyOutcome(outcome: DIDResolutionResult | Failure): DIDResolutionResult | Failure {
  if ('aborted' in outcome) return { result: copyResult(outcome.result) ?? outcome.result, aborted: outcome.aborted };
  return copyResult(outcome) ?? outcome;
}

function makeCache(options: ResolutionCacheOptions, clock: Clock): ResolutionCache {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`cache must be an object { ttlMs?, staleIfErrorMs?, maxEntries? } or false; got ${String(options)}`);
  }
  checkKnownKeys('cache options', options, ['ttlMs', 'staleIfErrorMs', 'maxEntries']);
  return new ResolutionCache(
    checkDurationMs('cache.ttlMs', options.ttlMs ?? 300_000),
    checkDurationMs('cache.staleIfErrorMs', options.staleIfErrorMs ?? 86_400_000),
    checkInteger('cache.maxEntries', options.maxEntries ?? 1000, 1),
    () => clock.now(),
  );
}

/** Puts a result's error on the span; `failure` also sets status ERROR and `error.type` (when not already set). */
function annotateError(span: Span, result: DIDResolutionResult, failure: boolean): void {
  const metadata = result.didResolutionMetadata;
  if (metadata.error === undefined) return;
  span.setAttribute(ATTR_RESOLUTION_ERROR, metadata.error);
  if (typeof metadata['reason'] === 'string') span.setAttribute(ATTR_RESOLUTION_REASON, metadata['reason']);
  if (failure) {
    span.setAttribute(SPAN_ATTR_ERROR_TYPE, metadata.error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: typeof metadata['message'] === 'string' ? metadata['message'] : metadata.error });
  }
}

function failureFor(error: unknown, did: string, callerSignal: AbortSignal | undefined): Failure {
  if (callerSignal?.aborted === true && error === callerSignal.reason) {
    return { result: failedResolution('internalError', `${did}: aborted by the caller`, { reason: 'aborted' }), aborted: true };
  }
  if (CircuitOpenError.isInstance(error)) {
    const retryAfterMs = error.retryAfterMs;
    return {
      result: failedResolution('internalError', `${did}: ${error.message}${retryAfterMs === null ? '' : `; retry in ${retryAfterMs} ms`}`, {
        reason: 'circuit_open',
        ...(retryAfterMs === null ? {} : { retryAfterMs }),
      }),
      aborted: false,
    };
  }
  if (CircuitTimeoutError.isInstance(error)) {
    return { result: failedResolution('internalError', `${did}: ${error.message}`, { reason: 'timeout' }), aborted: false };
  }
  if (CircuitBreakerError.isInstance(error) && error.name === 'CircuitFamilyFullError') {
    return { result: failedResolution('internalError', `${did}: ${error.message}`, { reason: 'family_full' }), aborted: false };
  }
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return { result: failedResolution('internalError', `${did}: the driver threw ${message}`, { reason: 'driver_error' }), aborted: false };
}

/**
 * A deep copy, so no caller can change what the cache hands to the next one; undefined when the
 * result cannot be copied (it then is not cached).
 */
function copyResult(result: DIDResolutionResult): DIDResolutionResult | undefined {
  try {
    return structuredClone(result);
  } catch {
    return undefined;
  }
}

function markCache(result: DIDResolutionResult, cache: CacheStatus, extra: Record<string, unknown> = {}): DIDResolutionResult {
  return { ...result, didResolutionMetadata: { ...result.didResolutionMetadata, cache, ...extra } };
}

/**
 * A did-resolver `Resolver` (drop it in where you resolve today) whose drivers run behind circuit
 * breakers — one per did:web host, one per other method — with a bounded TTL cache that serves a
 * recent document, marked stale, when a host fails or its breaker is open. Like `Resolver`,
 * `resolve()` never throws: problems come back in `didResolutionMetadata.error` (with `reason`).
 *
 * @example
 * const resolver = new CircuitBreakerResolver({ ...getWebResolver(), ...getKeyResolver() });
 * const { didDocument, didResolutionMetadata } = await resolver.resolve('did:web:agents.example.com');
 * const { url } = await resolver.resolveServiceEndpoint('did:web:agents.example.com', ['A2AService', 'AgentService']);
 */
export class CircuitBreakerResolver extends Resolver {
  readonly #protection: ProtectedResolution;

  /**
   * @param registry did-resolver drivers by method, e.g. `{ ...getWebResolver() }` or web-did-resolver's `getResolver()`.
   */
  constructor(registry: ResolverRegistry, options: CircuitBreakerResolverOptions = {}) {
    const protection = new ProtectedResolution(registry, options);
    super(protection.registry, { cache: false });
    this.#protection = protection;
  }

  /**
   * Resolves `did` and picks the service for the agent use case: the first service whose type is
   * `types` (or the first of `types` that any service has), and its first URL.
   *
   * @example
   * const { url, resolution } = await resolver.resolveServiceEndpoint(did, ['A2AService', 'AgentService']);
   * if (url === undefined) throw new Error(resolution.didResolutionMetadata.message ?? 'no A2A endpoint');
   */
  async resolveServiceEndpoint(
    did: string,
    types: string | readonly string[],
    options?: DIDResolutionOptions,
  ): Promise<ServiceEndpointLookup> {
    const wanted = typeof types === 'string' ? [types] : types;
    if (!Array.isArray(wanted) || wanted.length === 0 || !wanted.every((t) => typeof t === 'string' && t.length > 0)) {
      throw new TypeError(`types must be a service type or a non-empty list of them, e.g. ['A2AService']; got ${JSON.stringify(types)}`);
    }
    const resolution = await this.resolve(did, options);
    const services = findServices(resolution.didDocument, wanted);
    const service = services[0];
    return { url: endpointUrl(service?.serviceEndpoint), service, services, resolution };
  }

  /** Forgets every cached resolution. */
  clearCache(): void {
    this.#protection.cache?.clear();
  }

  /** The breaker resolutions of `did` go through (created on demand), or undefined for an unparsable DID. */
  breakerFor(did: string): CircuitBreaker | undefined {
    const match = /^did:([a-z0-9]+):([^/?#]+)/.exec(did);
    if (match === null) return undefined;
    const [, method = '', id = ''] = match;
    if (method !== 'web') return this.#protection.breakerFor(method, undefined);
    const location = didWebLocation(id);
    return typeof location === 'string' ? undefined : this.#protection.breakerFor(method, location);
  }
}
