/**
 * The agent's skill: relay a message to a peer named by agent id or DID, through every protected
 * dependency the way Phlow's middleware uses them, degrading step by step:
 *
 *   1. look the peer up in the Supabase registry (`agent_cards`) — breaker open or failing → step 2;
 *   2. resolve its DID document and take the A2A service endpoint — host breaker open or failing →
 *      the cached (stale) document;
 *   3. send the message through the peer's breaker (@phlow/a2a) — breaker open → an immediate answer
 *      naming the peer and when to retry;
 *   4. record the exchange in Supabase (`messages`) — not reachable → the outbox, replayed when the
 *      Supabase breaker lets requests through again.
 */
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Message, Task } from '@a2a-js/sdk';
import type { Client } from '@a2a-js/sdk/client';
import { createA2aClient, messageText, textMessageRequest } from '@phlow/a2a';
import { CircuitBreakerError, CircuitOpenError, CircuitTimeoutError, type CircuitBreakerRegistry, type CircuitBreakerOptions } from '@phlow/circuit-breaker';
import type { CircuitBreakerResolver } from '@phlow/did-resolver';
import { isCircuitRejection } from '@phlow/supabase';
import type { SupabaseClient } from '@supabase/supabase-js';
import { Outbox, type MessageRow } from './outbox.js';

/** How the peer's address was found. */
export type ResolvedVia = 'registry' | 'did' | 'did-stale' | 'last-known';

export interface RelaySuccess {
  readonly ok: true;
  readonly peer: string;
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
  /** HTTP status for the REST route: 503 unavailable (the guide's), 404 unknown peer, 502 the peer failed, 400 bad input. */
  readonly status: 400 | 404 | 502 | 503 | 504;
  readonly peer: string;
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
  readonly resolver: CircuitBreakerResolver;
  /** did:web authority of agent DIDs: agent `x` is `did:web:<authority>:agents:x` (the DID fallback for an id). */
  readonly didWebHost: string | undefined;
  /** Options of every peer breaker (one object: a family takes one configuration). */
  readonly peerBreaker: CircuitBreakerOptions;
  readonly outbox: Outbox;
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

/** The peer key (its breaker is `a2a/<key>`): the agent id, or the `agents:<id>` of an agent DID. */
function peerKeyOf(target: string): string | undefined {
  if (!target.startsWith('did:')) return target;
  return /:agents:([^:/?#]+)$/.exec(target)?.[1];
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/**
 * The peer's card names the address the peer listens on; the registry (or DID document) names where
 * we reach it — behind a proxy, a gateway, or here the fault proxy. Trust the address we looked up:
 * keep the card's paths, take the origin of the URL we fetched it from.
 */
const cardFromLookedUpOrigin: typeof fetch = async (input, init) => {
  const response = await fetch(input, init);
  if (!response.ok) return response;
  const card = (await response.json()) as { supportedInterfaces?: { url: string }[] };
  const origin = new URL(input instanceof Request ? input.url : String(input)).origin;
  for (const iface of card.supportedInterfaces ?? []) {
    const url = new URL(iface.url);
    iface.url = `${origin}${url.pathname}${url.search}`;
  }
  return new Response(JSON.stringify(card), { status: response.status, headers: { 'content-type': 'application/json' } });
};

export class Relay {
  readonly #options: RelayOptions;
  readonly #clients = new Map<string, Promise<Client>>();
  readonly #lastUrl = new Map<string, string>();
  #relayed = 0;
  #failed = 0;

  constructor(options: RelayOptions) {
    this.#options = options;
  }

  get counts(): { relayed: number; failed: number } {
    return { relayed: this.#relayed, failed: this.#failed };
  }

  /** The protected client of a peer (its card download goes through the peer's breaker too). */
  clientFor(peer: string, url: string): Promise<Client> {
    const key = `${peer} ${url}`;
    let client = this.#clients.get(key);
    if (client === undefined) {
      client = createA2aClient(url, { peer, registry: this.#options.registry, breaker: this.#options.peerBreaker, fetch: cardFromLookedUpOrigin });
      this.#clients.set(key, client);
      client.catch(() => this.#clients.delete(key));
    }
    return client;
  }

  /** Relays `text` to `target` (agent id or DID); one `relay` span holds the lookup, resolution, send and write spans. */
  relay(target: string, text: string): Promise<RelayResult> {
    return tracer.startActiveSpan('relay', { kind: SpanKind.INTERNAL, attributes: { 'phlow.demo.target': target } }, async (span) => {
      try {
        const result = await this.#relay(target, text);
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

  async #relay(target: string, text: string): Promise<RelayResult> {
    const notes: string[] = [];
    // Fail fast: the peer's breaker is keyed by agent id. While it is open, skip the lookups and call the
    // peer's last-known address through its breaker, which refuses at once (counted as a rejection; if
    // the recovery timeout has just passed, this call is the probe).
    const key = peerKeyOf(target);
    const breaker = key === undefined ? undefined : this.#options.registry.get(`a2a/${key}`);
    const lastUrl = key === undefined ? undefined : this.#lastUrl.get(key);
    const found =
      breaker !== undefined && lastUrl !== undefined && (breaker.state === 'open' || breaker.state === 'forced_open')
        ? { peer: key!, url: lastUrl, via: 'last-known' as const }
        : await this.#find(target, notes);
    if ('status' in found) return found;
    const { peer, url, via } = found;

    this.#lastUrl.set(peer, url);
    let reply: string;
    try {
      const client = await this.clientFor(peer, url);
      reply = replyText(await client.sendMessage(textMessageRequest(text)));
    } catch (error) {
      return this.#peerFailure(peer, error, notes);
    }

    const row: MessageRow = { peer_id: peer, peer_url: url, request: text, reply, resolved_via: via, replayed: false };
    const recorded = await this.#options.outbox.record(row);
    if (recorded === 'outbox') notes.push('Supabase unavailable: the exchange waits in the outbox and is written once Supabase is back');
    return { ok: true, peer, url, via, reply, recorded, notes };
  }

  async #find(target: string, notes: string[]): Promise<{ peer: string; url: string; via: ResolvedVia } | RelayFailure> {
    const isDid = target.startsWith('did:');
    const column = isDid ? 'did' : 'id';
    // .retry(false): postgrest-js would otherwise retry a failed read three times (1 + 2 + 4 s).
    const { data, error } = await this.#options.supabase.from('agent_cards').select('id,did,url').eq(column, target).limit(1).retry(false);
    if (error !== null) {
      notes.push(isCircuitRejection(error) ? 'registry unavailable (Supabase breaker open): resolved by DID' : `registry lookup failed (${error.message}): resolved by DID`);
    } else if (data !== null && data.length > 0) {
      const row = data[0] as { id: string; did: string | null; url: string };
      return { peer: row.id, url: row.url, via: 'registry' };
    } else {
      notes.push('not in the registry: resolved by DID');
    }

    const did = isDid ? target : this.#options.didWebHost === undefined ? undefined : `did:web:${this.#options.didWebHost}:agents:${target}`;
    if (did === undefined) return { ok: false, status: 404, peer: target, message: `Unknown peer ${target}: not in the registry and no DID host configured`, notes };
    const { url, resolution } = await this.#options.resolver.resolveServiceEndpoint(did, ['A2AService', 'AgentService']);
    const meta = resolution.didResolutionMetadata as { error?: string; reason?: string; stale?: boolean; retryAfterMs?: number; message?: string };
    const peer = peerKeyOf(did) ?? new URL(url ?? 'http://unknown').host;
    if (url === undefined) {
      if (meta.error === 'notFound' || meta.error === 'invalidDid') {
        return { ok: false, status: 404, peer, message: `Unknown peer ${target}: no DID document (${meta.error})`, notes };
      }
      if (meta.error !== undefined) {
        const retry = meta.retryAfterMs;
        return {
          ok: false,
          status: 503,
          peer,
          message: `Service temporarily unavailable: cannot locate peer ${peer} (DID host unavailable and no cached DID document; see notes for the registry)${retry === undefined ? '' : `; retry in ${seconds(retry)}`}`,
          retryAfterMs: retry,
          notes,
        };
      }
      return { ok: false, status: 404, peer, message: `Peer ${peer}'s DID document has no A2A service endpoint`, notes };
    }
    if (meta.stale === true) notes.push('DID host unavailable: used the cached DID document');
    return { peer, url, via: meta.stale === true ? 'did-stale' : 'did' };
  }

  #peerUnavailable(peer: string, retryAfterMs: number | undefined, notes: string[]): RelayFailure {
    return {
      ok: false,
      status: 503,
      peer,
      message: `Service temporarily unavailable: peer ${peer} is unavailable (circuit open)${retryAfterMs === undefined ? '' : `; retry in ${seconds(retryAfterMs)}`}`,
      retryAfterMs,
      notes,
    };
  }

  #peerFailure(peer: string, error: unknown, notes: string[]): RelayFailure {
    if (CircuitOpenError.isInstance(error)) return this.#peerUnavailable(peer, error.retryAfterMs ?? undefined, notes);
    if (CircuitTimeoutError.isInstance(error)) {
      return { ok: false, status: 504, peer, message: `Peer ${peer} did not answer within ${seconds(error.timeoutMs)}`, notes };
    }
    if (CircuitBreakerError.isInstance(error)) {
      return { ok: false, status: 503, peer, message: `Service temporarily unavailable: peer ${peer}: ${(error as Error).message}`, notes };
    }
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return { ok: false, status: 502, peer, message: `Peer ${peer} failed: ${(error as Error).message}${cause === undefined ? '' : ` (${cause})`}`, notes };
  }
}
