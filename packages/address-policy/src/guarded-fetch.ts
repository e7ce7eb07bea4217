import { checkFunction, checkKnownKeys } from '@phlow/circuit-breaker/internal';
import { findAddressRefusal } from './address-not-allowed-error.js';
import type { AddressPolicy } from './address-policy.js';
import { GUARDED_DISPATCHER_OPTION_NAMES, GuardedDispatcher, type GuardedDispatcherOptions } from './guarded-dispatcher.js';
import { undiciFetch } from './undici-fetch.js';

/** Options of {@link createGuardedFetch}: the dispatcher's (or a dispatcher to share), and the fetch underneath. */
export interface GuardedFetchOptions extends GuardedDispatcherOptions {
  /**
   * The fetch that performs the requests. Default: undici's own `fetch` (of undici 8, the major of
   * the guarded dispatcher), and `globalThis.fetch` given here means that default too, on every Node
   * line. A fetch of yours must pass `init` (with `dispatcher`) on to undici 8's fetch
   * (`import { fetch } from 'undici'`): Node 22's and 24's global fetch bundle an older undici that
   * refuses the dispatcher.
   */
  readonly fetch?: typeof fetch;
  /** A guarded dispatcher to share (its policy and pool) instead of building one; then give no dispatcher options. */
  readonly dispatcher?: GuardedDispatcher;
}

/** A `fetch` that connects only where its policy allows. */
export interface GuardedFetch {
  (input: string | URL | Request, init?: RequestInit): Promise<Response>;
  /** The policy it enforces. */
  readonly policy: AddressPolicy;
  /** Its dispatcher (bounded keep-alive pool of checked connections). */
  readonly dispatcher: GuardedDispatcher;
  /** Closes its kept-alive connections (requests in flight finish first). */
  close(): Promise<void>;
  /** The same as {@link GuardedFetch.close}, so `await using fetch = createGuardedFetch()` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void>;
}

const GUARDED_FETCH = Symbol.for('phlow.address-policy.guarded-fetch');

/**
 * A `fetch` for URLs learned from fetched data (DID documents, registry rows, agent cards): every
 * connection it makes — redirects included — goes through a {@link GuardedDispatcher}, so only
 * addresses the policy allows are ever connected to, and checked connections are reused per origin
 * (a bounded pool). A refusal rejects with {@link AddressNotAllowedError} itself (a `TypeError`, as
 * fetch's network errors are), naming the host, the address and why. Aborting the request's signal
 * also destroys a connection still being set up for it when no other request waits for it.
 *
 * It takes what Node's `fetch` takes (its `Request` and `FormData` included) and performs the
 * request with undici's own `fetch` unless given another one, so its answers are undici's
 * `Response` objects: the same WHATWG Response, but not `instanceof` the global `Response` class.
 *
 * @example
 * const guardedFetch = createGuardedFetch();                   // refuse private addresses
 * await guardedFetch('http://2130706433/');                    // AddressNotAllowedError: 127.0.0.1 is a loopback address
 * const dev = createGuardedFetch({ allowPrivateAddresses: ['localhost', '127.0.0.1'] });
 */
export function createGuardedFetch(options: GuardedFetchOptions = {}): GuardedFetch {
  if (typeof options !== 'object' || options === null) throw new TypeError(`guarded fetch options must be an object; got ${String(options)}`);
  checkKnownKeys('guarded fetch options', options, [...GUARDED_DISPATCHER_OPTION_NAMES, 'fetch', 'dispatcher']);
  const { fetch: fetchOption, dispatcher: shared, ...dispatcherOptions } = options;
  // Node's global fetch is the default of old code: it gets undici's, which takes the dispatcher on every Node line.
  const isDefault = fetchOption === undefined || fetchOption === globalThis.fetch;
  const baseFetch = isDefault ? undiciFetch : checkFunction<typeof fetch>('fetch', fetchOption);
  if (isGuardedFetch(baseFetch)) {
    // It would put its own dispatcher (and policy) in place of this one's.
    throw new TypeError('fetch must not be a guarded fetch: it brings its own policy and pool; share them with { dispatcher: guardedFetch.dispatcher }');
  }
  if (shared !== undefined) {
    if (!(shared instanceof GuardedDispatcher)) throw new TypeError(`dispatcher must be a GuardedDispatcher; got ${String(shared)}`);
    const given = Object.keys(dispatcherOptions).filter((key) => (dispatcherOptions as Record<string, unknown>)[key] !== undefined);
    if (given.length > 0) throw new TypeError(`give either dispatcher or its options (${given.join(', ')}), not both`);
  }
  const dispatcher = shared ?? new GuardedDispatcher(dispatcherOptions);
  const policy = dispatcher.policy;

  const guarded = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = policy.checkUrl(typeof input === 'string' || input instanceof URL ? input : input.url);
    // A Request of Node's fetch or of undici's (two classes): either way it is not a string or URL.
    const signal = init?.signal ?? (typeof input === 'object' && !(input instanceof URL) ? input.signal : undefined);
    signal?.throwIfAborted();
    const call = dispatcher.track();
    const onAbort = (): void => call.end(true);
    signal?.addEventListener('abort', onAbort, { once: true });
    let response: Response | undefined;
    try {
      // The global RequestInit type has no dispatcher; undici's fetch takes one.
      response = await baseFetch(input, { ...init, dispatcher: call.dispatcher } as unknown as RequestInit);
    } catch (error) {
      throw findAddressRefusal(error) ?? (isDefault ? error : (dispatcherRefusal(error) ?? error));
    } finally {
      signal?.removeEventListener('abort', onAbort);
      call.end(response === undefined);
    }
    if (!call.used && policy.enforced) {
      // The fetch underneath answered without our dispatcher: the address policy was not applied to
      // this request. Refuse its answer, and say why, rather than hand it on as if it were checked.
      // (With allowPrivateAddresses: true there is nothing to apply; a stand-in fetch is fine then.)
      await response.body?.cancel().catch(() => {});
      throw new TypeError(
        `the fetch given to createGuardedFetch answered ${url.href} without using the guarded dispatcher, so the address policy was not applied; ` +
          "it must pass init (with its dispatcher) on to undici 8's fetch (import { fetch } from 'undici')",
      );
    }
    return response;
  };
  Object.defineProperties(guarded, {
    policy: { value: policy, enumerable: true },
    dispatcher: { value: dispatcher, enumerable: true },
    close: { value: () => dispatcher.close() },
    [Symbol.asyncDispose]: { value: () => dispatcher.close() },
    [GUARDED_FETCH]: { value: true },
  });
  return guarded as GuardedFetch;
}

/**
 * A fetch of the user's that refused the guarded dispatcher (an undici of another major: Node 22's or
 * 24's global fetch), as an error that says which fetch to use. undici says it with an
 * `InvalidArgumentError` (`UND_ERR_INVALID_ARG`) about a handler method, in the cause of `fetch failed`.
 */
function dispatcherRefusal(error: unknown): TypeError | undefined {
  for (let cause: unknown = error, depth = 0; typeof cause === 'object' && cause !== null && depth < 4; cause = (cause as { cause?: unknown }).cause, depth++) {
    const { code, message } = cause as { code?: unknown; message?: unknown };
    if (code === 'UND_ERR_INVALID_ARG' && typeof message === 'string' && /\bon[A-Z]\w* method\b|handler/.test(message)) {
      return new TypeError(
        `the fetch given to createGuardedFetch could not use the guarded dispatcher (${message}): it must be undici 8's fetch ` +
          "(import { fetch } from 'undici') or pass init on to it; Node's global fetch bundles an older undici on Node 22 and 24",
        { cause: error },
      );
    }
  }
  return undefined;
}

/** True for a fetch from {@link createGuardedFetch} (of any copy of this package). */
export function isGuardedFetch(value: unknown): value is GuardedFetch {
  return typeof value === 'function' && (value as unknown as Record<symbol, unknown>)[GUARDED_FETCH] === true;
}
