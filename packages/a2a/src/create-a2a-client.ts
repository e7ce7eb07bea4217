import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import type { AgentCard } from '@a2a-js/sdk';
import { ClientFactory, DefaultAgentCardResolver, type Client } from '@a2a-js/sdk/client';
import { withBreakerSpan } from '@phlow/otel';
import { guardedA2aFetch, type A2aAddressGuard } from './a2a-address-guard.js';
import type { AddressPolicyOptions } from '@phlow/address-policy';
import { checkKnownKeys, describeValue } from '@phlow/circuit-breaker/internal';
import { PROTECT_OPTION_NAMES, peerFamily, resolveProtection, type ProtectA2aClientOptions } from './a2a-protection-options.js';
import { protectA2aClient } from './protect-a2a-client.js';
import { AGENT_CARD_OPERATION, ATTR_PEER, SPAN_NAME_PREFIX } from './telemetry-names.js';

/**
 * Options of {@link createA2aClient}: those of {@link protectA2aClient} (with `peer` optional), how to
 * build the client, and the address policy (`allowPrivateAddresses`, shared with `@phlow/did-resolver`).
 */
export interface CreateA2aClientOptions extends Omit<ProtectA2aClientOptions, 'peer' | 'url'>, AddressPolicyOptions {
  /** The peer key. Default: the host (`host:port`) of the URL, or of the card's first interface, else the card's name. */
  readonly peer?: string;
  /**
   * The SDK factory that builds the client (transports, interceptors, preferred transports). Default:
   * the SDK's JSON-RPC and REST transports, on a fetch guarded by the address policy. A factory of
   * yours must give every transport a guarded fetch (`fetchImpl: createGuardedFetch(...)` from
   * `@phlow/address-policy`), unless `allowPrivateAddresses` is `true`.
   */
  readonly factory?: ClientFactory;
  /** Path of the agent card under the URL. Default `/.well-known/agent-card.json` (the SDK's). */
  readonly agentCardPath?: string;
  /**
   * `fetch` for the agent card download. Default: undici's own `fetch` (undici 8, the major of the
   * guard's dispatcher); `globalThis.fetch` means that default too, on every Node line. The address
   * guard passes its `dispatcher` to it, so a fetch of yours must hand `init` on to undici 8's fetch
   * (`import { fetch } from 'undici'`): Node 22's and 24's global fetch bundle an older undici that
   * refuses the dispatcher. A
   * guarded fetch from `@phlow/address-policy` is used as is, and its policy and pool then serve the
   * transports too (give no `allowPrivateAddresses` then).
   */
  readonly fetch?: typeof fetch;
}

/** Every option {@link createA2aClient} takes: protectA2aClient's but `url` (the source gives it), then its own. */
const CREATE_OPTION_NAMES = Object.freeze([
  ...PROTECT_OPTION_NAMES.filter((name) => name !== 'url'),
  'factory',
  'agentCardPath',
  'fetch',
  'allowPrivateAddresses',
]);

function cardUrl(card: AgentCard): string | undefined {
  const url = card.supportedInterfaces?.[0]?.url;
  return typeof url === 'string' && URL.canParse(url) ? url : undefined;
}

/**
 * Builds an `@a2a-js/sdk` client for a peer and protects it ({@link protectA2aClient}), in one line.
 * From a URL, the agent card download is itself a call through the peer's breaker (span
 * `a2a GetAgentCard`, aborted on timeout, `traceparent` sent).
 *
 * Every request of the client — the card download, redirects, and the transports' calls to the
 * card's `supportedInterfaces[].url` — connects only where the address policy allows: loopback,
 * private, link-local, metadata and other special-purpose addresses are refused by default with an
 * `AddressNotAllowedError` (which does not count against the peer's breaker).
 *
 * @example
 * const planner = await createA2aClient('https://planner.example.com');
 * const fromCard = await createA2aClient(card, { peer: 'planner' });
 * const local = await createA2aClient('http://localhost:41241', { allowPrivateAddresses: ['localhost'] });
 */
export async function createA2aClient(source: string | AgentCard, options: CreateA2aClientOptions = {}): Promise<Client> {
  const what = 'createA2aClient';
  if (typeof options !== 'object' || options === null) throw new TypeError(`${what}: options must be an object; got ${describeValue(options)}`);
  checkKnownKeys(what, options, CREATE_OPTION_NAMES);
  const { factory: givenFactory, agentCardPath, fetch: fetchImpl = globalThis.fetch, allowPrivateAddresses, ...protection } = options;
  if (givenFactory !== undefined && !(givenFactory instanceof ClientFactory) && typeof (givenFactory as { createFromAgentCard?: unknown }).createFromAgentCard !== 'function') {
    throw new TypeError(`${what}: factory must be a ClientFactory from @a2a-js/sdk/client; got ${describeValue(givenFactory)}`);
  }
  if (typeof fetchImpl !== 'function') throw new TypeError(`${what}: fetch must be a function; got ${describeValue(fetchImpl)}`);
  if (agentCardPath !== undefined && typeof agentCardPath !== 'string') throw new TypeError(`${what}: agentCardPath must be a string; got ${describeValue(agentCardPath)}`);
  const guard: A2aAddressGuard = guardedA2aFetch(what, { allowPrivateAddresses, fetch: fetchImpl, factory: givenFactory });
  const factory = givenFactory ?? guard.factory();

  if (typeof source === 'string') {
    if (!URL.canParse(source)) throw new TypeError(`${what}: source must be an absolute URL or an AgentCard; got ${JSON.stringify(source)}`);
    // A refused IP literal (`http://0x7f.1/`) fails here, before the breaker: nothing was asked of a peer.
    guard.checkUrl(source);
    const peer = options.peer ?? new URL(source).host;
    const settings = resolveProtection(what, { ...protection, peer, url: source });
    // The card download is part of making the client: with its first call, one use of the peer's key.
    const breaker = peerFamily(settings).ensure(peer);
    const card = await withBreakerSpan(
      settings.tracer,
      breaker,
      `${SPAN_NAME_PREFIX} ${AGENT_CARD_OPERATION}`,
      ({ signal }, span) => {
        const spanContext = trace.setSpan(context.active(), span);
        // The SDK's resolver takes no signal: a fetch that adds ours (and the trace context) does.
        const resolver = new DefaultAgentCardResolver({
          fetchImpl: (input, init) => {
            const headers = new Headers(init?.headers);
            propagation.inject(spanContext, headers, { set: (carrier, key, value) => carrier.set(key, value) });
            return guard.cardFetch(input, { ...init, headers, signal });
          },
        });
        return resolver.resolve(source, agentCardPath);
      },
      {
        kind: SpanKind.CLIENT,
        attributes: { [ATTR_PEER]: peer, ...settings.serverAttributes },
      },
    );
    return protectA2aClient(await factory.createFromAgentCard(card), { ...protection, peer, url: source });
  }

  if (typeof source !== 'object' || source === null || !Array.isArray((source as AgentCard).supportedInterfaces)) {
    throw new TypeError(`${what}: source must be an absolute URL or an AgentCard (with supportedInterfaces); got ${source === null ? 'null' : typeof source}`);
  }
  const url = cardUrl(source);
  const peer = options.peer ?? (url !== undefined ? new URL(url).host : source.name);
  return protectA2aClient(await factory.createFromAgentCard(source), { ...protection, peer, ...(url === undefined ? {} : { url }) });
}
