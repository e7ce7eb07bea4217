import { isIP } from 'node:net';

/** Where a did:web DID's document lives, per the did:web method specification. */
export interface DidWebLocation {
  /** The HTTPS URL of the document. */
  readonly url: string;
  /** The host name (lower case, no port). */
  readonly hostname: string;
  /** Host and port as written in the DID (`localhost:8443`): the per-host breaker's key. */
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
 */
export function didWebLocation(methodSpecificId: string): DidWebLocation | string {
  const [first = '', ...pathSegments] = methodSpecificId.split(':');
  const authority = decode(first)?.toLowerCase();
  if (authority === undefined || authority.length === 0) return 'the did:web host is empty or badly percent-encoded';
  const portAt = authority.lastIndexOf(':');
  const hostname = portAt === -1 ? authority : authority.slice(0, portAt);
  if (portAt !== -1) {
    const port = authority.slice(portAt + 1);
    if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
      return `the did:web port ${JSON.stringify(port)} is not a number from 1 to 65535`;
    }
  }
  if (isIP(hostname) !== 0 || hostname.startsWith('[')) {
    return `the did:web host ${JSON.stringify(hostname)} is an IP address; did:web requires a domain name`;
  }
  if (hostname.length > 253 || !hostname.split('.').every((label) => LABEL.test(label))) {
    return `the did:web host ${JSON.stringify(hostname)} is not a valid domain name`;
  }
  const path: string[] = [];
  for (const raw of pathSegments) {
    const segment = decode(raw);
    if (segment === undefined || segment === '' || segment === '.' || segment === '..' || /[/?#\\]/.test(segment)) {
      return `the did:web path segment ${JSON.stringify(raw)} is empty, "." or "..", badly encoded, or contains / ? # or \\`;
    }
    path.push(encodeURIComponent(segment));
  }
  const url = path.length === 0 ? `https://${authority}/.well-known/did.json` : `https://${authority}/${path.join('/')}/did.json`;
  return { url, hostname, authority };
}
