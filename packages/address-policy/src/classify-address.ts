import ipaddr from 'ipaddr.js';

/** Why an address is refused as the target of a URL learned from fetched data. */
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
 * Cloud metadata endpoints. Each also falls in a refused range (link-local, unique-local, shared);
 * they are named so that a refusal says "metadata", the reason a reader cares about.
 */
const METADATA = new Set(['169.254.169.254', '169.254.170.2', '100.100.100.200', 'fd00:ec2::254']);

/**
 * ipaddr.js (the field's IP address library: parsing, canonical forms, the IANA special-purpose
 * ranges) names the range; this table only says which of our categories each name falls in. Every
 * range it names that is not listed here is `reserved`.
 */
const IPV4_RANGES: Readonly<Record<string, AddressCategory | 'unicast'>> = {
  unicast: 'unicast',
  unspecified: 'unspecified',
  loopback: 'loopback',
  private: 'private',
  carrierGradeNat: 'shared',
  linkLocal: 'link-local',
  multicast: 'multicast',
};

/** 2000::/3: the only IPv6 space allocated for global unicast. Everything outside it is refused. */
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3');
/** 64:ff9b::/96, the well-known NAT64 prefix (RFC 6052): judged by the IPv4 address it carries. */
const NAT64_WELL_KNOWN = ipaddr.parseCIDR('64:ff9b::/96');
/** 2002::/16, 6to4 (RFC 3056): judged by the IPv4 address it carries. */
const SIX_TO_FOUR = ipaddr.parseCIDR('2002::/16');

const IPV6_RANGES: Readonly<Record<string, AddressCategory>> = {
  unspecified: 'unspecified',
  loopback: 'loopback',
  uniqueLocal: 'private',
  // 64:ff9b:1::/48 (RFC 8215) is NAT64 for local use: what it reaches is the operator's network.
  rfc6052: 'private',
  linkLocal: 'link-local',
  deprecatedSiteLocal: 'link-local',
  multicast: 'multicast',
};

function classifyIpv4(address: ipaddr.IPv4): AddressCategory | undefined {
  if (METADATA.has(address.toString())) return 'metadata';
  const category = IPV4_RANGES[address.range()] ?? 'reserved';
  return category === 'unicast' ? undefined : category;
}

function ipv4From(bytes: readonly number[]): ipaddr.IPv4 {
  return new ipaddr.IPv4([bytes[0]!, bytes[1]!, bytes[2]!, bytes[3]!]);
}

function classifyIpv6(address: ipaddr.IPv6): AddressCategory | undefined {
  const bytes = address.toByteArray();
  // The IPv4 address inside an IPv6 one is what a connection to it reaches (through the host's own
  // stack for ::ffff:0:0/96, through a NAT64 or 6to4 gateway for the others).
  if (address.isIPv4MappedAddress()) return classifyIpv4(address.toIPv4Address());
  if (address.match(NAT64_WELL_KNOWN)) return classifyIpv4(ipv4From(bytes.slice(12)));
  if (address.match(SIX_TO_FOUR)) return classifyIpv4(ipv4From(bytes.slice(2, 6)));
  if (METADATA.has(address.toString())) return 'metadata';
  const named = IPV6_RANGES[address.range()];
  if (named !== undefined) return named;
  // ::a.b.c.d (IPv4-compatible, deprecated), 100::/64, Teredo, documentation ranges, ...
  return address.match(GLOBAL_UNICAST_V6) && address.range() === 'unicast' ? undefined : 'reserved';
}

/**
 * The category that makes `address` unfit as a target, or `undefined` for a public unicast address.
 * `address` is an IP address as Node reports it (dotted IPv4, IPv6 with an optional `%zone`); any
 * other text (a host name, a shortened or hexadecimal IPv4 such as `127.1`) is `reserved` — turn a
 * URL's host into an address with {@link canonicalHost} first.
 *
 * @example
 * classifyAddress('10.0.0.7');          // 'private'
 * classifyAddress('::ffff:7f00:1');     // 'loopback' (IPv4-mapped 127.0.0.1)
 * classifyAddress('64:ff9b::a9fe:a9fe'); // 'metadata' (NAT64 of 169.254.169.254)
 * classifyAddress('93.184.215.14');     // undefined: allowed
 */
export function classifyAddress(address: string): AddressCategory | undefined {
  const parsed = parseAddress(address);
  if (parsed === undefined) return 'reserved';
  return parsed.kind() === 'ipv4' ? classifyIpv4(parsed as ipaddr.IPv4) : classifyIpv6(parsed as ipaddr.IPv6);
}

/**
 * `address` parsed when it is an IP address in the standard textual form (the form sockets and DNS
 * answers use), else undefined. ipaddr.js also reads `127.1` or `0x7f.1`; those are not addresses
 * here: such spellings are only ever judged after the URL parser has turned them into `127.0.0.1`.
 */
export function parseAddress(address: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  if (typeof address !== 'string') return undefined;
  if (ipaddr.IPv4.isValidFourPartDecimal(address)) return ipaddr.IPv4.parse(address);
  if (!address.includes(':')) return undefined;
  // ipaddr.js reads `::a.b.c.d` (IPv4-compatible) as `::ffff:a.b.c.d` (IPv4-mapped): give it the URL
  // parser's canonical text, which never has a dotted tail, so each address keeps its own meaning.
  const zoneAt = address.indexOf('%');
  const bare = zoneAt === -1 ? address : address.slice(0, zoneAt);
  let canonical: string;
  try {
    canonical = new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
  return ipaddr.IPv6.isValid(canonical) ? ipaddr.IPv6.parse(canonical) : undefined;
}
