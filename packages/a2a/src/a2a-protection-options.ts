import { trace, type Tracer } from '@opentelemetry/api';
import {
  checkDurationMs,
  checkInteger,
  checkKnownKeys,
  getCircuitBreakerRegistry,
  withAdapterDefaults,
  type CircuitBreakerOptions,
  type CircuitBreakerRegistry,
  type FamilyOptions,
} from '@phlow/circuit-breaker';
import { isA2aPeerFailure } from './classify-a2a-error.js';
import { INSTRUMENTATION_SCOPE } from './telemetry-names.js';
import { VERSION } from './version.js';

/** Options of {@link protectA2aClient}. */
export interface ProtectA2aClientOptions {
  /**
   * The peer's key: its breaker is `{family}/{peer}` (e.g. `a2a/planner.example.com`), shared by every
   * client protected with the same peer and registry. Keep it low-cardinality: a host, or an agent name.
   */
  readonly peer: string;
  /** The peer's URL (agent card or interface URL): sets `server.address` / `server.port` on spans. */
  readonly url?: string;
  /** Registry holding the breaker family. Default: `getCircuitBreakerRegistry()`. */
  readonly registry?: CircuitBreakerRegistry;
  /** Name of the keyed breaker family (no `/`). Default `'a2a'`. */
  readonly family?: string;
  /**
   * Options of every peer breaker, over the guide's A2A defaults {@link A2A_BREAKER_DEFAULTS}
   * (threshold 3, recovery 45 s, timeout 20 s, A2A failure classification). They are the family's:
   * protecting a second client with different ones throws (define them once).
   */
  readonly breaker?: CircuitBreakerOptions;
  /** Most peer breakers held at once (the family's `maxKeys`). Default 1000. */
  readonly maxPeers?: number;
  /** A closed peer breaker unused this long is retired (the family's `idleTtlMs`). Default 600 000 ms. */
  readonly peerIdleTtlMs?: number;
  /**
   * Streams only: the longest wait for the next event once the first has arrived (ms); `0` turns it
   * off. Default: the breaker's `timeoutMs` (20 s). The first event is bounded by the breaker's
   * `timeoutMs` itself.
   */
  readonly streamIdleTimeoutMs?: number;
  /** Tracer for the client spans. Default: the global tracer provider's `@phlow/a2a` tracer. */
  readonly tracer?: Tracer;
}

/** The guide's A2A breaker: 3 failures open it, 45 s before a probe, 20 s per call. */
export const A2A_BREAKER_DEFAULTS = Object.freeze({
  failureThreshold: 3,
  recoveryTimeoutMs: 45_000,
  timeoutMs: 20_000,
  expectedError: isA2aPeerFailure,
} satisfies CircuitBreakerOptions);

/** Default family name. */
export const DEFAULT_A2A_FAMILY = 'a2a';

const OPTION_NAMES = ['peer', 'url', 'registry', 'family', 'breaker', 'maxPeers', 'peerIdleTtlMs', 'streamIdleTimeoutMs', 'tracer'] as const;

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  return String(value);
}

/** @internal Options checked and defaulted. */
export interface ResolvedProtection {
  readonly peer: string;
  readonly server: { readonly address: string; readonly port: number | undefined } | undefined;
  readonly registry: CircuitBreakerRegistry;
  readonly family: string;
  readonly breakerOptions: CircuitBreakerOptions;
  readonly familyOptions: FamilyOptions;
  readonly streamIdleTimeoutMs: number;
  readonly tracer: Tracer;
}

/** @internal The host and port of a URL, as `server.address` / `server.port` want them. */
export function serverOf(url: string): { address: string; port: number | undefined } {
  const parsed = new URL(url);
  const address = parsed.hostname.startsWith('[') ? parsed.hostname.slice(1, -1) : parsed.hostname;
  const port = parsed.port !== '' ? Number(parsed.port) : parsed.protocol === 'https:' ? 443 : parsed.protocol === 'http:' ? 80 : undefined;
  return { address, port };
}

/** @internal */
export function resolveProtection(what: string, options: ProtectA2aClientOptions): ResolvedProtection {
  if (typeof options !== 'object' || options === null) throw new TypeError(`${what}: options must be an object such as { peer: 'planner' }; got ${show(options)}`);
  checkKnownKeys(what, options, OPTION_NAMES);
  const { peer, url, registry, family, breaker, tracer } = options;
  if (typeof peer !== 'string' || peer.trim() === '') throw new TypeError(`${what}: option "peer" must be a non-empty string (a host or agent name); got ${show(peer)}`);
  let server: ResolvedProtection['server'];
  if (url !== undefined) {
    if (typeof url !== 'string' || !URL.canParse(url)) throw new TypeError(`${what}: option "url" must be an absolute URL string; got ${show(url)}`);
    server = serverOf(url);
  }
  if (registry !== undefined && (typeof registry !== 'object' || registry === null || typeof registry.getFamily !== 'function')) {
    throw new TypeError(`${what}: option "registry" must be a CircuitBreakerRegistry; got ${show(registry)}`);
  }
  if (family !== undefined && (typeof family !== 'string' || family === '' || family.includes('/'))) {
    throw new TypeError(`${what}: option "family" must be a non-empty string without "/"; got ${show(family)}`);
  }
  if (breaker !== undefined && (typeof breaker !== 'object' || breaker === null)) {
    throw new TypeError(`${what}: option "breaker" must be an object of circuit breaker options; got ${show(breaker)}`);
  }
  if (tracer !== undefined && (typeof tracer !== 'object' || tracer === null || typeof tracer.startSpan !== 'function')) {
    throw new TypeError(`${what}: option "tracer" must be an OpenTelemetry Tracer; got ${show(tracer)}`);
  }
  // A failure policy of the user's replaces the default threshold (they are exclusive in the core).
  const breakerOptions = withAdapterDefaults(A2A_BREAKER_DEFAULTS, breaker, `${what}: option "breaker"`);
  const familyOptions: FamilyOptions = {
    maxKeys: options.maxPeers === undefined ? 1000 : checkInteger(`${what}: maxPeers`, options.maxPeers, 1),
    idleTtlMs: options.peerIdleTtlMs === undefined ? 600_000 : checkDurationMs(`${what}: peerIdleTtlMs`, options.peerIdleTtlMs, 1),
  };
  const timeoutMs = typeof breakerOptions.timeoutMs === 'number' ? breakerOptions.timeoutMs : A2A_BREAKER_DEFAULTS.timeoutMs;
  const streamIdleTimeoutMs =
    options.streamIdleTimeoutMs === undefined ? timeoutMs : checkDurationMs(`${what}: streamIdleTimeoutMs`, options.streamIdleTimeoutMs, 0);
  return {
    peer,
    server,
    registry: registry ?? getCircuitBreakerRegistry(),
    family: family ?? DEFAULT_A2A_FAMILY,
    breakerOptions,
    familyOptions,
    streamIdleTimeoutMs,
    tracer: tracer ?? trace.getTracer(INSTRUMENTATION_SCOPE, VERSION),
  };
}
