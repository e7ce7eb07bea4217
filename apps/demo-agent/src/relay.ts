/**
 * The agent's skill: relay a message to a peer named by agent id or DID, through every protected
 * dependency the way Phlow's middleware uses them, degrading step by step:
 *
 *   1. look the peer up in the Supabase registry (`agent_cards`), with a budgeted retry of transient
 *      failures (@phlow/resilience) — breaker open or failing → step 2;
 *   2. resolve its DID document and take the A2A service endpoint — host breaker open or failing →
 *      the cached (stale) document — and, when neither answers, the peer's last-known address: the
 *      three as one fallback chain, which says which tier answered and why the others did not;
 *   3. send the message through the peer's bulkhead (a bounded number of calls per peer, so one slow
 *      peer cannot take every connection) and its breaker (@phlow/a2a) — breaker open → an immediate
 *      answer naming the peer and when to retry;
 *   4. record the exchange in Supabase (`messages`) — not reachable → the outbox, replayed when the
 *      Supabase breaker lets requests through again.
 */
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Message, Task } from '@a2a-js/sdk';
import type { Client } from '@a2a-js/sdk/client';
import { breakerFor, createA2aClient, messageText, textMessageRequest, type CreateA2aClientOptions } from '@phlow/a2a';
import { CircuitBreakerError, CircuitOpenError, CircuitTimeoutError, type CircuitBreaker, type CircuitBreakerRegistry, type CircuitBreakerOptions } from '@phlow/circuit-breaker';
import type { CircuitBreakerResolver } from '@phlow/did-resolver';
import { isCircuitRejection } from '@phlow/supabase';
import type { SupabaseClient } from '@supabase/supabase-js';
import { fetch as undiciFetch } from 'undici';
import { bulkheadFamily, fallback, FallbackExhaustedError, pipeline, retry, retryBudget, BulkheadRejectedError, type BulkheadFamily, type Fallback, type Pipeline, type PolicyContext } from '@phlow/resilience';
import { BoundedMap } from './bounded-map.js';
import { LastKnownAddresses } from './last-known-addresses.js';
import { OutboxError } from '@phlow/supabase-outbox';
import { storableReply, type MessageOutbox, type MessageRow } from './outbox.js';
import { AgentDidNamespace, DID_PEERS, OPERATOR_PEERS, isAgentId, parseTarget, type PeerIdentity, type RelayTarget } from './peer-identity.js';

/** How the peer's address was found. */
export type ResolvedVia = 'registry' | 'did' | 'did-stale' | 'last-known';

export interface RelaySuccess {
  readonly ok: true;
  /** The peer's key: its agent id, or its DID when it is known only by a DID on another host. */
  readonly peer: string;
  /** The peer's breaker (`a2a/<agent id>` or `a2a-did/<DID>`). */
  readonly breaker: string;
  readonly url: string;
  readonly via: ResolvedVia;
  readonly reply: string;
  /** `stored`: in Supabase now; `outbox`: queued, replayed once Supabase is back. */
  readonly recorded: 'stored' | 'outbox';
  /** What degraded on the way (registry down, stale DID document, ...). */
  readonly notes: readonly string[];
}

export interface RelayFailure {
  readonly ok: false;
  /** HTTP status for the REST route: 503 unavailable (the guide's), 404 unknown peer, 502 the peer (or its DID document) failed, 400 bad input. */
  readonly status: 400 | 404 | 502 | 503 | 504;
  /** The peer's key once known, else the target as given. */
  readonly peer: string;
  /** The peer's breaker, once it has one (a peer never called, e.g. its DID did not resolve, has none). */
  readonly breaker?: string | undefined;
  /** One sentence for a person: which peer (or dependency) is unavailable and when to retry. */
  readonly message: string;
  /** When the peer's breaker lets a probe through, when known. */
  readonly retryAfterMs?: number | undefined;
  readonly notes: readonly string[];
}

export type RelayResult = RelaySuccess | RelayFailure;

export interface RelayOptions {
  readonly registry: CircuitBreakerRegistry;
  readonly supabase: SupabaseClient;
  /** Resolves the operator's agent DIDs (`did:web:<didWebHost>:agents:<id>`, exactly that spelling). */
  readonly resolver: CircuitBreakerResolver;
  /**
   * Resolves every other DID (anyone's). A resolver of its own, so strangers' hosts fill their own
   * breaker family and document cache, never the operator's: a flood of DIDs on hosts an attacker
   * invents cannot push the operator's DID host out of its family, nor its cached documents (the
   * stale copies served while that host is down) out of the cache. Default: `resolver`.
   */
  readonly didPeerResolver?: CircuitBreakerResolver;
  /** did:web authority of agent DIDs: agent `x` is `did:web:<authority>:agents:x` (the DID fallback for an id). */
  readonly didWebHost: string | undefined;
  /** Options of every peer breaker (one object: a family takes one configuration), as the A2A adapter takes them. */
  readonly breaker: CircuitBreakerOptions;
  readonly outbox: MessageOutbox;
  /**
   * Which addresses peers' A2A endpoints may connect to (`@phlow/a2a`'s address policy): `false`
   * refuses loopback, private, link-local and metadata addresses; a list allows those; `true` all.
   */
  readonly peerAddresses: CreateA2aClientOptions['allowPrivateAddresses'];
  /**
   * The same for peers known only by a DID on another host (anyone's document names their endpoint).
   * Default `false`: no private address, whatever `peerAddresses` allows the operator's peers.
   */
  readonly didPeerAddresses?: CreateA2aClientOptions['allowPrivateAddresses'];
  /** Most breakers (and clients) for peers known only by a DID on another host. Default 200. */
  readonly maxDidPeers?: number;
}

/** Parses `<peer> <text>`: the first word names the peer (agent id or DID), the rest is the message. */
export function parseRelayText(input: string): { target: string; text: string } | undefined {
  const match = /^\s*(\S+)\s+([\s\S]+?)\s*$/.exec(input);
  if (match === null) return undefined;
  return { target: match[1]!.replace(/^@/, ''), text: match[2]! };
}



function replyText(result: Message | Task): string {
  if ('role' in result) return messageText(result);
  const status = messageText(result.status?.message);
  if (status !== '') return status;
  for (const artifact of result.artifacts) for (const part of artifact.parts) if (part.content?.$case === 'text') return part.content.value;
  return `task ${result.id}: ${String(result.status?.state)}`;
}

const tracer = trace.getTracer('phlow-demo-agent');

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/**
 * The peer's card names the address the peer listens on; the registry (or DID document) names where
 * we reach it — behind a proxy, a gateway, or here the fault proxy. Trust the address we looked up:
 * keep the card's paths, take the origin of the URL we fetched it from.
 */
const cardFromLookedUpOrigin: typeof fetch = async (input, init) => {
  // init carries the address guard's dispatcher (undici 8): only undici 8's own fetch takes it (the global
  // fetch of Node 22 and 24 bundles an older undici). Its Response is the same WHATWG Response.
  const response = (await undiciFetch(input instanceof Request ? input.url : input, init as never)) as unknown as Response;
  if (!response.ok) return response;
  const card = (await response.json()) as { supportedInterfaces?: { url: string }[] };
  const origin = new URL(input instanceof Request ? input.url : String(input)).origin;
  for (const iface of card.supportedInterfaces ?? []) {
    const url = new URL(iface.url);
    iface.url = `${origin}${url.pathname}${url.search}`;
  }
  return new Response(JSON.stringify(card), { status: response.status, headers: { 'content-type': 'application/json' } });
};

/** A peer's address as found, and who vouches for it. */
interface Found {
  readonly peer: PeerIdentity;
  readonly url: string;
  readonly via: ResolvedVia;
}

export class Relay {
  readonly #options: RelayOptions;
  readonly #namespace: AgentDidNamespace;
  /** Clients by family: a flood of strangers' DIDs evicts strangers' clients, never the operator's peers'. */
  readonly #clients: Record<PeerIdentity['family'], BoundedMap<string, Promise<Client>>>;
  readonly #lastKnown: LastKnownAddresses;
  /** The registry lookup, its transient failures retried within a budget shared by every lookup. */
  readonly #lookup: Pipeline;
  /** registry → DID → last-known, as one chain. */
  readonly #address: Fallback<Found, Lookup>;
  /** Calls in flight per peer, by family: a flood of strangers' DIDs never takes the operator's peers' slots. */
  readonly #bulkheads: Record<PeerIdentity['family'], BulkheadFamily>;
  #relayed = 0;
  #failed = 0;

  constructor(options: RelayOptions) {
    this.#options = options;
    this.#namespace = new AgentDidNamespace(options.didWebHost);
    const maxDidPeers = options.maxDidPeers ?? 200;
    // Operator peers are as many as the registry holds (the family's default bound, 1000).
    this.#clients = { [OPERATOR_PEERS]: new BoundedMap(1_000), [DID_PEERS]: new BoundedMap(maxDidPeers) };
    this.#lastKnown = new LastKnownAddresses({ [OPERATOR_PEERS]: 1_000, [DID_PEERS]: maxDidPeers });
    const registry = options.registry;
    // At most one retry per ten lookups (plus 2 a second): under an outage retries add 10 %, not 200 %.
    this.#lookup = pipeline(
      retry({ name: 'registry-lookup', registry, maxAttempts: 3, backoff: { initialDelayMs: 50, maxDelayMs: 500 }, budget: retryBudget({ ratio: 0.1, minRetriesPerSecond: 2 }) }),
    );
    this.#address = fallback(
      { name: 'peer-address', registry, fallThroughOn: (failure, kind) => kind === 'error' && !(failure instanceof Answered) },
      { name: 'registry', run: (context: PolicyContext, lookup: Lookup) => this.#fromRegistry(lookup, context.signal) },
      { name: 'did', run: (_: PolicyContext, lookup: Lookup) => this.#fromDid(lookup.target) },
      { name: 'last-known', run: (_: PolicyContext, lookup: Lookup) => this.#fromLastKnown(lookup) },
    );
    const perPeer = { maxConcurrent: 8, maxQueue: 16, queueTimeoutMs: 2_000, registry };
    this.#bulkheads = {
      [OPERATOR_PEERS]: bulkheadFamily({ name: 'peer', maxKeys: 1_000, ...perPeer }),
      [DID_PEERS]: bulkheadFamily({ name: 'did-peer', maxKeys: maxDidPeers, ...perPeer }),
    };
  }

  get counts(): { relayed: number; failed: number } {
    return { relayed: this.#relayed, failed: this.#failed };
  }

  /** The protected client of a peer (its card download goes through the peer's breaker too). */
  clientFor(peer: PeerIdentity, url: string): Promise<Client> {
    const key = `${peer.key} ${url}`;
    const clients = this.#clients[peer.family];
    let client = clients.get(key);
    if (client === undefined) {
      const stranger = peer.family === DID_PEERS;
      const family = stranger ? { name: DID_PEERS, maxKeys: this.#options.maxDidPeers ?? 200 } : { name: OPERATOR_PEERS };
      client = createA2aClient(url, {
        peer: peer.key,
        ...family,
        registry: this.#options.registry,
        breaker: this.#options.breaker,
        fetch: cardFromLookedUpOrigin,
        allowPrivateAddresses: stranger ? (this.#options.didPeerAddresses ?? false) : this.#options.peerAddresses,
      });
      clients.set(key, client);
      client.catch(() => clients.delete(key));
    }
    return client;
  }

  /**
   * The breaker a peer's calls go through, once it has one: member `peer.key` of the A2A family
   * `peer.family` (the `peer` and `name` this relay gives createA2aClient). Asked of the family, never
   * spelled out: the adapter names its breakers.
   */
  breakerOf(peer: PeerIdentity): CircuitBreaker | undefined {
    for (const family of this.#options.registry.allFamilies()) if (family.name === peer.family) return family.peek(peer.key);
    return undefined;
  }

  /**
   * Relays `text` to `target` (agent id or DID); one `relay` span holds the lookup, resolution, send and
   * write spans. The exchange is recorded under `conversation` (default: the peer), whose exchanges land
   * in Supabase in the order they were answered.
   */
  relay(target: string, text: string, conversation?: string): Promise<RelayResult> {
    return tracer.startActiveSpan('relay', { kind: SpanKind.INTERNAL, attributes: { 'phlow.demo.target': target } }, async (span) => {
      try {
        const result = await this.#relay(target, text, conversation);
        span.setAttribute('phlow.demo.peer', result.peer);
        if (result.ok) {
          this.#relayed++;
          span.setAttributes({ 'phlow.demo.resolved_via': result.via, 'phlow.demo.recorded': result.recorded });
        } else {
          this.#failed++;
          span.setAttribute('phlow.demo.status', result.status);
          span.setStatus({ code: SpanStatusCode.ERROR, message: result.message });
        }
        return result;
      } finally {
        span.end();
      }
    });
  }

  async #relay(given: string, text: string, conversation: string | undefined): Promise<RelayResult> {
    const notes: string[] = [];
    const target = parseTarget(given);
    if ('error' in target) return { ok: false, status: 400, peer: given, message: target.error, notes };
    // An exchange the agent could not record (text Postgres cannot store, the outbox full) is refused
    // before the peer is called: it must not happen unrecorded.
    const refusal = this.#options.outbox.refusal(text, conversation);
    if (refusal !== undefined) {
      return { ok: false, status: refusal.code === 'OUTBOX_FULL' ? 503 : 400, peer: given, message: `The exchange with ${given} cannot be recorded: ${clipped(refusal.message)}`, notes };
    }
    // Fail fast: while the peer's breaker is open, skip the lookups and call the peer's last-known
    // address through its breaker, which refuses at once (counted as a rejection; if the recovery
    // timeout has just passed, this call is the probe).
    const expected = this.#namespace.expectedIdentity(target);
    const expectedBreaker = this.breakerOf(expected);
    const last = this.#lastKnown.get(expected);
    const found: Found | RelayFailure =
      expectedBreaker !== undefined && last !== undefined && (expectedBreaker.state === 'open' || expectedBreaker.state === 'forced_open')
        ? { peer: expected, url: last.url, via: 'last-known' }
        : await this.#find(target, notes);
    if ('status' in found) return found;
    const { peer, url, via } = found;

    if (via !== 'last-known') this.#lastKnown.remember(peer, url, via === 'registry' ? 'registry' : 'did');
    let reply: string;
    let breaker: string;
    try {
      const client = await this.clientFor(peer, url);
      breaker = breakerFor(client).name;
      const answer = await this.#bulkheads[peer.family].execute(peer.key, ({ signal }) => client.sendMessage(textMessageRequest(text), { signal }));
      const stored = storableReply(replyText(answer), MAX_REPLY);
      notes.push(...stored.notes);
      reply = stored.text;
    } catch (error) {
      return this.#peerFailure(peer, error, notes);
    }

    const row: MessageRow = { peer_id: peer.key, peer_url: url, request: text, reply, resolved_via: via, replayed: false };
    let recorded: 'stored' | 'outbox';
    try {
      recorded = await this.#options.outbox.record(row, conversation ?? peer.key);
    } catch (error) {
      // Not accepted, so not promised: the caller hears why (outbox full: come back; text Postgres cannot store: never).
      if (!OutboxError.isInstance(error)) throw error;
      // Full, or closed (the agent is stopping): come back. Text Postgres cannot store: never.
      const unavailable = error.code !== 'OUTBOX_UNSTORABLE';
      return { ok: false, status: unavailable ? 503 : 400, peer: peer.key, breaker, message: `The exchange with ${peer.key} cannot be recorded: ${clipped(error.message)}`, notes };
    }
    if (recorded === 'outbox') notes.push('Supabase unavailable: the exchange waits in the outbox and is written once Supabase is back');
    return { ok: true, peer: peer.key, breaker, url, via, reply, recorded, notes };
  }

  /**
   * Where the peer is: the registry, else its DID document, else the address it was last reached at —
   * the fallback chain's first answer. A definitive answer on the way (unknown peer, unusable document
   * or row) ends the chain: only unavailability falls through.
   */
  async #find(target: RelayTarget, notes: string[]): Promise<Found | RelayFailure> {
    try {
      const { value, skipped } = await this.#address.execute({ input: { target, unlisted: false } });
      for (const { failure } of skipped) if (failure instanceof Unavailable && failure.note !== undefined) notes.push(failure.note);
      if (value.via === 'did-stale') notes.push('DID host unavailable: used the cached DID document');
      if (value.via === 'last-known') notes.push('registry and DID host unavailable: used the address the peer was last reached at');
      return value;
    } catch (error) {
      if (error instanceof Answered) {
        notes.push(...error.notes);
        return { ...error.failure, notes };
      }
      if (error instanceof FallbackExhaustedError) {
        for (const { failure } of error.failures) if (failure instanceof Unavailable && failure.note !== undefined) notes.push(failure.note);
        const didFailure = error.failures.map((f) => f.failure).find((e): e is Unavailable => e instanceof Unavailable && e.failure !== undefined);
        if (didFailure?.failure !== undefined) return { ...didFailure.failure, notes };
        const given = target.kind === 'did' ? target.did : target.id;
        return { ok: false, status: 503, peer: given, message: `Service temporarily unavailable: cannot locate peer ${given}`, notes };
      }
      throw error;
    }
  }

  /** The registry's row for the peer; unavailable (falls through) when the lookup fails or finds none. */
  async #fromRegistry(lookup: Lookup, signal: AbortSignal): Promise<Found> {
    const target = lookup.target;
    const given = target.kind === 'did' ? target.did : target.id;
    const [column, value] = target.kind === 'did' ? ['did', target.did] : ['id', target.id];
    // .retry(false): postgrest-js would otherwise retry a failed read three times (1 + 2 + 4 s); the
    // lookup's own retry policy retries transient failures within its budget instead.
    const { data, error } = await this.#lookup.execute(
      ({ signal: attempt }) => this.#options.supabase.from('agent_cards').select('id,did,url').eq(column, value).limit(1).retry(false).abortSignal(attempt),
      { signal },
    );
    if (error !== null) {
      throw new Unavailable(isCircuitRejection(error) ? 'registry unavailable (Supabase breaker open): resolved by DID' : `registry lookup failed (${clipped(error.message)}): resolved by DID`);
    }
    if (data === null || data.length === 0) {
      lookup.unlisted = true;
      throw new Unavailable('not in the registry: resolved by DID');
    }
    const row = data[0] as { id: unknown; did: unknown; url: unknown };
    if (typeof row.id !== 'string' || !isAgentId(row.id) || typeof row.url !== 'string' || !isHttpUrl(row.url)) {
      throw new Answered({ ok: false, status: 502, peer: given, message: `The registry's row for ${given} is not usable: expected an agent id and an http(s) URL`, notes: [] });
    }
    return { peer: { family: OPERATOR_PEERS, key: row.id }, url: row.url, via: 'registry' };
  }

  /** The peer's DID document's endpoint; unavailable (falls through) only when its host is. */
  async #fromDid(target: RelayTarget): Promise<Found> {
    const given = target.kind === 'did' ? target.did : target.id;
    const did = target.kind === 'did' ? target.did : this.#namespace.didOf(target.id);
    if (did === undefined) throw new Answered({ ok: false, status: 404, peer: given, message: `Unknown peer ${given}: not in the registry and no DID host configured`, notes: [] });
    const notes: string[] = [];
    const found = await this.#resolve(did, notes);
    if (!('status' in found)) return found;
    // The DID host is down and nothing is cached: the last-known address may still answer.
    if (found.status === 503) throw new Unavailable(undefined, { ...found, notes: [] });
    throw new Answered(found, notes);
  }

  /**
   * The address the peer was last reached at, found through the registry or its DID — but not one the
   * registry gave when the registry has just said the peer is no longer listed.
   */
  #fromLastKnown(lookup: Lookup): Found {
    const peer = this.#namespace.expectedIdentity(lookup.target);
    const last = this.#lastKnown.get(peer);
    if (last === undefined || (lookup.unlisted && last.source === 'registry')) throw new Unavailable(undefined);
    return { peer, url: last.url, via: 'last-known' };
  }

  /** The peer a DID names: its document must be the DID's own (id), its endpoint an http(s) URL. */
  async #resolve(did: string, notes: string[]): Promise<Found | RelayFailure> {
    const peer = this.#namespace.identityOf(did);
    const breaker = this.breakerOf(peer)?.name;
    const resolver = peer.family === DID_PEERS ? (this.#options.didPeerResolver ?? this.#options.resolver) : this.#options.resolver;
    const { url, resolution } = await resolver.resolveServiceEndpoint(did, ['A2AService', 'AgentService']);
    const meta = resolution.didResolutionMetadata as { error?: string; reason?: string; stale?: boolean; retryAfterMs?: number; message?: string };
    const failure = (status: RelayFailure['status'], message: string, retryAfterMs?: number): RelayFailure => ({ ok: false, status, peer: peer.key, breaker, message, retryAfterMs, notes });
    if (meta.error === 'notFound' || meta.error === 'invalidDid') return failure(404, `Unknown peer ${peer.key}: no DID document (${meta.error})`);
    // Not an outage: no retry will ever resolve it (a 503 would tell clients to come back).
    if (meta.error === 'unsupportedDidMethod') return failure(400, `Peer ${peer.key}: DID method ${JSON.stringify(did.split(':', 2)[1])} is not supported; use did:web or an agent id`);
    if (meta.error === 'invalidDidDocument') return failure(502, `Peer ${peer.key}'s DID document is not usable: ${clipped(meta.message ?? 'invalid')}`);
    if (meta.error !== undefined && url === undefined) {
      const retry = meta.retryAfterMs;
      return failure(
        503,
        `Service temporarily unavailable: cannot locate peer ${peer.key} (DID host unavailable and no cached DID document; see notes for the registry)${retry === undefined ? '' : `; retry in ${seconds(retry)}`}`,
        retry,
      );
    }
    // A driver that does not check it (web-did-resolver returns mismatching documents) must not make
    // another DID's document speak for this one.
    const documentId: unknown = resolution.didDocument?.id;
    if (documentId !== did) return failure(502, `Peer ${peer.key}'s DID document is not usable: its id ${JSON.stringify(documentId)} is not the DID`);
    if (url === undefined) return failure(404, `Peer ${peer.key}'s DID document has no A2A service endpoint`);
    if (!isHttpUrl(url)) return failure(502, `Peer ${peer.key}'s DID document is not usable: its A2A endpoint is not an http(s) URL`);
    return { peer, url, via: meta.stale === true ? 'did-stale' : 'did' };
  }

  #peerUnavailable(peer: PeerIdentity, retryAfterMs: number | undefined, notes: string[]): RelayFailure {
    return {
      ok: false,
      status: 503,
      peer: peer.key,
      breaker: this.breakerOf(peer)?.name,
      message: `Service temporarily unavailable: peer ${peer.key} is unavailable (circuit open)${retryAfterMs === undefined ? '' : `; retry in ${seconds(retryAfterMs)}`}`,
      retryAfterMs,
      notes,
    };
  }

  #peerFailure(peer: PeerIdentity, error: unknown, notes: string[]): RelayFailure {
    if (CircuitOpenError.isInstance(error)) return this.#peerUnavailable(peer, error.retryAfterMs ?? undefined, notes);
    const about = { ok: false as const, peer: peer.key, breaker: this.breakerOf(peer)?.name, notes };
    if (BulkheadRejectedError.isInstance(error)) return { ...about, status: 503, message: `Service temporarily unavailable: peer ${peer.key} has too many calls in flight; retry shortly` };
    if (CircuitTimeoutError.isInstance(error)) return { ...about, status: 504, message: `Peer ${peer.key} did not answer within ${seconds(error.timeoutMs)}` };
    if (CircuitBreakerError.isInstance(error)) return { ...about, status: 503, message: `Service temporarily unavailable: peer ${peer.key}: ${clipped((error as Error).message)}` };
    const refused = addressRefusal(error);
    if (refused !== undefined) return { ...about, status: 502, message: `Peer ${peer.key} is not reachable here: ${refused} (A2A_ALLOW_PRIVATE=1 allows private addresses)` };
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return { ...about, status: 502, message: `Peer ${peer.key} failed: ${clipped((error as Error).message)}${cause === undefined ? '' : ` (${clipped(String(cause))})`}` };
  }
}

/** The address policy's refusal (`ERR_ADDRESS_NOT_ALLOWED`, itself or as a fetch error's cause), as a sentence. */
function addressRefusal(error: unknown): string | undefined {
  for (let e = error as { code?: unknown; cause?: unknown; host?: unknown; address?: unknown; category?: unknown } | undefined, depth = 0; e !== undefined && e !== null && depth < 3; e = e.cause as typeof e, depth++) {
    if (e.code === 'ERR_ADDRESS_NOT_ALLOWED') {
      return e.host === e.address ? `${String(e.address)} is a ${String(e.category)} address` : `${String(e.host)} resolves to ${String(e.address)}, a ${String(e.category)} address`;
    }
  }
  return undefined;
}

/**
 * Longest reply relayed and recorded. A peer chooses how much it answers; every reply is written to
 * `messages` (or held in the outbox while Supabase is down), so a stranger's endpoint answering
 * megabytes to each relay would fill both.
 */
const MAX_REPLY = 64 * 1024;

/**
 * A dependency's error message, as much of it as a person reads. The A2A client puts the peer's whole
 * answer in its message ("Response: ..."): a hostile endpoint answering megabytes would have them
 * copied into every answer, span and log line about it.
 */
const MAX_MESSAGE = 300;
function clipped(message: string): string {
  return message.length <= MAX_MESSAGE ? message : `${message.slice(0, MAX_MESSAGE)}… (${message.length} characters)`;
}

function isHttpUrl(text: string): boolean {
  if (!URL.canParse(text)) return false;
  const { protocol } = new URL(text);
  return protocol === 'http:' || protocol === 'https:';
}

/** What the address chain's tiers look at: the target, and what the registry said of it. */
interface Lookup {
  readonly target: RelayTarget;
  /** The registry answered that it does not list the peer (a removed peer keeps no registry address). */
  unlisted: boolean;
}

/** A tier could not answer now (its dependency is unavailable): the chain falls through to the next. */
class Unavailable extends Error {
  constructor(
    /** What the relay notes about it, if anything. */
    readonly note: string | undefined,
    /** The answer to give when no later tier answers either. */
    readonly failure?: RelayFailure,
  ) {
    super(note ?? failure?.message ?? 'unavailable');
  }
}

/** A tier's definitive answer (unknown peer, an unusable row or document): the chain ends with it. */
class Answered extends Error {
  constructor(
    readonly failure: RelayFailure,
    readonly notes: readonly string[] = [],
  ) {
    super(failure.message);
  }
}
