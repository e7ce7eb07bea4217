import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP, type LookupFunction, type Socket } from 'node:net';
import { buildConnector } from 'undici';
import { AddressNotAllowedError } from './address-not-allowed-error.js';
import type { AddressPolicy } from './address-policy.js';

/** A resolved address, as `dns.lookup(host, { all: true })` returns it. */
export interface ResolvedAddress {
  readonly address: string;
  readonly family: number;
}

/** Name resolution: every address of a host. */
export type LookupAll = (hostname: string) => Promise<readonly ResolvedAddress[]>;

export const defaultLookup: LookupAll = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/** What a guarded connector is built from. */
export interface GuardedConnectorSettings {
  readonly policy: AddressPolicy;
  readonly lookup: LookupAll;
  /** Node's `buildConnector` options: TLS context, connect timeout. */
  readonly connectOptions: buildConnector.BuildOptions;
}

/** A host name as the allow-list compares it (the URL parser lower-cased it; a trailing dot is the same host). */
function hostKey(hostname: string): string {
  const lower = hostname.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/**
 * The lookup the socket connects with: it resolves every address of the host, refuses the host if
 * any address is refused, and hands the checked addresses to the socket, so the address connected
 * to is one that was checked (no window for DNS rebinding between check and connect).
 */
function guardedLookup(policy: AddressPolicy, lookup: LookupAll): LookupFunction {
  return (hostname, options, callback) => {
    lookup(hostname)
      .then((addresses) => {
        policy.check(hostKey(hostname), addresses.map((a) => a.address));
        const usable = options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : [...addresses];
        if (usable.length === 0) throw Object.assign(new Error(`no usable address for ${hostname}`), { code: 'ENOTFOUND' });
        return usable;
      })
      .then(
        (usable) => {
          if (options.all === true) (callback as unknown as (error: null, addresses: ResolvedAddress[]) => void)(null, usable);
          else callback(null, usable[0]!.address, usable[0]!.family);
        },
        (error: NodeJS.ErrnoException) => callback(error, '', 0),
      );
  };
}

/**
 * An undici connector that only connects where the policy allows, judged at three points:
 * 1. an IP literal host (the URL parser already turned `0x7f.1` into `127.0.0.1`; Node runs no
 *    lookup for it) is judged before any socket exists;
 * 2. a host name is judged on every address of its lookup, inside the socket's own lookup;
 * 3. the address the socket actually connected to is judged again before the socket is used.
 *
 * `track` hears of each socket while it is being set up (until connected or failed), so an abort can
 * destroy it.
 */
export function guardedConnector(
  settings: GuardedConnectorSettings,
  track: { add(socket: Socket): void; delete(socket: Socket): void },
): buildConnector.connector {
  const { policy } = settings;
  const connect = buildConnector({
    ...settings.connectOptions,
    // Also when every address is allowed: a lookup of the user's (their own DNS) is still the one used.
    lookup: guardedLookup(policy, settings.lookup),
  } as buildConnector.BuildOptions);
  return (options, callback) => {
    const host = options.hostname;
    if (policy.enforced && isIP(host) !== 0) {
      const category = policy.verdict(host, host);
      if (category !== undefined) {
        queueMicrotask(() => callback(new AddressNotAllowedError(host, host, category), null));
        return undefined as never;
      }
    }
    const socket = connect(options, (error, connected) => {
      track.delete(socket);
      if (error !== null || connected === null) {
        callback(error, null);
        return;
      }
      const remote = connected.remoteAddress;
      const category = !policy.enforced ? undefined : remote === undefined ? 'reserved' : policy.verdict(hostKey(host), remote);
      if (category !== undefined) {
        connected.destroy();
        callback(new AddressNotAllowedError(host, remote ?? '(unknown address)', category), null);
        return;
      }
      callback(null, connected);
    }) as unknown as Socket;
    track.add(socket);
    return socket as never;
  };
}
