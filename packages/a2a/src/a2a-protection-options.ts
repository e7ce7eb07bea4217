import type { Attributes, Tracer } from '@opentelemetry/api';
import { ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT } from '@opentelemetry/semantic-conventions';
import type { CircuitBreakerFamily, CircuitBreakerOptions, CircuitBreakerRegistry, FamilyOptions, KeyedAdapterOptions } from '@phlow/circuit-breaker';
import {
  checkDurationMs,
  checkKnownKeys,
  describeValue,
  KEYED_ADAPTER_OPTION_NAMES,
  resolveAdapterOptions,
  resolveFamilyBounds,
} from '@phlow/circuit-breaker/internal';
import type { AdapterTelemetryOptions } from '@phlow/otel';
import { ADAPTER_TELEMETRY_OPTION_NAMES, adapterTracer } from '@phlow/otel/internal';
import { isA2aPeerFailure } from './classify-a2a-error.js';
import { INSTRUMENTATION_SCOPE } from './telemetry-names.js';
import { VERSION } from './version.js';

/**
 * Options of {@link protectA2aClient}: the adapter options every `@phlow` adapter shares (`name`,
 * `registry`, `breaker`, `maxKeys`, `idleTtlMs`, `tracerProvider`), and the peer's own.
 *
 * Here `name` defaults to `'a2a'` (a peer's breaker is `a2a/{peer}`), and `breaker` goes over the
 * guide's A2A defaults {@link A2A_BREAKER_DEFAULTS} (threshold 3, recovery 45 s, timeout 20 s, A2A
 * failure classification).
 */
export interface ProtectA2aClientOptions extends KeyedAdapterOptions<CircuitBreakerOptions>, AdapterTelemetryOptions {
  /**
   * The peer's key: its breaker is `{name}/{peer}` (e.g. `a2a/planner.example.com`), shared by every
   * client protected with the same peer and registry. Keep it low-cardinality: a host, or an agent name.
   */
  readonly peer: string;
  /** The peer's URL (agent card or interface URL): sets `server.address` / `server.port` on spans. */
  readonly url?: string;
  /**
   * Streams only: the longest wait for the next event once the first has arrived (ms); `0` turns it
   * off. Default: the breaker's `timeoutMs` (20 s). The first event is bounded by the breaker's
   * `timeoutMs` itself.
   */
  readonly streamIdleTimeoutMs?: number;
}

/** The guide's A2A breaker: 3 failures open it, 45 s before a probe, 20 s per call. */
export const A2A_BREAKER_DEFAULTS = Object.freeze({
  failureThreshold: 3,
  recoveryTimeoutMs: 45_000,
  timeoutMs: 20_000,
  expectedError: isA2aPeerFailure,
} satisfies CircuitBreakerOptions);

/** @internal Every option {@link protectA2aClient} takes: the shared ones, then the peer's own. */
export const PROTECT_OPTION_NAMES = Object.freeze([...KEYED_ADAPTER_OPTION_NAMES, ...ADAPTER_TELEMETRY_OPTION_NAMES, 'peer', 'url', 'streamIdleTimeoutMs'] as const);

/** @internal Options checked and defaulted. */
export interface ResolvedProtection {
  readonly peer: string;
  /** `server.address` / `server.port` of the peer's URL; empty without one. */
  readonly serverAttributes: Attributes;
  readonly registry: CircuitBreakerRegistry;
  /** The family name: the peer's breaker is `{name}/{peer}`. */
  readonly name: string;
  readonly breakerOptions: CircuitBreakerOptions;
  readonly familyOptions: FamilyOptions;
  readonly streamIdleTimeoutMs: number;
  readonly tracer: Tracer;
}

/** The host and port of a URL as `server.address` / `server.port` want them (no brackets, the scheme's port). */
function serverAttributes(url: string): Attributes {
  const parsed = new URL(url);
  const address = parsed.hostname.startsWith('[') ? parsed.hostname.slice(1, -1) : parsed.hostname;
  const port = parsed.port !== '' ? Number(parsed.port) : parsed.protocol === 'https:' ? 443 : parsed.protocol === 'http:' ? 80 : undefined;
  return port === undefined ? { [ATTR_SERVER_ADDRESS]: address } : { [ATTR_SERVER_ADDRESS]: address, [ATTR_SERVER_PORT]: port };
}

/** @internal The breaker family of resolved options (the registry's, created on first use). */
export function peerFamily(settings: ResolvedProtection): CircuitBreakerFamily {
  return settings.registry.getFamily(settings.name, settings.breakerOptions, settings.familyOptions);
}

/**
 * @internal Checks and defaults {@link ProtectA2aClientOptions}; every message starts with `what` and
 * names the option, the value and what is allowed. `known` is every option name the caller accepts
 * (createA2aClient takes more).
 */
export function resolveProtection(what: string, options: ProtectA2aClientOptions, known: readonly string[] = PROTECT_OPTION_NAMES): ResolvedProtection {
  if (typeof options !== 'object' || options === null) throw new TypeError(`${what}: options must be an object such as { peer: 'planner' }; got ${describeValue(options)}`);
  checkKnownKeys(what, options, known);
  const { peer, url } = options;
  if (typeof peer !== 'string' || peer.trim() === '') throw new TypeError(`${what}: peer must be a non-empty string (a host or agent name); got ${describeValue(peer)}`);
  if (url !== undefined && (typeof url !== 'string' || !URL.canParse(url))) {
    throw new TypeError(`${what}: url must be an absolute URL string; got ${describeValue(url)}`);
  }
  // A failure policy of the user's replaces the default threshold (they are exclusive in the core).
  const shared = resolveAdapterOptions(what, options, { name: 'a2a', breaker: A2A_BREAKER_DEFAULTS });
  const timeoutMs = typeof shared.breaker.timeoutMs === 'number' ? shared.breaker.timeoutMs : A2A_BREAKER_DEFAULTS.timeoutMs;
  const streamIdleTimeoutMs =
    options.streamIdleTimeoutMs === undefined ? timeoutMs : checkDurationMs(`${what}: streamIdleTimeoutMs`, options.streamIdleTimeoutMs, 0);
  return {
    peer,
    serverAttributes: url === undefined ? {} : serverAttributes(url),
    registry: shared.registry,
    name: shared.name,
    breakerOptions: shared.breaker,
    familyOptions: resolveFamilyBounds(what, options),
    streamIdleTimeoutMs,
    tracer: adapterTracer(what, options, INSTRUMENTATION_SCOPE, VERSION),
  };
}
