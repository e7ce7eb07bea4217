/**
 * Where each peer was last reached, for the fail-fast path: while a peer's breaker is open the relay
 * skips every lookup and sends to this address through the breaker (which refuses, or lets the probe
 * through once the recovery timeout has passed). Because the probe goes here, an address that a
 * DID document supplied never replaces one the registry supplied: the registry is the operator's
 * word, a DID document only the word of whoever serves it.
 */
import { BoundedMap } from './bounded-map.js';
import type { PeerIdentity } from './peer-identity.js';

export type AddressSource = 'registry' | 'did';

export interface KnownAddress {
  readonly url: string;
  readonly source: AddressSource;
}

/**
 * Each family is bounded on its own: anyone can name new DIDs (family `a2a-did`) as fast as they like,
 * and in one shared bound they would push the operator's peers' registry addresses out.
 */
export class LastKnownAddresses {
  readonly #addresses: Record<PeerIdentity['family'], BoundedMap<string, KnownAddress>>;

  /** @param maxPeers most addresses kept per family. */
  constructor(maxPeers: Readonly<Record<PeerIdentity['family'], number>> = { a2a: 1_000, 'a2a-did': 200 }) {
    this.#addresses = { a2a: new BoundedMap(maxPeers.a2a), 'a2a-did': new BoundedMap(maxPeers['a2a-did']) };
  }

  get(peer: PeerIdentity): KnownAddress | undefined {
    return this.#addresses[peer.family].get(peer.key);
  }

  /** Remembers `url` for `peer`, unless it comes from a DID and the registry's address is known. */
  remember(peer: PeerIdentity, url: string, source: AddressSource): void {
    const addresses = this.#addresses[peer.family];
    if (source === 'did' && addresses.get(peer.key)?.source === 'registry') return;
    addresses.set(peer.key, { url, source });
  }
}
