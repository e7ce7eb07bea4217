/**
 * Generators for tests of an address guard (the `@phlow/address-policy/testing` entry): the
 * addresses a guard must refuse, and every textual spelling of an address a URL parser accepts.
 * They take a `pick(n)` function returning an integer in `[0, n)`, so any random source drives them
 * (fast-check, a seeded PRNG) and a failing case can be replayed.
 */

/** Picks an integer in `[0, n)`. */
export type Pick = (n: number) => number;

/** A {@link Pick} that cycles through `values` (e.g. a fast-check array of naturals, so cases shrink and replay). */
export function pickFrom(values: readonly number[]): Pick {
  if (values.length === 0) throw new RangeError('pickFrom needs at least one value');
  let i = 0;
  return (n) => values[i++ % values.length]! % n;
}

type AddressMaker = (pick: Pick) => string;

const byte = (pick: Pick): number => pick(256);
const dotted = (a: number, b: number, c: number, d: number): string => `${a}.${b}.${c}.${d}`;

/** IPv4 addresses a guard must refuse, by category. */
const REFUSED_IPV4: readonly (readonly [category: string, make: AddressMaker])[] = [
  ['loopback', (p) => dotted(127, byte(p), byte(p), byte(p))],
  ['private', (p) => dotted(10, byte(p), byte(p), byte(p))],
  ['private', (p) => dotted(172, 16 + p(16), byte(p), byte(p))],
  ['private', (p) => dotted(192, 168, byte(p), byte(p))],
  ['link-local', (p) => dotted(169, 254, byte(p), byte(p))],
  ['metadata', () => '169.254.169.254'],
  ['metadata', () => '100.100.100.200'],
  ['shared', (p) => dotted(100, 64 + p(64), byte(p), byte(p))],
  ['unspecified', (p) => dotted(0, byte(p), byte(p), byte(p))],
  ['multicast', (p) => dotted(224 + p(16), byte(p), byte(p), byte(p))],
];

const hex16 = (pick: Pick): string => pick(0x10000).toString(16);
function v4Groups(v4: string): string {
  const [a = 0, b = 0, c = 0, d = 0] = v4.split('.').map(Number);
  return `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
}
const refusedV4 = (pick: Pick): string => REFUSED_IPV4[pick(REFUSED_IPV4.length)]![1](pick);

/** IPv6 addresses a guard must refuse (canonical text), by category. */
const REFUSED_IPV6: readonly (readonly [category: string, make: AddressMaker])[] = [
  ['loopback', () => '::1'],
  ['unspecified', () => '::'],
  ['link-local', (p) => `fe80::${hex16(p)}:${hex16(p)}`],
  ['private', (p) => `fd${p(256).toString(16).padStart(2, '0')}:${hex16(p)}::${hex16(p)}`],
  ['metadata', () => 'fd00:ec2::254'],
  ['ipv4-mapped', (p) => `::ffff:${v4Groups(refusedV4(p))}`],
  ['ipv4-compatible', (p) => `::${v4Groups(refusedV4(p))}`],
  ['nat64', (p) => `64:ff9b::${v4Groups(refusedV4(p))}`],
  ['nat64-local', (p) => `64:ff9b:1:${hex16(p)}::${hex16(p)}`],
  ['6to4', (p) => `2002:${v4Groups(refusedV4(p))}::${hex16(p)}`],
  ['multicast', (p) => `ff0${p(16).toString(16)}::${hex16(p)}`],
];

/** An address (canonical text) that an address guard must refuse by default; `ipv6` picks the family. */
export function refusedAddress(pick: Pick, family: 4 | 6 = pick(2) === 0 ? 4 : 6): string {
  return family === 4 ? refusedV4(pick) : REFUSED_IPV6[pick(REFUSED_IPV6.length)]![1](pick);
}

function spellNumber(value: number, pick: Pick): string {
  const zeros = '0'.repeat(pick(3));
  switch (pick(3)) {
    case 0:
      return String(value);
    case 1:
      return `0${zeros}${value.toString(8)}`;
    default: {
      const digits = value.toString(16);
      return `${pick(2) === 0 ? '0x' : '0X'}${zeros}${pick(2) === 0 ? digits : digits.toUpperCase()}`;
    }
  }
}

/**
 * A spelling of an IPv4 address that the WHATWG URL parser reads as that address: 1 to 4 parts
 * (`127.1`, `127.0.1`, `2130706433`), each decimal, octal (`0177`) or hexadecimal (`0x7F`), an
 * optional trailing dot, and characters optionally percent-encoded (`%31%32%37.0.0.1`).
 */
export function spellIpv4(address: string, pick: Pick): string {
  const [a = 0, b = 0, c = 0, d = 0] = address.split('.').map(Number);
  const parts = [[(((a << 24) >>> 0) + (b << 16) + (c << 8) + d) >>> 0], [a, (b << 16) + (c << 8) + d], [a, b, (c << 8) + d], [a, b, c, d]][pick(4)]!;
  let text = parts.map((part) => spellNumber(part, pick)).join('.');
  if (pick(3) === 0) text += '.';
  if (pick(3) === 0) text = [...text].map((ch) => (pick(3) === 0 ? `%${ch.charCodeAt(0).toString(16)[pick(2) === 0 ? 'toUpperCase' : 'toLowerCase']()}` : ch)).join('');
  return text;
}

/** The eight 16-bit groups of an IPv6 address in hexadecimal text (no dotted tail, no zone). */
function expandIpv6(address: string): number[] {
  const [head = '', rest] = address.split('::');
  const left = head === '' ? [] : head.split(':').map((g) => parseInt(g, 16));
  const right = rest === undefined || rest === '' ? [] : rest.split(':').map((g) => parseInt(g, 16));
  const fill = rest === undefined ? [] : new Array<number>(8 - left.length - right.length).fill(0);
  return [...left, ...fill, ...right];
}

/**
 * A spelling of an IPv6 address in brackets that the URL parser reads as that address: full or
 * compressed (any run of zero groups), leading zeros, upper or lower case, the last 32 bits
 * optionally dotted (`[::ffff:127.0.0.1]`, `[::127.0.0.1]`, `[64:ff9b::10.0.0.1]`).
 */
export function spellIpv6(address: string, pick: Pick): string {
  const groups = expandIpv6(address);
  const dottedTail = pick(3) === 0;
  const shown = dottedTail ? groups.slice(0, 6) : groups;
  const text = shown.map((g) => {
    const digits = g.toString(16).padStart(pick(2) === 0 ? 1 + pick(4) : 1, '0');
    return pick(2) === 0 ? digits : digits.toUpperCase();
  });
  const zeroRuns: [number, number][] = [];
  for (let i = 0; i < shown.length; ) {
    if (shown[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < shown.length && shown[j] === 0) j++;
    zeroRuns.push([i, j]);
    i = j;
  }
  let body: string;
  const run = zeroRuns.length > 0 && pick(4) !== 0 ? zeroRuns[pick(zeroRuns.length)] : undefined;
  if (run === undefined) body = text.join(':');
  else body = `${text.slice(0, run[0]).join(':')}::${text.slice(run[1]).join(':')}`;
  if (dottedTail) {
    const low = groups.slice(6);
    const v4 = `${low[0]! >> 8}.${low[0]! & 0xff}.${low[1]! >> 8}.${low[1]! & 0xff}`;
    body = body.endsWith('::') ? `${body}${v4}` : `${body}:${v4}`;
  }
  return `[${body}]`;
}

/** A URL host spelling of `address` (IPv4 or IPv6 canonical text). */
export function spellHost(address: string, pick: Pick): string {
  return address.includes(':') ? spellIpv6(address, pick) : spellIpv4(address, pick);
}
