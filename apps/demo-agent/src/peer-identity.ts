/**
 * Who a peer is, and so whose breaker and last-known address a relay uses.
 *
 * A peer's identity comes from where its address was found, never from how a DID is spelled:
 *
 * - the operator's peers, family `a2a`, keyed by agent id: a row of the registry (`agent_cards.id`),
 *   or the DID the demo derives from an agent id on the configured DID host
 *   (`did:web:<DID_WEB_HOST>:agents:<id>`, exactly that spelling) — both are the operator's data;
 * - every other DID, family `a2a-did`, keyed by the whole DID: a document on another host that
 *   claims agent `alpha` is its own peer with its own breaker; it can neither open `a2a/alpha` nor
 *   change where `alpha` is reached.
 *
 * The key is the DID rather than its endpoint's origin: a hostile document could name the real
 * peer's origin (with a path that fails) and so trip that origin's breaker; its own DID it cannot
 * share with anyone.
 */

/** Breaker family of the operator's peers (registry rows and agent DIDs on the configured host). */
export const OPERATOR_PEERS = 'a2a';
/** Breaker family of peers known only by a DID on any other host (bounded on its own). */
export const DID_PEERS = 'a2a-did';

export interface PeerIdentity {
  /** The A2A breaker family (`name`) of the peer's client; its breaker is the member `key`. */
  readonly family: typeof OPERATOR_PEERS | typeof DID_PEERS;
  /** The agent id (family `a2a`) or the DID (family `a2a-did`). */
  readonly key: string;
}

/** What a relay was asked to reach. */
export type RelayTarget = { readonly kind: 'agent'; readonly id: string } | { readonly kind: 'did'; readonly did: string };

/** An agent id: what `did:web:<host>:agents:<id>` takes as one path segment, and a breaker key. */
const AGENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** A DID (DID Core's ABNF: `did:<method>:<method-specific-id>`, no path, query or fragment). */
const DID = /^did:[a-z0-9]+:(?:(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})*:)*(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})+$/;
const MAX_DID_LENGTH = 256;

export const TARGET_EXPECTED = `an agent id (1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit) or a DID (did:<method>:<id>, no longer than ${MAX_DID_LENGTH} characters, no path, query or fragment)`;

/** Parses a relay target, or answers why it is not one. */
export function parseTarget(target: string): RelayTarget | { readonly error: string } {
  if (target.startsWith('did:')) {
    if (target.length <= MAX_DID_LENGTH && DID.test(target)) return { kind: 'did', did: target };
  } else if (AGENT_ID.test(target)) {
    return { kind: 'agent', id: target };
  }
  const shown = target.length > 80 ? `${JSON.stringify(target.slice(0, 80))}… (${target.length} characters)` : JSON.stringify(target);
  return { error: `${shown} is not a peer: expected ${TARGET_EXPECTED}` };
}

/** True when `id` can be an agent id (a relay target, a `PEER_URLS` name). */
export const isAgentId = (id: string): boolean => AGENT_ID.test(id);

/** The agent DIDs of the configured did:web host: agent `x` is `did:web:<host>:agents:x`. */
export class AgentDidNamespace {
  readonly #prefix: string | undefined;

  /** @param didWebHost the did:web authority (`localhost%3A8443`), or undefined when there is no DID host. */
  constructor(didWebHost: string | undefined) {
    this.#prefix = didWebHost === undefined ? undefined : `did:web:${didWebHost}:agents:`;
  }

  /** The DID of agent `id` on the configured host, or undefined without a DID host. */
  didOf(id: string): string | undefined {
    return this.#prefix === undefined ? undefined : `${this.#prefix}${id}`;
  }

  /** The agent id `did` names on the configured host (exactly that spelling), or undefined for any other DID. */
  agentOf(did: string): string | undefined {
    if (this.#prefix === undefined || !did.startsWith(this.#prefix)) return undefined;
    const id = did.slice(this.#prefix.length);
    return AGENT_ID.test(id) ? id : undefined;
  }

  /** The identity a DID-found peer gets: the agent id on the configured host, the DID itself elsewhere. */
  identityOf(did: string): PeerIdentity {
    const id = this.agentOf(did);
    return id === undefined ? { family: DID_PEERS, key: did } : { family: OPERATOR_PEERS, key: id };
  }

  /**
   * The identity a target has if its address comes from where it is expected to (before any lookup,
   * for the fail-fast path): an agent id, or the DID read as above. A DID on another host that the
   * registry lists is the registry row's peer once looked up; before the lookup it is not known.
   */
  expectedIdentity(target: RelayTarget): PeerIdentity {
    return target.kind === 'agent' ? { family: OPERATOR_PEERS, key: target.id } : this.identityOf(target.did);
  }
}
