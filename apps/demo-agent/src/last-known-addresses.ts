/**
 * Where each peer was last reached, for the fail-fast path: while a peer's breaker is open the relay
 * skips every lookup and sends to this address through the breaker (which refuses, or lets the probe
 * through once the recovery timeout has passed). Because the probe goes here, an address that a
 * DID document supplied never replaces one the registry supplied: the registry is the operator's
 * word, a DID document only the word of whoever serves it.
 */
import { BoundedMap } from './bounded-map.js';
import { breakerNameOf, type PeerIdentity } from './peer-identity.js';

export type AddressSource = 'registry' | 'did';

export interface KnownAddress {
  readonly url: string;
  readonly source: AddressSource;
}

export class LastKnownAddresses {
  readonly #addresses: BoundedMap<string, KnownAddress>;

  constructor(maxPeers = 2_000) {
    this.#addresses = new BoundedMap(maxPeers);
  }

  get(peer: PeerIdentity): KnownAddress | undefined {
    return this.#addresses.get(breakerNameOf(peer));
  }

  /** Remembers `url` for `peer`, unless it comes from a DID and the registry's address is known. */
  remember(peer: PeerIdentity, url: string, source: AddressSource): void {
    const name = breakerNameOf(peer);
    if (source === 'did' && this.#addresses.get(name)?.source === 'registry') return;
    this.#addresses.set(name, { url, source });
  }
}
