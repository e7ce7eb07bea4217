import type { Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import * as tls from 'node:tls';
import { checkDurationMs, checkFunction, checkInteger, checkKnownKeys } from '@phlow/circuit-breaker/internal';
import { Dispatcher, Pool } from 'undici';
import { AddressPolicy, type AddressPolicyOptions } from './address-policy.js';
import { defaultLookup, guardedConnector, type LookupAll } from './guarded-connector.js';

/** Options of {@link GuardedDispatcher} (and of {@link createGuardedFetch}). */
export interface GuardedDispatcherOptions extends AddressPolicyOptions {
  /** A policy to share instead of `allowPrivateAddresses` (give one or the other). */
  readonly policy?: AddressPolicy;
  /** Name resolution (every address of a host); `dns.lookup(host, { all: true })` by default. */
  readonly lookup?: LookupAll;
  /** Extra CA certificates (PEM) to trust on top of Node's root store: a private PKI or a test host. */
  readonly ca?: string | readonly string[];
  /** Most origins (scheme, host, port) with a pool at once; the least recently used one is closed. Default 64. */
  readonly maxOrigins?: number;
  /** Most sockets per origin; further requests wait for a free one. Default 16. */
  readonly maxSocketsPerOrigin?: number;
  /** An idle kept-alive socket is closed after this long (ms). Default 4 000 (undici's). */
  readonly keepAliveTimeoutMs?: number;
  /** A connection not set up (TCP and TLS) within this long fails (ms). Default 10 000. */
  readonly connectTimeoutMs?: number;
}

export const GUARDED_DISPATCHER_OPTION_NAMES = [
  'allowPrivateAddresses',
  'policy',
  'lookup',
  'ca',
  'maxOrigins',
  'maxSocketsPerOrigin',
  'keepAliveTimeoutMs',
  'connectTimeoutMs',
] as const;

/** Per origin: its pool, the requests a guarded fetch has in flight to it, and its sockets still being set up. */
interface OriginEntry {
  readonly pool: Pool;
  pending: number;
  readonly connecting: Set<Socket>;
}

const ABANDONED = 'ERR_CONNECTION_ABANDONED';

/** @internal What {@link GuardedDispatcher.track} returns for one guarded fetch call. */
export interface GuardedCall {
  /** Pass it to fetch as `dispatcher`: it dispatches through the guarded pools and remembers the origins. */
  readonly dispatcher: Dispatcher;
  /** Whether fetch dispatched anything through it (a fetch that ignores `dispatcher` never does). */
  readonly used: boolean;
  /** The call is over; `abandoned` when it was aborted or failed before an answer. */
  end(abandoned: boolean): void;
}

function abandonConnecting(entry: OriginEntry): void {
  for (const socket of entry.connecting) {
    entry.connecting.delete(socket);
    socket.destroy(Object.assign(new Error('connection abandoned: the request waiting for it was aborted'), { code: ABANDONED }));
  }
}

/**
 * An undici 8 dispatcher for undici's `fetch` that connects only where its {@link AddressPolicy} allows
 * (checked where the connection is made: the IP literal, every looked-up address, the connected
 * peer) and keeps checked connections alive for reuse: one pool per origin, at most `maxOrigins`
 * pools (least recently used closed first) of at most `maxSocketsPerOrigin` sockets each.
 * A redirect followed by `fetch` goes through the same dispatcher, so it is checked the same way.
 *
 * Pass it as `fetch(url, { dispatcher })` with undici 8's `fetch` (`import { fetch } from 'undici'`;
 * Node 22's and 24's global fetch bundle an older undici that refuses it), or use
 * {@link createGuardedFetch}, which does that and also destroys a connection still being set up when
 * the last request waiting for it is aborted.
 */
export class GuardedDispatcher extends Dispatcher {
  /** The policy this dispatcher enforces. */
  readonly policy: AddressPolicy;
  private readonly origins = new Map<string, OriginEntry>();
  private readonly poolOptions: Pool.Options;
  private readonly settings: { policy: AddressPolicy; lookup: LookupAll; connectOptions: Record<string, unknown> };
  private closed = false;

  constructor(options: GuardedDispatcherOptions = {}) {
    super();
    if (typeof options !== 'object' || options === null) throw new TypeError(`guarded dispatcher options must be an object; got ${String(options)}`);
    checkKnownKeys('guarded dispatcher options', options, GUARDED_DISPATCHER_OPTION_NAMES);
    if (options.policy !== undefined && options.allowPrivateAddresses !== undefined) {
      throw new TypeError('give either policy or allowPrivateAddresses, not both');
    }
    if (options.policy !== undefined && !(options.policy instanceof AddressPolicy)) {
      throw new TypeError(`policy must be an AddressPolicy; got ${String(options.policy)}`);
    }
    this.policy = options.policy ?? new AddressPolicy(options);
    const ca = options.ca === undefined ? [] : typeof options.ca === 'string' ? [options.ca] : [...options.ca];
    if (!ca.every((pem) => typeof pem === 'string' && pem.includes('-----BEGIN CERTIFICATE-----'))) {
      throw new TypeError('ca must be a PEM certificate string or a list of them ("-----BEGIN CERTIFICATE-----...")');
    }
    const maxSockets = checkInteger('maxSocketsPerOrigin', options.maxSocketsPerOrigin ?? 16, 1);
    this.maxOrigins = checkInteger('maxOrigins', options.maxOrigins ?? 64, 1);
    const keepAliveTimeout = checkDurationMs('keepAliveTimeoutMs', options.keepAliveTimeoutMs ?? 4_000, 1);
    const connectTimeout = checkDurationMs('connectTimeoutMs', options.connectTimeoutMs ?? 10_000, 1);
    // One TLS context per dispatcher: without it every connection builds its own (0.5 ms each with
    // Node's root store alone; ~40 ms when `ca` adds certificates to the ~140 roots).
    const secureContext = tls.createSecureContext(ca.length > 0 ? { ca: [...defaultTrust(), ...ca] } : {});
    this.settings = {
      policy: this.policy,
      lookup: options.lookup === undefined ? defaultLookup : checkFunction<LookupAll>('lookup', options.lookup),
      connectOptions: { timeout: connectTimeout, secureContext },
    };
    this.poolOptions = { connections: maxSockets, keepAliveTimeout, keepAliveMaxTimeout: Math.max(keepAliveTimeout, 600_000) };
  }

  private readonly maxOrigins: number;

  /** Origins with a pool now (bounded by `maxOrigins`). */
  get originCount(): number {
    return this.origins.size;
  }

  private entryFor(origin: string): OriginEntry {
    let entry = this.origins.get(origin);
    if (entry !== undefined) {
      // Most recently used last: Map iteration order is insertion order.
      this.origins.delete(origin);
      this.origins.set(origin, entry);
      return entry;
    }
    const connecting = new Set<Socket>();
    const connect = guardedConnector(this.settings as never, connecting);
    entry = { pool: new Pool(origin, { ...this.poolOptions, connect }), pending: 0, connecting };
    this.origins.set(origin, entry);
    if (this.origins.size > this.maxOrigins) {
      const [oldest, evicted] = this.origins.entries().next().value as [string, OriginEntry];
      this.origins.delete(oldest);
      // close() lets requests in flight finish, then closes the sockets.
      evicted.pool.close().catch(() => {});
    }
    return entry;
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    if (this.closed) throw new TypeError('the guarded dispatcher is closed');
    const origin = originOf(options.origin);
    return this.entryFor(origin).pool.dispatch(options, handler);
  }

  /**
   * @internal One guarded fetch call: the dispatcher `fetch` is given for it, which sees every hop
   * of the call (redirects to other origins included), and `end` to call when the call is over
   * (`abandoned`: aborted or failed before an answer). When nobody else waits for an origin the
   * call went to, that origin's sockets still being set up are destroyed: undici would keep them
   * connecting until the connect timeout, and fetch cannot cancel a request that waits for a socket.
   * The entries are held, not looked up again, so an origin evicted meanwhile is cleaned up too.
   */
  track(): GuardedCall {
    const entries = new Set<OriginEntry>();
    let used = false;
    let ended = false;
    const dispatcher = {
      dispatch: (options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean => {
        if (this.closed) throw new TypeError('the guarded dispatcher is closed');
        used = true;
        const entry = this.entryFor(originOf(options.origin));
        if (!ended && !entries.has(entry)) {
          entries.add(entry);
          entry.pending++;
        }
        return entry.pool.dispatch(options, handler);
      },
    };
    return {
      dispatcher: dispatcher as unknown as Dispatcher,
      get used() {
        return used;
      },
      end: (abandoned) => {
        if (ended) return;
        ended = true;
        for (const entry of entries) {
          entry.pending = Math.max(0, entry.pending - 1);
          if (abandoned && entry.pending === 0) abandonConnecting(entry);
        }
      },
    };
  }

  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    this.closed = true;
    const pools = [...this.origins.values()].map((entry) => entry.pool.close());
    this.origins.clear();
    const done = Promise.all(pools).then(() => undefined);
    if (callback === undefined) return done;
    done.then(callback, callback);
  }

  /** The same as `close()`, so `await using dispatcher = new GuardedDispatcher()` closes it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  override destroy(): Promise<void>;
  override destroy(error: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(error: Error | null, callback: () => void): void;
  override destroy(first?: Error | null | (() => void), second?: () => void): Promise<void> | void {
    const error = typeof first === 'function' ? null : (first ?? null);
    const callback = typeof first === 'function' ? first : second;
    this.closed = true;
    const entries = [...this.origins.values()];
    this.origins.clear();
    const done = Promise.all(
      entries.map((entry) => {
        for (const socket of entry.connecting) socket.destroy();
        return entry.pool.destroy(error);
      }),
    ).then(() => undefined);
    if (callback === undefined) return done;
    done.then(callback, callback);
  }
}

function originOf(origin: Dispatcher.DispatchOptions['origin']): string {
  if (typeof origin === 'string') return new URL(origin).origin;
  if (origin instanceof URL) return origin.origin;
  throw new TypeError(`dispatch options need an origin; got ${String(origin)}`);
}

/**
 * The certificates Node trusts by default: its bundled roots plus `NODE_EXTRA_CA_CERTS`, so that `ca`
 * adds to what the process already trusts instead of silently dropping the extra certificates (a
 * secure context given `ca` replaces the default store). Node >= 22.15 says it with
 * `tls.getCACertificates('default')`; older Node only lists the bundled roots, so the extra file is
 * read here (Node itself read it at start-up and warned if it could not).
 */
function defaultTrust(): readonly string[] {
  const getCACertificates = (tls as { getCACertificates?: (type: 'default') => string[] }).getCACertificates;
  if (typeof getCACertificates === 'function') return getCACertificates('default');
  const extraFile = process.env['NODE_EXTRA_CA_CERTS'];
  if (extraFile === undefined || extraFile === '') return tls.rootCertificates;
  try {
    return [...tls.rootCertificates, readFileSync(extraFile, 'utf8')];
  } catch {
    return tls.rootCertificates;
  }
}
