import { BlockList, isIP } from 'node:net';

/** Why an address is refused as a did:web target. */
export type AddressCategory =
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'shared'
  | 'link-local'
  | 'metadata'
  | 'multicast'
  | 'reserved';

/**
 * Ranges a DID from the outside must not make an agent connect to: its own machine, its private
 * network, link-local and cloud metadata endpoints (RFC 6890 special-purpose registries). Node's
 * `BlockList` does the CIDR matching; only the table is ours.
 */
const RANGES: readonly (readonly [category: AddressCategory, cidr: string, family: 'ipv4' | 'ipv6'])[] = [
  // Metadata first: 169.254.169.254 is also link-local, but "metadata" is the more useful message.
  ['metadata', '169.254.169.254/32', 'ipv4'],
  ['metadata', '100.100.100.200/32', 'ipv4'], // Alibaba Cloud
  ['metadata', 'fd00:ec2::254/128', 'ipv6'], // AWS (IPv6)
  ['unspecified', '0.0.0.0/8', 'ipv4'],
  ['private', '10.0.0.0/8', 'ipv4'],
  ['shared', '100.64.0.0/10', 'ipv4'],
  ['loopback', '127.0.0.0/8', 'ipv4'],
  ['link-local', '169.254.0.0/16', 'ipv4'],
  ['private', '172.16.0.0/12', 'ipv4'],
  ['reserved', '192.0.0.0/24', 'ipv4'],
  ['reserved', '192.0.2.0/24', 'ipv4'],
  ['private', '192.168.0.0/16', 'ipv4'],
  ['reserved', '198.18.0.0/15', 'ipv4'],
  ['reserved', '198.51.100.0/24', 'ipv4'],
  ['reserved', '203.0.113.0/24', 'ipv4'],
  ['multicast', '224.0.0.0/4', 'ipv4'],
  ['reserved', '240.0.0.0/4', 'ipv4'],
  ['unspecified', '::/128', 'ipv6'],
  ['loopback', '::1/128', 'ipv6'],
  ['private', 'fc00::/7', 'ipv6'],
  ['link-local', 'fe80::/10', 'ipv6'],
  ['multicast', 'ff00::/8', 'ipv6'],
  ['reserved', '2001:db8::/32', 'ipv6'],
  ['reserved', '100::/64', 'ipv6'],
];

const LISTS: readonly (readonly [AddressCategory, BlockList])[] = RANGES.map(([category, cidr, family]) => {
  const list = new BlockList();
  const [network, prefix] = cidr.split('/') as [string, string];
  list.addSubnet(network, Number(prefix), family);
  return [category, list] as const;
});

/**
 * The IPv4 address carried inside an IPv6 one (IPv4-mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::/96`,
 * 6to4 `2002::/16`), so `::ffff:127.0.0.1` is judged as 127.0.0.1.
 */
function embeddedIpv4(address: string): string | undefined {
  const lower = address.toLowerCase();
  const dotted = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted !== null) return dotted[1];
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex !== null) return hexPairToIpv4(hex[1]!, hex[2]!);
  const sixToFour = /^2002:([0-9a-f]{1,4}):([0-9a-f]{1,4})(?::|$)/.exec(lower);
  if (sixToFour !== null) return hexPairToIpv4(sixToFour[1]!, sixToFour[2]!);
  return undefined;
}

function hexPairToIpv4(high: string, low: string): string {
  const a = parseInt(high, 16);
  const b = parseInt(low, 16);
  return `${a >> 8}.${a & 0xff}.${b >> 8}.${b & 0xff}`;
}

/**
 * The category that makes `address` unfit as a did:web target, or undefined for a public unicast
 * address. Anything that is not an IP address is `reserved` (refused).
 */
export function classifyAddress(address: string): AddressCategory | undefined {
  const family = isIP(address);
  if (family === 0) return 'reserved';
  if (family === 6) {
    const v4 = embeddedIpv4(address);
    if (v4 !== undefined) return classifyAddress(v4);
  }
  const type = family === 4 ? 'ipv4' : 'ipv6';
  for (const [category, list] of LISTS) {
    if (list.check(address, type)) return category;
  }
  return undefined;
}

/** Addresses (or CIDR ranges) let through although their category is refused, e.g. `['127.0.0.1']`. */
export class AddressAllowList {
  private readonly list = new BlockList();

  constructor(entries: readonly string[]) {
    entries.forEach((entry, index) => {
      const [network = '', prefix] = entry.split('/');
      const family = isIP(network);
      const bits = prefix === undefined ? (family === 4 ? 32 : 128) : Number(prefix);
      if (family === 0 || !Number.isInteger(bits) || bits < 0 || bits > (family === 4 ? 32 : 128)) {
        throw new TypeError(
          `allowPrivateAddresses[${index}] must be an IP address or CIDR range such as "127.0.0.1" or "10.0.0.0/8"; got ${JSON.stringify(entry)}`,
        );
      }
      this.list.addSubnet(network, bits, family === 4 ? 'ipv4' : 'ipv6');
    });
  }

  has(address: string): boolean {
    const family = isIP(address);
    if (family === 0) return false;
    if (this.list.check(address, family === 4 ? 'ipv4' : 'ipv6')) return true;
    const v4 = family === 6 ? embeddedIpv4(address) : undefined;
    return v4 !== undefined && this.list.check(v4, 'ipv4');
  }
}

const ADDRESS_NOT_ALLOWED = Symbol.for('phlow.did-resolver.address-not-allowed');

/** A did:web host resolved to an address the policy refuses; no connection was made. */
export class AddressNotAllowedError extends Error {
  constructor(
    /** The host name from the DID. */
    readonly host: string,
    /** The refused address. */
    readonly address: string,
    readonly category: AddressCategory,
  ) {
    super(
      `did:web host ${host} resolves to ${address} (${category}); refused to connect. ` +
        'Set allowPrivateAddresses (true, or a list of addresses) for local development and tests',
    );
  }

  /** Also recognises the error from another copy of this package. */
  static isInstance(value: unknown): value is AddressNotAllowedError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[ADDRESS_NOT_ALLOWED] === true;
  }
}
Object.defineProperty(AddressNotAllowedError.prototype, ADDRESS_NOT_ALLOWED, { value: true });
AddressNotAllowedError.prototype.name = 'AddressNotAllowedError';

/** How a did:web driver treats private addresses: refuse all, allow all, or allow a list. */
export type PrivateAddressPolicy = boolean | readonly string[];

/** @internal Judges resolved addresses; throws {@link AddressNotAllowedError} for the first refused one. */
export class AddressGuard {
  private readonly allowAll: boolean;
  private readonly allowList: AddressAllowList | undefined;

  constructor(policy: PrivateAddressPolicy) {
    this.allowAll = policy === true;
    this.allowList = Array.isArray(policy) ? new AddressAllowList(policy) : undefined;
  }

  get checks(): boolean {
    return !this.allowAll;
  }

  /** Throws when any of `addresses` is refused: one bad answer among good ones is enough to refuse. */
  check(host: string, addresses: readonly string[]): void {
    if (this.allowAll) return;
    for (const address of addresses) {
      const category = classifyAddress(address);
      if (category !== undefined && this.allowList?.has(address) !== true) {
        throw new AddressNotAllowedError(host, address, category);
      }
    }
  }
}
