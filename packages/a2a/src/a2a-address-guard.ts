import { ClientFactory, ClientFactoryOptions, DefaultAgentCardResolver, JsonRpcTransportFactory, RestTransportFactory } from '@a2a-js/sdk/client';
import { AddressPolicy, createGuardedFetch, isGuardedFetch, type AllowPrivateAddresses, type GuardedFetch } from '@phlow/address-policy';
import { readAtMost } from '@phlow/circuit-breaker/internal';

/** Most sockets per peer origin in the pool of a `createA2aClient` client. */
const A2A_SOCKETS_PER_ORIGIN = 64;

/**
 * Largest agent card read (bytes). Cards are a few KiB; the SDK reads the whole body with
 * `response.json()`, so without a cap a hostile peer named in a DID document could fill the
 * agent's memory within the card download's timeout.
 */
export const MAX_AGENT_CARD_BYTES = 1_048_576;

/**
 * Largest JSON answer of a transport call read (bytes); event streams are not capped (they are long by
 * design and bounded by the stream idle timeout). The SDK reads answers whole with `response.json()`.
 */
export const MAX_A2A_RESPONSE_BYTES = 33_554_432;

/** @internal The address guard of one {@link createA2aClient} call. */
export interface A2aAddressGuard {
  /** The agent card download: the caller's `fetch`, guarded, its body read whole, refused past {@link MAX_AGENT_CARD_BYTES}. */
  readonly cardFetch: typeof fetch;
  /** Throws `AddressNotAllowedError` for a URL whose host is a refused IP address (any spelling). */
  checkUrl(url: string): void;
  /** The default factory: the SDK's transports (JSON-RPC, REST) on the guarded fetch. */
  factory(): ClientFactory;
}

/**
 * @internal Builds the guard of a {@link createA2aClient} call: one guarded dispatcher (policy and
 * bounded pool) for the card download and every transport, and checks that a factory of the
 * caller's own does not go around it.
 */
export function guardedA2aFetch(
  what: string,
  options: { allowPrivateAddresses: AllowPrivateAddresses | undefined; fetch: typeof fetch; factory: ClientFactory | undefined },
): A2aAddressGuard {
  const { allowPrivateAddresses, fetch: cardBase, factory } = options;
  let base: GuardedFetch;
  let cardFetch: typeof fetch;
  if (isGuardedFetch(cardBase)) {
    if (allowPrivateAddresses !== undefined) {
      throw new TypeError(`${what}: give either allowPrivateAddresses or a guarded fetch (it brings its own policy), not both`);
    }
    cardFetch = cardBase;
    base = createGuardedFetch({ dispatcher: cardBase.dispatcher });
  } else {
    const policy = new AddressPolicy({ allowPrivateAddresses }, `${what}: option "allowPrivateAddresses"`);
    // Streams hold a socket each for their whole life: more per peer than the package default of 16.
    base = createGuardedFetch({ policy, maxSocketsPerOrigin: A2A_SOCKETS_PER_ORIGIN });
    // globalThis.fetch means the default: the guarded fetch's own (undici's fetch, which takes its dispatcher).
    cardFetch = cardBase === globalThis.fetch ? base : createGuardedFetch({ dispatcher: base.dispatcher, fetch: cardBase });
  }
  if (factory !== undefined && base.policy.enforced) checkFactory(what, factory);
  const transportFetch: typeof fetch = async (input, init) => {
    const response = await base(input as string | URL | Request, init);
    return isLiveStream(input, init, response) ? response : readCapped(response, MAX_A2A_RESPONSE_BYTES, 'the answer');
  };
  return {
    cardFetch: async (input, init) => readCapped(await cardFetch(input, init), MAX_AGENT_CARD_BYTES, 'the agent card'),
    checkUrl: (url) => void base.policy.checkUrl(url),
    factory: () =>
      new ClientFactory(
        ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
          transports: [new JsonRpcTransportFactory({ fetchImpl: transportFetch }), new RestTransportFactory({ fetchImpl: transportFetch })],
          cardResolver: new DefaultAgentCardResolver({ fetchImpl: base }),
        }),
      ),
  };
}

/**
 * Whether an answer is an event stream to hand on live, uncapped: one the client asked for (the SDK's
 * streaming calls send `Accept: text/event-stream`), that succeeded, and that says it is one. The peer's
 * content type alone is not enough: a hostile peer would label any answer an event stream to lift the
 * cap, and the SDK reads a non-streaming answer, or a failed stream's error body, whole.
 */
function isLiveStream(input: unknown, init: RequestInit | undefined, response: Response): boolean {
  if (!response.ok || !(response.headers.get('content-type') ?? '').toLowerCase().startsWith('text/event-stream')) return false;
  // A Request of Node's fetch or of undici's (two classes): either way not a string or URL.
  const headers = init?.headers ?? (typeof input === 'object' && input !== null && !(input instanceof URL) ? (input as Request).headers : undefined);
  return (new Headers(headers).get('accept') ?? '').toLowerCase().includes('text/event-stream');
}

/**
 * A factory's transports contact the card's `supportedInterfaces[].url`: each must do so through a
 * guarded fetch, or the policy would guard the card download and nothing after it. The SDK keeps a
 * transport factory's options (with `fetchImpl`) in its `options` field.
 */
function checkFactory(what: string, factory: ClientFactory): void {
  const transports = (factory as { options?: { transports?: readonly unknown[] } }).options?.transports ?? [];
  for (const transport of transports) {
    const fetchImpl = (transport as { options?: { fetchImpl?: unknown } }).options?.fetchImpl;
    if (isGuardedFetch(fetchImpl) && !fetchImpl.policy.enforced) {
      const name = String((transport as { protocolName?: unknown }).protocolName ?? 'a transport');
      throw new TypeError(
        `${what}: the factory's ${name} transport has a guarded fetch that allows every address (allowPrivateAddresses: true) while this client refuses private ones; ` +
          'give createA2aClient allowPrivateAddresses: true as well (local development), or guard the transport with a policy that refuses them',
      );
    }
    if (!isGuardedFetch(fetchImpl)) {
      const name = String((transport as { protocolName?: unknown }).protocolName ?? 'a transport');
      throw new TypeError(
        `${what}: the factory's ${name} transport has no guarded fetchImpl, so its requests would skip the address policy; ` +
          'build it with { fetchImpl: createGuardedFetch({ allowPrivateAddresses }) } from @phlow/address-policy, ' +
          'or pass allowPrivateAddresses: true (local development)',
      );
    }
  }
}

/**
 * `response` read whole, at most `maxBytes` of it (refused at once when Content-Length says more), and
 * handed on as a fresh response with the same status, headers and url: the SDK's `response.json()` then
 * reads memory, never a hostile peer's endless body.
 */
async function readCapped(response: Response, maxBytes: number, what: string): Promise<Response> {
  const read = await readAtMost(response, maxBytes);
  if (!read.ok) throw new Error(`${what} at ${response.url} is larger than ${maxBytes} bytes; refused`);
  // A null-body status (204, 304) cannot be given a body, not even an empty one.
  const body = response.body === null ? null : read.bytes;
  const whole = new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  Object.defineProperty(whole, 'url', { value: response.url });
  return whole;
}
