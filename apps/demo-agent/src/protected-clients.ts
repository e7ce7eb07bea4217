/**
 * The agent's dependencies, each reached through its breakers: the Supabase client (registry and
 * messages), the DID resolvers (the operator's DID host, and strangers' hosts apart), the relay to
 * peers, and the outbox that keeps the exchanges Supabase could not take.
 */
import { rmSync } from 'node:fs';
import type { Meter } from '@opentelemetry/api';
import type { CircuitBreaker, CircuitBreakerRegistry } from '@phlow/circuit-breaker';
import { CircuitBreakerResolver, getWebResolver } from '@phlow/did-resolver';
import { breakerFor, createClient } from '@phlow/supabase';
import type { SupabaseClient } from '@supabase/supabase-js';
import { breakerOptions } from './breaker-options.js';
import type { DemoConfig } from './config.js';
import { foreignBreakers } from './foreign-breakers.js';
import { MessageOutbox } from './outbox.js';
import { DID_PEERS, OPERATOR_PEERS } from './peer-identity.js';
import { Relay } from './relay.js';
import type { Dependencies, KnownPeer } from './stand-ins.js';

/** Family of the resolver of strangers' DIDs (its did:web hosts' breakers: `foreign-did/web:<host>`). */
const FOREIGN_DID = 'foreign-did';

/** How long a DID document is served stale while its host is down: a day. */
const STALE_IF_ERROR_MS = 86_400_000;
/** Most DID documents cached, per resolver. */
const MAX_CACHED_DOCUMENTS = 1_000;
/** Most strangers' did:web hosts with a breaker at once. */
const MAX_FOREIGN_DID_HOSTS = 200;

export interface ProtectedClients {
  readonly supabase: SupabaseClient;
  /** Resolves the operator's agent DIDs (on the configured DID host). */
  readonly resolver: CircuitBreakerResolver;
  /** Resolves every other DID, with breakers and a cache of its own. */
  readonly didPeerResolver: CircuitBreakerResolver;
  readonly relay: Relay;
  readonly outbox: MessageOutbox;
  /** The breaker of the Supabase API the agent uses (`rest`: the registry and the messages). Asked each time: an idle one is retired. */
  supabaseBreaker(): CircuitBreaker;
  /** The breaker of the configured DID host, when there is one (asked each time, too). */
  didHostBreaker(): CircuitBreaker | undefined;
  /** Names of the breakers a stranger can make fail (strangers' peers and their did:web hosts), now. */
  foreignBreakers(): Set<string>;
  /**
   * Creates every known peer's breaker and client, caches its DID document, touches the registry, so
   * the dashboard lists every breaker from the start. Failures here are the breakers' business.
   */
  warmUp(peers: readonly KnownPeer[]): Promise<void>;
  /** Closes the outbox: what it accepted is committed on disk; a replay in flight gets `timeoutMs`. */
  close(timeoutMs?: number): Promise<void>;
}

export function createProtectedClients(config: DemoConfig, deps: Dependencies, registry: CircuitBreakerRegistry, meter?: Meter): ProtectedClients {
  const supabase = createClient(deps.supabaseUrl, deps.supabaseKey, {
    protection: { registry, ...breakerOptions(config, config.supabaseTimeoutMs) },
    auth: { persistSession: false, autoRefreshToken: false },
  });

  const didCas = [deps.didCa, config.didCa].filter((pem): pem is string => pem !== undefined);
  const didCa = didCas.length === 0 ? {} : { ca: didCas };
  // The embedded DID host is on loopback; a real one must not resolve to a private address (SSRF guard)
  // unless told. The loopback exception is the operator's DID host's alone: strangers' DIDs never get
  // it (else a DID naming localhost:<port> makes the agent connect to any port of its machine).
  const didAllowPrivate = process.env['DID_ALLOW_PRIVATE'] === '1';
  const didProtection = { registry, ...breakerOptions(config, config.didTimeoutMs) };
  const didCache = { ttlMs: config.didCacheTtlMs, staleIfErrorMs: STALE_IF_ERROR_MS, maxEntries: MAX_CACHED_DOCUMENTS };
  const operatorDidAddresses = didAllowPrivate ? true : deps.embedded.includes('did-host') ? ['127.0.0.1', '::1'] : false;
  const resolver = new CircuitBreakerResolver(getWebResolver({ allowPrivateAddresses: operatorDidAddresses, ...didCa }), { ...didProtection, cache: didCache });
  // Strangers' DIDs: a resolver, breaker family and cache of their own.
  const didPeerResolver = new CircuitBreakerResolver(getWebResolver({ allowPrivateAddresses: didAllowPrivate, ...didCa }), {
    ...didProtection,
    name: FOREIGN_DID,
    maxKeys: MAX_FOREIGN_DID_HOSTS,
    cache: didCache,
  });

  // One breaker per Supabase API: the registry and the messages are both REST.
  const supabaseBreaker = () => breakerFor(supabase);
  const outbox = new MessageOutbox(supabase, { path: config.outboxPath, breaker: supabaseBreaker, ...(meter === undefined ? {} : { meter }) });
  const relay = new Relay({
    registry,
    ...breakerOptions(config, config.peerTimeoutMs),
    supabase,
    resolver,
    didPeerResolver,
    didWebHost: deps.didWebHost,
    // The embedded peers listen on loopback; real ones must not be on a private address (SSRF guard) unless told.
    peerAddresses: config.a2aAllowPrivate ? true : deps.embedded.some((name) => name.startsWith('peer-')) ? ['127.0.0.1', '::1'] : false,
    // Strangers' endpoints (DIDs on other hosts) never reach a private address unless the operator says so.
    didPeerAddresses: config.a2aAllowPrivate,
    outbox,
  });

  // The DID of the host itself: its resolutions go through the host's breaker, as its agents' do.
  const didHost = deps.didWebHost === undefined ? undefined : `did:web:${deps.didWebHost}`;
  const didHostBreaker = () => {
    if (didHost === undefined) return undefined;
    try {
      return resolver.breakerFor(didHost);
    } catch {
      // DID_WEB_HOST names no did:web host (the resolver says why at each resolution): no breaker to show.
      return undefined;
    }
  };
  return {
    supabase,
    resolver,
    didPeerResolver,
    relay,
    outbox,
    supabaseBreaker,
    didHostBreaker,
    foreignBreakers: () => foreignBreakers(registry, { strangers: [DID_PEERS, didPeerResolver.name], operatorDids: { family: resolver.name, own: didHostBreaker } }),
    warmUp: async (peers) => {
      await Promise.allSettled([
        supabase.from('agent_cards').select('id').limit(1).retry(false),
        ...peers.map((peer) => relay.clientFor({ family: OPERATOR_PEERS, key: peer.id }, peer.url)),
        ...peers.flatMap((peer) => (peer.did === undefined ? [] : [resolver.resolve(peer.did)])),
      ]);
    },
    close: async (timeoutMs) => {
      await outbox.close(timeoutMs);
      // The embedded database is gone with this process: nothing in its outbox could ever land.
      if (config.outboxIsTemporary) for (const suffix of ['', '-wal', '-shm']) rmSync(`${config.outboxPath}${suffix}`, { force: true });
    },
  };
}
