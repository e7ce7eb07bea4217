import { canonicalHost } from '@phlow/address-policy';

/** Where a did:web DID's document lives, per the did:web method specification. */
export interface DidWebLocation {
  /** The HTTPS URL of the document. */
  readonly url: string;
  /** The host name as the URL parser reads it (lower case, no port). */
  readonly hostname: string;
  /** Host and port as the URL parser reads them (`localhost:8443`; no port for 443): the per-host breaker's key. */
  readonly authority: string;
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

function decode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/**
 * Maps a did:web method-specific id (the part after `did:web:`) to its document URL, or returns a
 * message saying why it cannot: `localhost%3A8443` → `https://localhost:8443/.well-known/did.json`,
 * `example.com:users:alice` → `https://example.com/users/alice/did.json`.
 *
 * Stricter than web-did-resolver on purpose: the host must be a DNS name (the spec forbids IP
 * addresses), the port a number, and no path segment may be empty, `.`/`..` or smuggle `/`, `?`, `#`
 * or `\` through percent-encoding, so a DID cannot point the request anywhere but its own path.
 * The host is judged as the URL parser reads it (what `fetch` connects to), not as written: the
 * parser turns `0x7f.1`, `2130706433`, `0177.1`, `127.0.0.1.` and a bare `0` into IPv4 addresses.
 */
export function didWebLocation(methodSpecificId: string): DidWebLocation | string {
  const [first = '', ...pathSegments] = methodSpecificId.split(':');
  const authority = decode(first)?.toLowerCase();
  if (authority === undefined || authority.length === 0) return 'the did:web host is empty or badly percent-encoded';
  const portAt = authority.startsWith('[') ? authority.indexOf(':', authority.indexOf(']')) : authority.lastIndexOf(':');
  const written = portAt === -1 ? authority : authority.slice(0, portAt);
  if (portAt !== -1) {
    const port = authority.slice(portAt + 1);
    if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
      return `the did:web port ${JSON.stringify(port)} is not a number from 1 to 65535`;
    }
  }
  if (/[/?#@\\\s%]/.test(authority)) return `the did:web host ${JSON.stringify(written)} is not a valid domain name`;
  let parsed: URL;
  try {
    parsed = new URL(`https://${authority}/`);
  } catch {
    return `the did:web host ${JSON.stringify(written)} is not a valid domain name`;
  }
  const host = canonicalHost(parsed);
  if (host.address !== undefined) {
    const read = host.address === written.replace(/^\[|\]$/g, '') ? '' : ` (URL parsers read it as ${host.address})`;
    return `the did:web host ${JSON.stringify(written)} is an IP address${read}; did:web requires a domain name`;
  }
  const hostname = parsed.hostname;
  if (hostname.length > 253 || !hostname.split('.').every((label) => LABEL.test(label))) {
    return `the did:web host ${JSON.stringify(written)} is not a valid domain name`;
  }
  const path: string[] = [];
  for (const raw of pathSegments) {
    const segment = decode(raw);
    if (segment === undefined || segment === '' || segment === '.' || segment === '..' || /[/?#\\]/.test(segment)) {
      return `the did:web path segment ${JSON.stringify(raw)} is empty, "." or "..", badly encoded, or contains / ? # or \\`;
    }
    path.push(encodeURIComponent(segment));
  }
  const origin = parsed.host;
  const url = path.length === 0 ? `https://${origin}/.well-known/did.json` : `https://${origin}/${path.join('/')}/did.json`;
  return { url, hostname, authority: origin };
}
