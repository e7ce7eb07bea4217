import type { Client } from '@a2a-js/sdk/client';
import type { CircuitBreaker } from '@phlow/circuit-breaker';
import { describeValue } from '@phlow/circuit-breaker/internal';
import { A2A_METHODS, isProtectedMethod, type A2aClientMethod } from './a2a-methods.js';
import { resolveProtection, type ProtectA2aClientOptions } from './a2a-protection-options.js';
import { PeerGuard } from './peer-guard.js';

const PROTECTION = Symbol.for('phlow.a2a.protection');

/** What {@link a2aProtectionOf} tells about a protected client. */
export interface A2aProtection {
  /** The peer key. */
  readonly peer: string;
  /** The peer's breaker now (family members can be retired when idle and recreated, so read it when needed). */
  readonly breaker: CircuitBreaker;
  /** The unprotected client underneath. */
  readonly client: Client;
}

type AnyFn = (...args: unknown[]) => unknown;

/**
 * Puts an `@a2a-js/sdk` client you already have behind its peer's circuit breaker, in one line.
 * Every call to the peer (`sendMessage`, `sendMessageStream`, `getTask`, `cancelTask`, `listTasks`,
 * `resubscribeTask`, the push-notification config methods, `getAgentCard`) then:
 * - runs through the breaker `{name}/{peer}` (`a2a/{peer}` by default) (guide defaults: 3 failures, 45 s recovery, 20 s timeout),
 *   failing fast with `CircuitOpenError` while the peer is down;
 * - is aborted for real (the HTTP request is cancelled) when it times out;
 * - counts as a failure only when the peer is at fault (see `classifyA2aError`);
 * - gets a client span `a2a {method}` whose W3C trace context goes to the peer in `traceparent`.
 *
 * Returns the same client (a `Proxy` of it): everything else reads through unchanged.
 *
 * @example
 * const client = protectA2aClient(await new ClientFactory().createFromUrl(url), { peer: 'planner' });
 * const reply = await client.sendMessage(request);
 */
export function protectA2aClient(client: Client, options: ProtectA2aClientOptions): Client {
  const what = 'protectA2aClient';
  if (typeof client !== 'object' || client === null || typeof (client as { sendMessage?: unknown }).sendMessage !== 'function') {
    throw new TypeError(`${what}: client must be an @a2a-js/sdk Client; got ${client === null ? 'null' : typeof client}`);
  }
  if ((client as unknown as Record<symbol, unknown>)[PROTECTION] !== undefined) {
    throw new TypeError(`${what}: this client is already protected (peer ${JSON.stringify(((client as unknown as Record<symbol, unknown>)[PROTECTION] as PeerGuard).settings.peer)})`);
  }
  const guard = new PeerGuard(client, resolveProtection(what, options));
  const wrappers = new Map<A2aClientMethod, AnyFn>();
  const bound = new WeakMap<AnyFn, AnyFn>(); // other methods, bound once: client.x === client.x
  return new Proxy(client, {
    get(target, property) {
      if (property === PROTECTION) return guard;
      if (isProtectedMethod(property)) {
        let wrapper = wrappers.get(property);
        if (wrapper === undefined) {
          wrapper = A2A_METHODS[property].streaming ? guard.streaming(property as 'sendMessageStream' | 'resubscribeTask') : guard.unary(property as Exclude<A2aClientMethod, 'sendMessageStream' | 'resubscribeTask'>);
          wrappers.set(property, wrapper);
        }
        return wrapper;
      }
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      let method = bound.get(value as AnyFn);
      if (method === undefined) bound.set(value as AnyFn, (method = (value as AnyFn).bind(target)));
      return method;
    },
  });
}

function guardOf(client: unknown): PeerGuard | undefined {
  if (typeof client !== 'object' || client === null) return undefined;
  const guard = (client as Record<symbol, unknown>)[PROTECTION];
  return guard instanceof PeerGuard ? guard : undefined;
}

/** The peer, breaker and underlying client of a client from {@link protectA2aClient}, or undefined for any other value. */
export function a2aProtectionOf(client: unknown): A2aProtection | undefined {
  const guard = guardOf(client);
  if (guard === undefined) return undefined;
  return {
    peer: guard.settings.peer,
    get breaker() {
      return guard.breaker;
    },
    client: guard.client,
  };
}

/**
 * The breaker the calls of `client` go through: its peer's, `{name}/{peer}` (e.g. `a2a/planner`), as
 * the family holds it now (an idle member can be retired and recreated: ask again rather than keep it).
 * Throws a `TypeError` for a client that {@link protectA2aClient} or {@link createA2aClient} did not
 * protect.
 *
 * @example
 * const planner = await createA2aClient('https://planner.example.com');
 * if (breakerFor(planner).state === 'open') useCachedPlan();
 */
export function breakerFor(client: Client): CircuitBreaker {
  const guard = guardOf(client);
  if (guard === undefined) {
    // An SDK client serialises to pages of transport state: name what it is instead.
    const got = typeof client === 'object' && client !== null ? 'an unprotected object' : describeValue(client);
    throw new TypeError(`breakerFor: client must be a client protected by @phlow/a2a (protectA2aClient, createA2aClient); got ${got}`);
  }
  return guard.breaker;
}
