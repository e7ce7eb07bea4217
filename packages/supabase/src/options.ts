import type { TracerProvider } from '@opentelemetry/api';
import {
  CIRCUIT_BREAKER_OPTION_NAMES,
  checkFunction,
  checkInteger,
  checkKnownKeys,
  checkOneOf,
  getCircuitBreakerRegistry,
  type CircuitBreakerRegistry,
  type CircuitBreakerOptions,
} from '@phlow/circuit-breaker';
import { classifyStatus, type StatusClassifier } from './failure-classification.js';
import { DEFAULT_REJECTION_STATUS, POSTGREST_RETRIED_STATUSES } from './rejection.js';

/** The guide's Supabase settings: "threshold 3, recovery 30 s, timeout 10 s". */
export const SUPABASE_DEFAULTS = { failureThreshold: 3, recoveryTimeoutMs: 30_000, timeoutMs: 10_000 } as const;

/** Breaker options the adapter passes on to `@phlow/circuit-breaker` (it owns the classification). */
export type SupabaseBreakerOptions = Omit<CircuitBreakerOptions, 'classifyResult' | 'expectedError'>;

/**
 * Options of the protection. Every breaker option of `@phlow/circuit-breaker` is accepted except
 * `classifyResult` and `expectedError` (use `classifyStatus`); the guide's Supabase defaults apply.
 */
export interface SupabaseCircuitOptions extends SupabaseBreakerOptions {
  /** Breaker name (metrics label, logs, errors). Default `'supabase'`; one name per project. */
  readonly name?: string;
  /** One breaker per API (`{name}/rest`, `{name}/auth`, `{name}/storage`, `{name}/functions`, …) instead of one per project. Default false. */
  readonly perService?: boolean;
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

const ADAPTER_KEYS = ['name', 'perService', 'registry', 'rejectWith', 'rejectionStatus', 'classifyStatus', 'tracerProvider', 'fetch'] as const;
/** The core's options this adapter passes through; it owns classification and does not restore state. */
const BREAKER_KEYS = CIRCUIT_BREAKER_OPTION_NAMES.filter(
  (key) => key !== 'expectedError' && key !== 'classifyResult' && key !== 'initialState',
);

/** Options after defaults and validation. */
export interface ResolvedSupabaseOptions {
  readonly name: string;
  readonly perService: boolean;
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
  const name = options.name ?? 'supabase';
  if (typeof name !== 'string' || name.length === 0) {
    throw new TypeError(`name must be a non-empty string; got ${JSON.stringify(name)}`);
  }
  const perService = options.perService ?? false;
  if (typeof perService !== 'boolean') throw new TypeError(`perService must be true or false; got ${JSON.stringify(perService)}`);
  const registry = options.registry ?? getCircuitBreakerRegistry();
  checkFunction('registry.getBreaker', (registry as unknown as Record<string, unknown>)?.['getBreaker']);
  const rejectWith = checkOneOf('rejectWith', options.rejectWith ?? 'response', ['response', 'error'] as const);
  const rejectionStatus = checkInteger('rejectionStatus', options.rejectionStatus ?? DEFAULT_REJECTION_STATUS, 500, 599);
  if (POSTGREST_RETRIED_STATUSES.includes(rejectionStatus)) {
    throw new RangeError(
      `rejectionStatus must be from 500 to 599 except ${POSTGREST_RETRIED_STATUSES.join(' and ')} (postgrest-js retries those on reads, turning a fast rejection into seconds); got ${rejectionStatus}`,
    );
  }
  const breaker: Record<string, unknown> = { ...SUPABASE_DEFAULTS };
  if (options.failurePolicy !== undefined) delete breaker['failureThreshold'];
  for (const key of BREAKER_KEYS) if (options[key] !== undefined) breaker[key] = options[key];
  return {
    name,
    perService,
    registry,
    rejectWith,
    rejectionStatus,
    classifyStatus: options.classifyStatus === undefined ? classifyStatus : checkFunction('classifyStatus', options.classifyStatus),
    tracerProvider: options.tracerProvider === undefined ? undefined : checkTracerProvider(options.tracerProvider),
    fetch: options.fetch === undefined ? undefined : checkFunction('fetch', options.fetch),
    breaker: breaker as CircuitBreakerOptions,
  };
}

function checkTracerProvider(provider: TracerProvider): TracerProvider {
  checkFunction('tracerProvider.getTracer', (provider as unknown as Record<string, unknown>)?.['getTracer']);
  return provider;
}
