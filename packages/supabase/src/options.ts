import type { Tracer } from '@opentelemetry/api';
import {
  type AdapterOptions,
  type CircuitBreakerOptions,
  type CircuitBreakerRegistry,
} from '@phlow/circuit-breaker';
import {
  ADAPTER_OPTION_NAMES,
  CIRCUIT_BREAKER_OPTION_NAMES,
  checkFunction,
  checkInteger,
  checkKnownKeys,
  checkOneOf,
  describeValue,
  resolveAdapterOptions,
} from '@phlow/circuit-breaker/internal';
import type { AdapterTelemetryOptions } from '@phlow/otel';
import { ADAPTER_TELEMETRY_OPTION_NAMES, adapterTracer } from '@phlow/otel/internal';
import { classifyStatus, type StatusClassifier } from './failure-classification.js';
import { refuseProtectedFetch } from './layering.js';
import { DEFAULT_REJECTION_STATUS, POSTGREST_RETRIED_STATUSES } from './rejection.js';
import { INSTRUMENTATION_SCOPE } from './telemetry-names.js';
import { VERSION } from './version.js';

/** The guide's Supabase settings: "threshold 3, recovery 30 s, timeout 10 s". */
export const SUPABASE_DEFAULTS = { failureThreshold: 3, recoveryTimeoutMs: 30_000, timeoutMs: 10_000 } as const;

/** The largest response body read into memory inside a call: 10 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;

/**
 * Breaker options the adapter passes on to `@phlow/circuit-breaker`: all of them but the classification
 * (the adapter owns it: use `classifyStatus`) and `initialState` (the breakers live in the registry).
 */
export type SupabaseBreakerOptions = Omit<CircuitBreakerOptions, 'classifyResult' | 'expectedError' | 'initialState'>;

/**
 * Options of the protection: the adapter options every `@phlow` adapter shares (`name`, `registry`,
 * `breaker`, `tracerProvider`), and Supabase's own.
 *
 * Here `name` defaults to `'supabase'` and names the family of the project's breakers: `{name}/rest`,
 * `{name}/storage`, `{name}/auth`, `{name}/functions`, `{name}/realtime`, `{name}/other` (one per API),
 * or the one member `{name}/all` with `perService: false`. One name per project. `breaker` goes over
 * the guide's Supabase defaults {@link SUPABASE_DEFAULTS} (threshold 3, recovery 30 s, timeout 10 s);
 * its `timeoutMs` covers headers and body (a storage download's: its headers).
 */
export interface SupabaseProtectionOptions extends AdapterOptions<SupabaseBreakerOptions>, AdapterTelemetryOptions {
  /**
   * One breaker per Supabase API, so a failing or slow API (storage, say) cannot get the others refused.
   * Default true. `false`: one breaker, `{name}/all`, for every API of the project.
   */
  readonly perService?: boolean;
  /**
   * The largest response body read into memory inside a call (PostgREST, auth, functions, storage's
   * JSON API), in bytes: a larger one is cut off while it streams and the request fails with a
   * `ResponseTooLargeError` (not counted against the project). `Infinity` for no limit. Storage
   * downloads and event streams are never read inside a call. Default 10 MiB.
   */
  readonly maxBodyBytes?: number;
  /**
   * How a refused request reaches the caller: `'response'` (default) answers it locally with
   * `rejectionStatus` and a PostgREST-shaped body, so the result reads `{ data: null, error: { code:
   * 'PHLOW_CIRCUIT_OPEN', … }, status: 529 }`; `'error'` makes the fetch reject with a
   * `CircuitOpenError`, which `.throwOnError()` passes on as it is.
   */
  readonly rejectWith?: 'response' | 'error';
  /** Status of a rejection response: 500–599 except 503 and 520, which postgrest-js retries. Default 529. */
  readonly rejectionStatus?: number;
  /** Judges an HTTP status: `failure`, `success` or `ignored`. Default: 5xx, 429 and 408 fail. */
  readonly classifyStatus?: StatusClassifier;
  /** The fetch underneath. Default: `globalThis.fetch`, looked up per request. */
  readonly fetch?: typeof fetch;
}

/** What every message about these options starts with. */
const WHAT = '@phlow/supabase options';

const OPTION_NAMES: readonly string[] = [
  ...ADAPTER_OPTION_NAMES,
  ...ADAPTER_TELEMETRY_OPTION_NAMES,
  'perService',
  'maxBodyBytes',
  'rejectWith',
  'rejectionStatus',
  'classifyStatus',
  'fetch',
];
/** Why the classification options are refused, and what to use instead. */
const OWNED_CLASSIFICATION =
  'breaker.classifyResult and breaker.expectedError are set by the adapter (network errors and timeouts fail, statuses go through classifyStatus); use classifyStatus';

/** The core's options this adapter passes through: it owns classification and does not restore state. */
const BREAKER_OPTION_NAMES = CIRCUIT_BREAKER_OPTION_NAMES.filter(
  (key) => key !== 'expectedError' && key !== 'classifyResult' && key !== 'initialState',
);

/** Options after defaults and validation. */
export interface ResolvedSupabaseOptions {
  /** The family of the project's breakers. */
  readonly name: string;
  readonly perService: boolean;
  readonly maxBodyBytes: number;
  readonly registry: CircuitBreakerRegistry;
  readonly rejectWith: 'response' | 'error';
  readonly rejectionStatus: number;
  readonly classifyStatus: StatusClassifier;
  readonly tracer: Tracer;
  readonly fetch: typeof fetch | undefined;
  /** The guide's defaults with the user's `breaker` over them (the core validates them). */
  readonly breaker: CircuitBreakerOptions;
}

/** Applies defaults and validates; throws a TypeError/RangeError naming the option, the value and what is allowed. */
export function resolveSupabaseOptions(options: SupabaseProtectionOptions = {}): ResolvedSupabaseOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${WHAT} must be an object; got ${describeValue(options)}`);
  }
  checkKnownKeys(WHAT, options, OPTION_NAMES);
  const { name, registry, breaker } = resolveAdapterOptions(WHAT, options, {
    name: 'supabase',
    breaker: SUPABASE_DEFAULTS,
    breakerOptionNames: BREAKER_OPTION_NAMES,
    ownedBreakerOptions: { classifyResult: OWNED_CLASSIFICATION, expectedError: OWNED_CLASSIFICATION },
  });
  // An option set to null is a mistake to report, not a request for the default.
  const perService = options.perService === undefined ? true : options.perService;
  if (typeof perService !== 'boolean') throw new TypeError(`${WHAT}: perService must be true or false; got ${describeValue(perService)}`);
  const maxBodyBytes = options.maxBodyBytes === undefined ? DEFAULT_MAX_BODY_BYTES : options.maxBodyBytes;
  if (maxBodyBytes !== Number.POSITIVE_INFINITY && !(typeof maxBodyBytes === 'number' && Number.isSafeInteger(maxBodyBytes) && maxBodyBytes >= 1)) {
    throw new RangeError(`${WHAT}: maxBodyBytes must be an integer >= 1 (bytes) or Infinity (no limit); got ${describeValue(maxBodyBytes)}`);
  }
  const rejectWith = checkOneOf(`${WHAT}: rejectWith`, options.rejectWith === undefined ? 'response' : options.rejectWith, ['response', 'error'] as const);
  const rejectionStatus = checkInteger(
    `${WHAT}: rejectionStatus`,
    options.rejectionStatus === undefined ? DEFAULT_REJECTION_STATUS : options.rejectionStatus,
    500,
    599,
  );
  if (POSTGREST_RETRIED_STATUSES.includes(rejectionStatus)) {
    throw new RangeError(
      `${WHAT}: rejectionStatus must be from 500 to 599 except ${POSTGREST_RETRIED_STATUSES.join(' and ')} (postgrest-js retries those on reads, turning a fast rejection into seconds); got ${rejectionStatus}`,
    );
  }
  if (options.fetch !== undefined) {
    refuseProtectedFetch('fetch', options.fetch, 'Pass the fetch underneath it instead (or nothing, for globalThis.fetch).');
  }
  return {
    name,
    perService,
    maxBodyBytes,
    registry,
    rejectWith,
    rejectionStatus,
    classifyStatus: options.classifyStatus === undefined ? classifyStatus : checkFunction(`${WHAT}: classifyStatus`, options.classifyStatus),
    tracer: adapterTracer(WHAT, options, INSTRUMENTATION_SCOPE, VERSION),
    fetch: options.fetch === undefined ? undefined : checkFunction(`${WHAT}: fetch`, options.fetch),
    breaker,
  };
}
