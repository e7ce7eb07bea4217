import ipaddr from 'ipaddr.js';
import { AddressNotAllowedError } from './address-not-allowed-error.js';
import { canonicalHost } from './canonical-host.js';
import { classifyAddress, parseAddress, type AddressCategory } from './classify-address.js';

/**
 * How private addresses are treated: `false` refuses them all (the default), `true` allows
 * everything (local development only), a list allows the listed host names, addresses and CIDR
 * ranges (`['localhost', '127.0.0.1', '::1', '10.0.0.0/8']`) and refuses the rest.
 */
export type AllowPrivateAddresses = boolean | readonly string[];

/** The options every adapter that contacts URLs learned from fetched data takes (did:web hosts, A2A endpoints). */
export interface AddressPolicyOptions {
  /**
   * `false` (default): refuse hosts that are or resolve to loopback, private, shared (CGNAT),
   * link-local, cloud metadata, multicast, unspecified or other special-purpose addresses — IPv6
   * forms included (IPv4-mapped, NAT64, 6to4). `true`: allow everything (local development). A
   * list: allow these host names, addresses and CIDR ranges only, compared on canonical values.
   */
  readonly allowPrivateAddresses?: AllowPrivateAddresses;
}

const HOST_LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/** The parsed allow-list: host names (canonical) and CIDR ranges (an address is a /32 or /128). */
class AllowList {
  private readonly hosts = new Set<string>();
  private readonly ranges: [ipaddr.IPv4 | ipaddr.IPv6, number][] = [];

  constructor(entries: readonly string[], option: string) {
    entries.forEach((entry, index) => this.add(entry, `${option}[${index}]`));
  }

  private add(entry: unknown, option: string): void {
    const allowed = 'a host name ("localhost"), an IP address ("127.0.0.1", "::1") or a CIDR range ("10.0.0.0/8")';
    if (typeof entry !== 'string' || entry === '') throw new TypeError(`${option} must be ${allowed}; got ${JSON.stringify(entry)}`);
    const [network = '', prefix, extra] = entry.split('/');
    const address = parseAddress(network);
    if (address !== undefined) {
      const max = address.kind() === 'ipv4' ? 32 : 128;
      const bits = prefix === undefined ? max : /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
      if (extra !== undefined || !(bits >= 0 && bits <= max) || network.includes('%')) {
        throw new TypeError(`${option} must be ${allowed}; got ${JSON.stringify(entry)}`);
      }
      // An IPv4-mapped entry (`::ffff:127.0.0.1`, `::ffff:0:0/96`) means the IPv4 addresses it maps:
      // connections to both spellings reach the same IPv4 host, so they are one entry.
      if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
        this.ranges.push([(address as ipaddr.IPv6).toIPv4Address(), bits - 96]);
        return;
      }
      this.ranges.push([address, bits]);
      return;
    }
    if (prefix !== undefined) throw new TypeError(`${option} must be ${allowed}; got ${JSON.stringify(entry)}`);
    let host;
    try {
      host = canonicalHost(`http://${entry}/`);
    } catch {
      throw new TypeError(`${option} must be ${allowed}; got ${JSON.stringify(entry)}`);
    }
    if (host.address !== undefined) {
      // `127.1`, `0x7f.1`, `2130706433`: the URL parser reads them as an address; say which one.
      throw new TypeError(`${option} ${JSON.stringify(entry)} is read as the IP address ${host.address} by URL parsers; write "${host.address}"`);
    }
    if (host.hostname.length > 253 || !host.hostname.split('.').every((label) => HOST_LABEL.test(label)) || host.hostname !== entry.toLowerCase().replace(/\.$/, '')) {
      throw new TypeError(`${option} must be ${allowed}; got ${JSON.stringify(entry)}`);
    }
    this.hosts.add(host.hostname);
  }

  hasHost(hostname: string): boolean {
    return this.hosts.has(hostname);
  }

  hasAddress(address: ipaddr.IPv4 | ipaddr.IPv6): boolean {
    // An IPv4-mapped address is the IPv4 one (a socket to it reaches the IPv4 host): allowing
    // 127.0.0.1 allows ::ffff:127.0.0.1, and only an IPv4 entry does — an IPv6 range such as `::/0`
    // or `::/8` must not let every IPv4 address through in its mapped spelling.
    const candidate = address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress() ? (address as ipaddr.IPv6).toIPv4Address() : address;
    return this.ranges.some(([network, bits]) => candidate.kind() === network.kind() && candidate.match(network, bits));
  }
}

/**
 * The address policy: which hosts and addresses a URL learned from fetched data (a DID document, a
 * registry row, an agent card) may make this process connect to. Decisions are made on canonical
 * values only — the host as the URL parser normalises it and the address actually connected to —
 * by a guarded fetch ({@link createGuardedFetch}) where the connection is made.
 *
 * @example
 * const policy = new AddressPolicy({ allowPrivateAddresses: ['localhost', '127.0.0.1'] });
 * policy.verdict('localhost', '127.0.0.1');  // undefined: allowed (listed)
 * policy.verdict('example.com', '10.0.0.7'); // 'private': refused
 */
export class AddressPolicy {
  /** False when `allowPrivateAddresses: true`: nothing is checked. */
  readonly enforced: boolean;
  private readonly allowList: AllowList | undefined;

  /** @param option the option name used in error messages (an adapter passes its own path). */
  constructor(options: AddressPolicyOptions = {}, option = 'allowPrivateAddresses') {
    if (typeof options !== 'object' || options === null) throw new TypeError(`address policy options must be an object; got ${String(options)}`);
    const allow = options.allowPrivateAddresses ?? false;
    if (typeof allow !== 'boolean' && !Array.isArray(allow)) {
      throw new TypeError(`${option} must be true, false or a list of host names, addresses and CIDR ranges; got ${JSON.stringify(allow)}`);
    }
    this.enforced = allow !== true;
    this.allowList = Array.isArray(allow) ? new AllowList(allow, option) : undefined;
  }

  /**
   * Why connecting to `address` for `host` is refused, or undefined when it is allowed: a public
   * unicast address, a listed address or range, or a listed host name. `host` must be canonical
   * ({@link canonicalHost}); `address` is an IP address as a socket or DNS answer reports it.
   */
  verdict(host: string, address: string): AddressCategory | undefined {
    if (!this.enforced) return undefined;
    const category = classifyAddress(address);
    if (category === undefined || this.allowList === undefined) return category;
    if (this.allowList.hasHost(host)) return undefined;
    const parsed = parseAddress(address);
    return parsed !== undefined && this.allowList.hasAddress(parsed) ? undefined : category;
  }

  /** Throws {@link AddressNotAllowedError} for the first refused address: one bad answer among good ones is enough. */
  check(host: string, addresses: readonly string[]): void {
    if (!this.enforced) return;
    for (const address of addresses) {
      const category = this.verdict(host, address);
      if (category !== undefined) throw new AddressNotAllowedError(host, address, category);
    }
  }

  /**
   * The URL parsed, after refusing it when its host is a refused IP address (spelled any way the URL
   * parser accepts). A host name is judged later, on the addresses it resolves to, at connect time.
   * Throws `TypeError` for a string that is not an absolute URL.
   */
  checkUrl(url: string | URL): URL {
    const parsed = typeof url === 'string' ? new URL(url) : url;
    if (this.enforced) {
      const host = canonicalHost(parsed);
      if (host.address !== undefined) this.check(host.hostname, [host.address]);
    }
    return parsed;
  }
}
