/**
 * Which did:web hosts may be on a private address. The embedded DID host listens on loopback, so the
 * demo lets did:web resolution reach loopback — but only for the operator's own DID host. Any other
 * DID a request names is a stranger's: its host resolving to 127.0.0.1 would let anyone make the agent
 * open HTTPS connections to every port of the machine it runs on.
 */
import type { DIDResolver } from 'did-resolver';

/**
 * The host and port a did:web authority (`localhost%3A8443`, `Example.COM`) names, as the URL parser
 * normalises them (`localhost:8443`, `example.com`); undefined when it names none.
 */
export function didWebAuthority(methodSpecificId: string): string | undefined {
  let authority: string;
  try {
    authority = decodeURIComponent(methodSpecificId.split(':', 1)[0]!);
  } catch {
    return undefined;
  }
  if (!/^[^/?#@\\\s]+$/.test(authority) || !URL.canParse(`https://${authority}`)) return undefined;
  return new URL(`https://${authority}`).host;
}

/**
 * A did:web driver that resolves DIDs on `operatorHost` (a did:web authority, any spelling of it)
 * with `operator`, and every other DID with `strangers`.
 */
export function byDidWebHost(operatorHost: string, operator: DIDResolver, strangers: DIDResolver): DIDResolver {
  const own = didWebAuthority(operatorHost);
  if (own === undefined) throw new TypeError(`the DID host ${JSON.stringify(operatorHost)} is not a did:web authority (host, or host%3Aport)`);
  return (did, parsed, resolver, options) => (didWebAuthority(parsed.id) === own ? operator : strangers)(did, parsed, resolver, options);
}
