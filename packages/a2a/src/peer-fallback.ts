import type { SendMessageRequest } from '@a2a-js/sdk';
import type { Client, RequestOptions } from '@a2a-js/sdk/client';
import {
  CircuitBreakerError,
  type CircuitBreakerRegistry,
  CircuitOpenError,
  CircuitFamilyFullError,
  CircuitTimeoutError,
  getCircuitBreakerRegistry,
} from '@phlow/circuit-breaker';
import { checkKnownKeys, describeValue, errorMarker, untilAborted } from '@phlow/circuit-breaker/internal';
import { isA2aPeerFailure } from './classify-a2a-error.js';
import { a2aProtectionOf } from './protect-a2a-client.js';

/** Why a peer of a {@link PeerFallback} did not answer. */
export interface PeerSkipped {
  /** The peer key (as protected). */
  readonly peer: string;
  /** `'rejected'`: its breaker was open (or its family full); `'timeout'`: its breaker timed out; `'error'`: it failed (see `classifyA2aError`). */
  readonly reason: 'rejected' | 'timeout' | 'error';
  readonly error: unknown;
}

/** What a {@link PeerFallback} answered, and from which peer. */
export interface PeerAnswer<T> {
  readonly value: T;
  /** The peer that answered. */
  readonly peer: string;
  /** Its position in the list, 0 for the first choice. */
  readonly index: number;
  /** The peers tried before it, with why each did not answer. */
  readonly skipped: readonly PeerSkipped[];
}

/** Options of {@link peerFallback}. */
export interface PeerFallbackOptions {
  /** Names the chain in its policy events. Default `'a2a-peers'`. */
  readonly name?: string | undefined;
  /** Where the chain reports its `fallback` policy events. Default `getCircuitBreakerRegistry()`. */
  readonly registry?: CircuitBreakerRegistry | undefined;
}

const MARKER = errorMarker('phlow.a2a.peers-unavailable-error');

// @phlow/resilience's errors, recognised by their markers (this package does not depend on it): a
// peer's full bulkhead or spent rate limit is a refusal, its timeout policy's error a timeout — both
// reasons to ask the next peer, as an open breaker is. The keys are those @phlow/resilience marks with.
const RESILIENCE_REJECTIONS = [errorMarker('phlow.resilience.bulkhead-rejected-error'), errorMarker('phlow.resilience.rate-limited-error')];
const RESILIENCE_TIMEOUT = errorMarker('phlow.resilience.timeout-error');

/** Every peer of a {@link PeerFallback} failed; `failures` says how each one did, in order. */
export class PeersUnavailableError extends Error {
  readonly failures: readonly PeerSkipped[];

  constructor(name: string, failures: readonly PeerSkipped[]) {
    super(`${name}: no peer answered (${failures.map((f) => `${f.peer}: ${f.reason}`).join(', ')})`);
    this.failures = failures;
  }

  static isInstance(value: unknown): value is PeersUnavailableError {
    return MARKER.isMarked(value);
  }
}
MARKER.mark(PeersUnavailableError, 'PeersUnavailableError');

/**
 * Alternative peers for one job, tried in order: the guide's fallback for agents. A peer is skipped
 * when its breaker rejects the call (open), times out, or the peer itself failed (refused connection,
 * 5xx, a protocol error the peer is at fault for — `isA2aPeerFailure`). An error that is the request's
 * own (a rejected parameter, an unknown task, an address the policy refused) goes to the caller at
 * once: the next peer would refuse it too. So does the caller's abort.
 *
 * A peer that timed out may still have acted on the message: fall back only for work another peer may
 * safely do twice.
 */
export class PeerFallback {
  readonly name: string;
  /** The protected clients, first choice first. */
  readonly clients: readonly Client[];
  private readonly peers: readonly string[];
  private readonly registry: CircuitBreakerRegistry;

  constructor(clients: readonly Client[], options: PeerFallbackOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new TypeError(`peerFallback options must be an object; got ${describeValue(options)}`);
    checkKnownKeys('peerFallback', options, ['name', 'registry']);
    const name = options.name ?? 'a2a-peers';
    if (typeof name !== 'string' || name === '') throw new TypeError(`peerFallback: name must be a non-empty string; got ${describeValue(name)}`);
    this.name = name;
    this.registry = options.registry ?? getCircuitBreakerRegistry();
    if (!Array.isArray(clients) || clients.length === 0) throw new RangeError('peerFallback needs at least one protected client; got none');
    this.peers = clients.map((client, index) => {
      const protection = a2aProtectionOf(client);
      if (protection === undefined) {
        throw new TypeError(`peerFallback: client ${index} is not protected (use createA2aClient or protectA2aClient); got ${describeValue(client)}`);
      }
      return protection.peer;
    });
    this.clients = [...clients];
  }

  /** Sends `request` to the first peer that answers. */
  sendMessage(request: SendMessageRequest, options?: RequestOptions): Promise<PeerAnswer<Awaited<ReturnType<Client['sendMessage']>>>> {
    return this.call((client) => client.sendMessage(request, options), options?.signal);
  }

  /** Runs `fn` with each peer's client in turn until one answers. */
  async call<T>(fn: (client: Client, peer: string) => Promise<T>, signal?: AbortSignal): Promise<PeerAnswer<T>> {
    if (typeof fn !== 'function') throw new TypeError(`${this.name}: call needs a function (client, peer) => Promise; got ${describeValue(fn)}`);
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw new TypeError(`${this.name}: signal must be an AbortSignal or undefined; got ${describeValue(signal)}`);
    }
    const skipped: PeerSkipped[] = [];
    for (let index = 0; index < this.clients.length; index++) {
      if (signal?.aborted) throw signal.reason;
      const peer = this.peers[index]!;
      try {
        const value = await untilAborted(fn(this.clients[index]!, peer), signal);
        if (index > 0) this.report(peer, index, skipped);
        return { value, peer, index, skipped };
      } catch (error) {
        if (signal?.aborted) throw error;
        const reason = reasonOf(error);
        if (reason === undefined) throw error;
        skipped.push({ peer, reason, error });
      }
    }
    this.report(null, null, skipped);
    throw new PeersUnavailableError(this.name, skipped);
  }

  private report(tier: string | null, tierIndex: number | null, skipped: readonly PeerSkipped[]): void {
    if (!this.registry.policyEventsObserved) return;
    this.registry.reportPolicyEvent({
      type: 'fallback',
      policyKind: 'fallback',
      policy: this.name,
      time: Date.now(),
      tier,
      tierIndex,
      skipped: skipped.map((s) => ({ tier: s.peer, reason: s.reason })),
    });
  }
}

function reasonOf(error: unknown): PeerSkipped['reason'] | undefined {
  if (CircuitOpenError.isInstance(error) || CircuitFamilyFullError.isInstance(error)) return 'rejected';
  if (RESILIENCE_REJECTIONS.some((marker) => marker.isMarked(error))) return 'rejected';
  if (CircuitTimeoutError.isInstance(error) || RESILIENCE_TIMEOUT.isMarked(error)) return 'timeout';
  if (CircuitBreakerError.isInstance(error)) return 'rejected';
  return isA2aPeerFailure(error) ? 'error' : undefined;
}

/**
 * Alternative peers, first choice first (clients from `createA2aClient` or `protectA2aClient`).
 *
 * @example
 * const planners = peerFallback([primaryPlanner, backupPlanner], { name: 'planner' });
 * const { value: reply, peer, skipped } = await planners.sendMessage(request);
 */
export function peerFallback(clients: readonly Client[], options?: PeerFallbackOptions): PeerFallback {
  return new PeerFallback(clients, options);
}

