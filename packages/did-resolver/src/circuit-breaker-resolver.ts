import { SpanKind, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import {
  CircuitBreakerError,
  CircuitOpenError,
  CircuitTimeoutError,
  markTransient,
  systemClock,
  type CircuitBreaker,
  type CircuitBreakerFamily,
  type CircuitBreakerOptions,
  type Clock,
  type KeyedAdapterOptions,
  type Outcome,
} from '@phlow/circuit-breaker';
import {
  KEYED_ADAPTER_OPTION_NAMES,
  checkDurationMs,
  checkFunction,
  checkInteger,
  checkKnownKeys,
  describeValue,
  resolveAdapterOptions,
  resolveFamilyBounds,
} from '@phlow/circuit-breaker/internal';
import { recordBreakerError, withBreakerSpan, type AdapterTelemetryOptions } from '@phlow/otel';
import { ADAPTER_TELEMETRY_OPTION_NAMES, adapterTracer } from '@phlow/otel/internal';
import {
  Resolver,
  parse,
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
import { annotateError, resolutionAttributes } from './resolution-span.js';
import { endpointUrl, findServices, type ServiceEndpointLookup } from './service-endpoint.js';
import { ATTR_CACHE, ATTR_COALESCED, INSTRUMENTATION_SCOPE, type CacheStatus } from './telemetry-names.js';
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

/**
 * Options of {@link CircuitBreakerResolver}: the adapter options every `@phlow` adapter shares (`name`,
 * default `'did'`, is the family of the resolver's breakers: `did/web:<host[:port]>` per did:web host,
 * `did/<method>` per other method; `maxKeys` and `idleTtlMs` bound the whole family), and the resolver's own.
 * `breaker` takes any breaker option over {@link DID_BREAKER_DEFAULTS} but `classifyResult` and `clock`,
 * which are the resolver's (below).
 */
export interface CircuitBreakerResolverOptions
  extends KeyedAdapterOptions<Omit<CircuitBreakerOptions, 'classifyResult' | 'clock'>>,
    AdapterTelemetryOptions {
  /** The cache, or `false` for none. */
  readonly cache?: ResolutionCacheOptions | false;
  /** How a result counts for the breaker; default {@link classifyResolution}. Define it once (registry config check). */
  readonly classifyResult?: (result: DIDResolutionResult) => Outcome;
  /** Time source for breakers and cache (`ManualClock` in tests). Define it once. */
  readonly clock?: Clock;
}

const WHAT = 'CircuitBreakerResolver options';
const OPTION_NAMES = [...KEYED_ADAPTER_OPTION_NAMES, ...ADAPTER_TELEMETRY_OPTION_NAMES, 'cache', 'classifyResult', 'clock'];
/** A DID method name (DID Core §3.1): never contains the `:` of a did:web key (`web:<host>`). */
const METHOD_NAME = /^[a-z0-9]+$/;

/** The guide's protection for DID resolution. */
export const DID_BREAKER_DEFAULTS = { failureThreshold: 5, recoveryTimeoutMs: 60_000, timeoutMs: 15_000 } as const;

/** Where a resolution's breaker call ended, when it did not end with a usable result. */
interface Failure {
  readonly result: DIDResolutionResult;
  /** The caller gave up: answer at once, no stale fallback. */
  readonly aborted: boolean;
}

/** One call of a driver, as did-resolver hands it to the wrapped driver. */
interface DriverCall {
  readonly method: string;
  readonly driver: DIDResolver;
  readonly did: string;
  readonly parsed: ParsedDID;
  readonly resolver: Resolvable;
  readonly options: DIDResolutionOptions;
}

/**
 * The family key of a DID's breaker: `web:<host[:port]>` for did:web, the method otherwise. The two
 * never meet: a method name has no `:`.
 */
function breakerKey(method: string, location: DidWebLocation | undefined): string {
  return location === undefined ? method : `web:${location.authority}`;
}

/** The machinery behind the resolver, built before `super()` so the wrapped drivers can reach it. */
class ProtectedResolution {
  /** Without a prototype: `did:constructor:x` must find no driver, not `Object`. */
  readonly registry: ResolverRegistry = Object.create(null) as ResolverRegistry;
  readonly cache: ResolutionCache | undefined;
  readonly name: string;
  private readonly family: CircuitBreakerFamily;
  private readonly inFlight = new Map<string, Promise<DIDResolutionResult | Failure>>();
  private readonly classify: (result: DIDResolutionResult) => Outcome;
  private readonly tracer: Tracer;
  private readonly clock: Clock;

  constructor(drivers: ResolverRegistry, options: CircuitBreakerResolverOptions) {
    if (typeof drivers !== 'object' || drivers === null) {
      throw new TypeError(`the resolver registry must be an object { method: driver }, e.g. getWebResolver(); got ${describeValue(drivers)}`);
    }
    if (typeof options !== 'object' || options === null) throw new TypeError(`${WHAT} must be an object; got ${describeValue(options)}`);
    checkKnownKeys(WHAT, options, OPTION_NAMES);
    // A user's failurePolicy replaces the default failureThreshold (they are exclusive in the core).
    const shared = resolveAdapterOptions(WHAT, options, {
      name: 'did',
      breaker: DID_BREAKER_DEFAULTS,
      ownedBreakerOptions: {
        classifyResult: 'breaker.classifyResult is not accepted: pass classifyResult to the resolver (it judges DID resolution results)',
        clock: 'breaker.clock is not accepted: pass clock to the resolver (the cache uses it too)',
      },
    });
    const bounds = resolveFamilyBounds(WHAT, options);
    this.name = shared.name;
    this.clock = options.clock ?? systemClock;
    this.classify = options.classifyResult === undefined ? classifyResolution : checkFunction(`${WHAT}: classifyResult`, options.classifyResult);
    this.cache = options.cache === false ? undefined : makeCache(options.cache ?? {}, this.clock);
    this.tracer = adapterTracer(WHAT, options, INSTRUMENTATION_SCOPE, VERSION);
    for (const [method, driver] of Object.entries(drivers)) {
      if (!METHOD_NAME.test(method)) {
        throw new TypeError(`the resolver registry's keys must be DID method names (lower-case letters and digits); got ${JSON.stringify(method)}`);
      }
      checkFunction(`registry.${method}`, driver);
      const wrapped: DIDResolver = (did, parsed, resolver, resolutionOptions) =>
        this.resolveThrough({ method, driver, did, parsed, resolver, options: resolutionOptions ?? {} });
      if (driver.parser !== undefined) wrapped.parser = driver.parser;
      this.registry[method] = wrapped;
    }
    // Made now, so a registry holding this family with other options fails here, not at the first resolution.
    const breakerOptions: CircuitBreakerOptions = {
      ...shared.breaker,
      classifyResult: this.classify as (value: unknown) => Outcome,
      ...(options.clock === undefined ? {} : { clock: options.clock }),
    };
    this.family = shared.registry.getFamily(this.name, breakerOptions, bounds);
  }

  /** The breaker a DID's resolution goes through: its host's for did:web, its method's otherwise. */
  breakerFor(method: string, location: DidWebLocation | undefined): CircuitBreaker {
    return this.family.get(breakerKey(method, location));
  }

  /**
   * {@link CircuitBreakerResolver.breakerFor}: parses `did` as `resolve()` does. Asking is not a use:
   * an existing member is returned as it is (its idle time and rank stay what resolutions made them).
   */
  breakerForDid(did: unknown): CircuitBreaker {
    const parsed = typeof did === 'string' ? parse(did) : null;
    if (parsed === null) throw new TypeError(`breakerFor: ${describeValue(did)} is not a DID (did:<method>:<id>)`);
    const driver = this.registry[parsed.method];
    if (driver === undefined) {
      throw new TypeError(`breakerFor: ${did as string} goes through no breaker: no driver for did:${parsed.method} (its resolution answers unsupportedDidMethod)`);
    }
    const refined = driver.parser === undefined ? parsed : driver.parser(parsed);
    if (refined === null) throw new TypeError(`breakerFor: ${did as string} is not a valid did:${parsed.method} DID (the driver's parser refuses it)`);
    const location = parsed.method === 'web' ? didWebLocation(refined.id) : undefined;
    if (typeof location === 'string') throw new TypeError(`breakerFor: ${did as string}: ${location}`);
    const key = breakerKey(parsed.method, location);
    return this.family.ensure(key);
  }

  private async resolveThrough(call: DriverCall): Promise<DIDResolutionResult> {
    const { method, did, options } = call;
    let location: DidWebLocation | undefined;
    if (method === 'web') {
      const mapped = didWebLocation(call.parsed.id);
      if (typeof mapped === 'string') return failedResolution('invalidDid', `${did}: ${mapped}`);
      location = mapped;
    }
    const key = typeof options.accept === 'string' ? `${did}\n${options.accept}` : did;
    const cache = options.cache === false ? undefined : this.cache;
    const attributes = resolutionAttributes(did, method, location);
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
      const flight = this.callDriver(call, location, spanName, attributes, fallback !== undefined);
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
    call: DriverCall,
    location: DidWebLocation | undefined,
    spanName: string,
    attributes: Attributes,
    hasFallback: boolean,
  ): Promise<DIDResolutionResult | Failure> {
    const { method, driver, did, parsed, resolver, options } = call;
    const callerSignal = options['signal'] instanceof AbortSignal ? (options['signal'] as AbortSignal) : undefined;
    const onFailure: CacheStatus = hasFallback ? 'stale' : 'miss';
    let breaker: CircuitBreaker;
    try {
      breaker = this.breakerFor(method, location);
    } catch (error) {
      // No breaker to run through (the family is full of breakers in use): a plain span says so.
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
    throw new TypeError(`${WHAT}: cache must be an object { ttlMs?, staleIfErrorMs?, maxEntries? } or false; got ${describeValue(options)}`);
  }
  checkKnownKeys(`${WHAT}: cache`, options, ['ttlMs', 'staleIfErrorMs', 'maxEntries']);
  return new ResolutionCache(
    checkDurationMs(`${WHAT}: cache.ttlMs`, options.ttlMs ?? 300_000),
    checkDurationMs(`${WHAT}: cache.staleIfErrorMs`, options.staleIfErrorMs ?? 86_400_000),
    checkInteger(`${WHAT}: cache.maxEntries`, options.maxEntries ?? 1000, 1),
    () => clock.now(),
  );
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
  const marked = { ...result, didResolutionMetadata: { ...result.didResolutionMetadata, cache, ...extra } };
  return isTransientFailure(marked.didResolutionMetadata) ? markTransient(marked) : marked;
}

/**
 * A failure worth another try (see `isTransient` in @phlow/circuit-breaker): the host did not answer, or
 * answered "not now". A refusal of ours (open breaker, full family, address policy) is not: retrying
 * it only meets the same refusal.
 */
function isTransientFailure(metadata: DIDResolutionResult['didResolutionMetadata']): boolean {
  if (metadata.error === undefined) return false;
  const reason = metadata['reason'];
  if (reason === 'network' || reason === 'timeout') return true;
  const status = metadata['httpStatus'];
  return reason === 'http_status' && (status === 408 || status === 429 || status === 502 || status === 503 || status === 504);
}

/**
 * A did-resolver `Resolver` (drop it in where you resolve today) whose drivers run behind circuit
 * breakers — one per did:web host (`did/web:<host[:port]>`), one per other method (`did/<method>`),
 * members of one bounded family named `name` — with a bounded TTL cache that serves a recent document,
 * marked stale, when a host fails or its breaker is open. Like `Resolver`, `resolve()` never throws:
 * problems come back in `didResolutionMetadata.error` (with `reason`).
 *
 * @example
 * const resolver = new CircuitBreakerResolver({ ...getWebResolver(), ...getKeyResolver() });
 * const { didDocument, didResolutionMetadata } = await resolver.resolve('did:web:agents.example.com');
 * const { url } = await resolver.resolveServiceEndpoint('did:web:agents.example.com', ['A2AService', 'AgentService']);
 */
export class CircuitBreakerResolver extends Resolver {
  /** The family of this resolver's breakers (the `name` option; default `'did'`). */
  readonly name: string;
  readonly #protection: ProtectedResolution;

  /**
   * @param registry did-resolver drivers by method, e.g. `{ ...getWebResolver() }` or web-did-resolver's `getResolver()`.
   */
  constructor(registry: ResolverRegistry, options: CircuitBreakerResolverOptions = {}) {
    const protection = new ProtectedResolution(registry, options);
    super(protection.registry, { cache: false });
    this.#protection = protection;
    this.name = protection.name;
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

  /**
   * The breaker a resolution of `did` goes through, created on demand: `<name>/web:<host[:port]>` for
   * did:web (the host as the URL parser reads it), `<name>/<method>` otherwise. Asking does not count
   * as a use. Throws a `TypeError` for a DID that `resolve()` would answer without a breaker (not a
   * DID, no driver for its method, an invalid did:web host), and `CircuitFamilyFullError` when the
   * family has no room for a new member.
   *
   * @example
   * resolver.breakerFor('did:web:agents.example.com').getStats(); // breaker did/web:agents.example.com
   */
  breakerFor(did: string): CircuitBreaker {
    return this.#protection.breakerForDid(did);
  }
}
