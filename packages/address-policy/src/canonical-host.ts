import { isIP } from 'node:net';

/** A URL's host as the WHATWG URL parser (and so `fetch`) reads it: what a connection goes to. */
export interface CanonicalHost {
  /**
   * The host name in lower case, IDNA-mapped, without brackets and without a trailing dot; an IP
   * address in its standard form (`0x7f.1`, `2130706433` and `127.1` all become `127.0.0.1`;
   * `[::FFFF:127.0.0.1]` becomes `::ffff:7f00:1`).
   */
  readonly hostname: string;
  /** The IP address when the host is one (no name lookup happens for it), else undefined. */
  readonly address: string | undefined;
}

/**
 * The canonical host of a URL: decisions are made on what the URL parser makes of the text, never
 * on the text itself, because the parser rewrites shortened, decimal, hexadecimal and octal IPv4
 * spellings (and a bare `0`) into an address that Node then connects to without any name lookup.
 * Throws a `TypeError` when `url` is not an absolute URL with a host.
 *
 * @example
 * canonicalHost('https://0x7f.1:8443/did.json'); // { hostname: '127.0.0.1', address: '127.0.0.1' }
 * canonicalHost('https://Agents.Example.COM./'); // { hostname: 'agents.example.com', address: undefined }
 */
export function canonicalHost(url: string | URL): CanonicalHost {
  const parsed = typeof url === 'string' ? parseUrl(url) : url;
  const raw = parsed.hostname;
  if (raw === '') throw new TypeError(`${JSON.stringify(String(url))} has no host`);
  const bare = raw.startsWith('[') ? raw.slice(1, -1) : raw;
  if (isIP(bare) !== 0) return { hostname: bare, address: bare };
  return { hostname: bare.endsWith('.') ? bare.slice(0, -1) : bare, address: undefined };
}

function parseUrl(url: string): URL {
  try {
    return new URL(url);
  } catch {
    throw new TypeError(`${JSON.stringify(url)} is not an absolute URL`);
  }
}
