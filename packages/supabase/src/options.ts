import type { TracerProvider } from '@opentelemetry/api';
import {
  CIRCUIT_BREAKER_OPTION_NAMES,
  checkFunction,
  checkInteger,
  checkKnownKeys,
  checkOneOf,
  getCircuitBreakerRegistry,
  withAdapterDefaults,
  type CircuitBreakerRegistry,
  type CircuitBreakerOptions,
} from '@phlow/circuit-breaker';
import { classifyStatus, type StatusClassifier } from './failure-classification.js';
import { refuseProtectedFetch } from './layering.js';
import { DEFAULT_REJECTION_STATUS, POSTGREST_RETRIED_STATUSES } from './rejection.js';

/** The guide's Supabase settings: "threshold 3, recovery 30 s, timeout 10 s". */
export const SUPABASE_DEFAULTS = { failureThreshold: 3, recoveryTimeoutMs: 30_000, timeoutMs: 10_000 } as const;

/** The largest response body read into memory inside a call: 10 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;

/** Breaker options the adapter passes on to `@phlow/circuit-breaker` (it owns the classification). */
export type SupabaseBreakerOptions = Omit<CircuitBreakerOptions, 'classifyResult' | 'expectedError'>;

/**
 * Options of the protection. Every breaker option of `@phlow/circuit-breaker` is accepted except
 * `classifyResult` and `expectedError` (use `classifyStatus`); the guide's Supabase defaults apply.
 */
export interface SupabaseCircuitOptions extends SupabaseBreakerOptions {
  /**
   * Name of the project's breakers (metrics label, logs, errors). Default `'supabase'`; one name per
   * project. With `perService` (the default) it names a family whose members are `{name}/rest`,
   * `{name}/storage`, `{name}/auth`, `{name}/functions` (and `{name}/realtime`, `{name}/other`);
   * without, the one breaker itself.
   */
  readonly name?: string;
  /**
   * One breaker per Supabase API, so a failing or slow API (storage, say) cannot get the others refused.
   * Default true. `false`: one breaker named `name` for every API of the project.
   */
  readonly perService?: boolean;
  /**
   * The largest response body read into memory inside a call (PostgREST, auth, functions, storage's
   * JSON API), in bytes: a larger one is cut off while it streams and the request fails with a
   * `ResponseTooLargeError` (not counted against the project). `Infinity` for no limit. Storage
   * downloads and event streams are never read inside a call. Default 10 MiB.
   */
  readonly maxBodyBytes?: number;
  /** Where the breakers live (shared by name, instrumented by `@phlow/otel`). Default: the process-wide registry. */
  readonly registry?: CircuitBreakerRegistry;
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
  /** Where spans go. Default: the global tracer provider. */
  readonly tracerProvider?: TracerProvider;
  /** The fetch underneath. Default: `globalThis.fetch`, looked up per request. */
  readonly fetch?: typeof fetch;
}

const ADAPTER_KEYS = ['name', 'perService', 'maxBodyBytes', 'registry', 'rejectWith', 'rejectionStatus', 'classifyStatus', 'tracerProvider', 'fetch'] as const;
/** The core's options this adapter passes through; it owns classification and does not restore state. */
const BREAKER_KEYS = CIRCUIT_BREAKER_OPTION_NAMES.filter(
  (key) => key !== 'expectedError' && key !== 'classifyResult' && key !== 'initialState',
);

/** Options after defaults and validation. */
export interface ResolvedSupabaseOptions {
  readonly name: string;
  readonly perService: boolean;
  readonly maxBodyBytes: number;
  readonly registry: CircuitBreakerRegistry;
  readonly rejectWith: 'response' | 'error';
  readonly rejectionStatus: number;
  readonly classifyStatus: StatusClassifier;
  readonly tracerProvider: TracerProvider | undefined;
  readonly fetch: typeof fetch | undefined;
  /** What goes to `registry.getBreaker` (the core validates it). */
  readonly breaker: CircuitBreakerOptions;
}

/** Applies defaults and validates; throws a TypeError/RangeError naming the option, the value and what is allowed. */
export function resolveSupabaseOptions(options: SupabaseCircuitOptions = {}): ResolvedSupabaseOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`@phlow/supabase options must be an object; got ${String(options)}`);
  }
  if ('classifyResult' in options || 'expectedError' in options) {
    throw new TypeError(
      '@phlow/supabase options: classifyResult and expectedError are set by the adapter (network errors and timeouts fail, statuses go through classifyStatus); use classifyStatus',
    );
  }
  checkKnownKeys('@phlow/supabase options', options, [...ADAPTER_KEYS, ...BREAKER_KEYS]);
  // An option set to null is a mistake to report, not a request for the default.
  const name = options.name === undefined ? 'supabase' : options.name;
  if (typeof name !== 'string' || name.length === 0 || name.includes('/')) {
    throw new TypeError(`name must be a non-empty string without "/" (it separates family and key in breaker names); got ${JSON.stringify(name)}`);
  }
  const perService = options.perService === undefined ? true : options.perService;
  if (typeof perService !== 'boolean') throw new TypeError(`perService must be true or false; got ${JSON.stringify(perService)}`);
  const maxBodyBytes = options.maxBodyBytes === undefined ? DEFAULT_MAX_BODY_BYTES : options.maxBodyBytes;
  if (maxBodyBytes !== Number.POSITIVE_INFINITY && !(typeof maxBodyBytes === 'number' && Number.isSafeInteger(maxBodyBytes) && maxBodyBytes >= 1)) {
    throw new RangeError(`maxBodyBytes must be an integer >= 1 (bytes) or Infinity (no limit); got ${String(maxBodyBytes)}`);
  }
  const registry = options.registry === undefined ? getCircuitBreakerRegistry() : options.registry;
  checkFunction('registry.getBreaker', (registry as unknown as Record<string, unknown>)?.['getBreaker']);
  checkFunction('registry.getFamily', (registry as unknown as Record<string, unknown>)?.['getFamily']);
  const rejectWith = checkOneOf('rejectWith', options.rejectWith === undefined ? 'response' : options.rejectWith, ['response', 'error'] as const);
  const rejectionStatus = checkInteger('rejectionStatus', options.rejectionStatus === undefined ? DEFAULT_REJECTION_STATUS : options.rejectionStatus, 500, 599);
  if (POSTGREST_RETRIED_STATUSES.includes(rejectionStatus)) {
    throw new RangeError(
      `rejectionStatus must be from 500 to 599 except ${POSTGREST_RETRIED_STATUSES.join(' and ')} (postgrest-js retries those on reads, turning a fast rejection into seconds); got ${rejectionStatus}`,
    );
  }
  if (options.fetch !== undefined) {
    refuseProtectedFetch('fetch', options.fetch, 'Pass the fetch underneath it instead (or nothing, for globalThis.fetch).');
  }
  const given: Record<string, unknown> = {};
  for (const key of BREAKER_KEYS) if (key in options) given[key] = options[key];
  const breaker = withAdapterDefaults(SUPABASE_DEFAULTS, given as CircuitBreakerOptions, '@phlow/supabase options');
  return {
    name,
    perService,
    maxBodyBytes,
    registry,
    rejectWith,
    rejectionStatus,
    classifyStatus: options.classifyStatus === undefined ? classifyStatus : checkFunction('classifyStatus', options.classifyStatus),
    tracerProvider: options.tracerProvider === undefined ? undefined : checkTracerProvider(options.tracerProvider),
    fetch: options.fetch === undefined ? undefined : checkFunction('fetch', options.fetch),
    breaker,
  };
}

function checkTracerProvider(provider: TracerProvider): TracerProvider {
  checkFunction('tracerProvider.getTracer', (provider as unknown as Record<string, unknown>)?.['getTracer']);
  return provider;
}
