/**
 * The `Host` header check against DNS rebinding: a hostile page whose name is made to resolve to
 * 127.0.0.1 talks to the agent same-origin as far as the browser knows, but its requests still carry
 * the hostile name in `Host`. Only the names the agent is reached by are answered. Names are compared
 * as the URL parser normalises them (case, IPv4 spellings, IPv6 brackets), never as raw text; the port
 * is not compared (a reverse proxy may change it).
 */

import type { RequestHandler } from 'express';
import { HttpError } from './http-errors.js';

/** A `Host` header: a name or IPv4 address, or a bracketed IPv6 address, then an optional port. */
const HOST_HEADER = /^(?:[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** The canonical host name of a `Host` header value, or undefined when it is not one. */
export function canonicalHost(header: string | undefined): string | undefined {
  if (header === undefined || !HOST_HEADER.test(header) || !URL.canParse(`http://${header}`)) return undefined;
  return new URL(`http://${header}`).hostname;
}

export class HostAllowList {
  readonly #hostnames: ReadonlySet<string>;

  /** @param hostnames names or addresses (`agent.example.com`, `127.0.0.1`, `::1` or `[::1]`). */
  constructor(hostnames: readonly string[]) {
    const canonical = new Set<string>();
    for (const name of hostnames) {
      const bracketed = name.includes(':') && !name.startsWith('[') ? `[${name}]` : name;
      const host = canonicalHost(bracketed);
      if (host === undefined) throw new TypeError(`allowed host ${JSON.stringify(name)} is not a host name or IP address`);
      canonical.add(host);
    }
    this.#hostnames = canonical;
  }

  /** True when `header` (a request's `Host`) names one of the allowed hosts. */
  allows(header: string | undefined): boolean {
    const host = canonicalHost(header);
    return host !== undefined && this.#hostnames.has(host);
  }
}

/** Answers 421 to a request whose `Host` is not one of `list`'s names. */
export function allowedHostsOnly(list: HostAllowList): RequestHandler {
  return (req, _res, next) => {
    const host = req.get('host');
    if (list.allows(host)) {
      next();
      return;
    }
    next(new HttpError(421, `misdirected request: this agent does not answer for Host ${JSON.stringify((host ?? '(none)').slice(0, 200))}; its operator can add the name to ALLOWED_HOSTS`));
  };
}
