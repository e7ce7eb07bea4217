import type { CircuitSnapshot } from '@phlow/circuit-breaker';
import type { AttachedBreakers } from './attached-breakers.js';
import type { BreakerLink } from './breaker-link.js';
import type { ConnectionHealth } from './connection-health.js';
import type { Client, ScriptCommands } from './redis-clients.js';
import { decodeMessage, snapshotArgs } from './snapshot-codec.js';
import type { ResolvedStoreOptions } from './store-options.js';
import type { StoreCounters } from './store-stats.js';

/** What {@link FleetTransitions} works with. */
export interface FleetTransitionsParts {
  readonly commands: Client;
  readonly subscriber: Client;
  readonly scripts: ScriptCommands;
  readonly channel: string;
  readonly options: ResolvedStoreOptions;
  readonly attached: AttachedBreakers;
  readonly health: ConnectionHealth;
  readonly counters: StoreCounters;
  /** The transition channel just became subscribed (the first time). */
  readonly subscribed: () => void;
}

/**
 * The breakers' states across the fleet: a local transition is written to Redis (SYNC) and published,
 * peers' transitions arrive over pub/sub, and a reconcile — every `reconcileIntervalMs`, after every
 * (re)subscribe and whenever Redis comes back — checks every attached breaker against Redis, catching
 * up whatever a lost message or an outage left behind.
 */
export class FleetTransitions {
  /** The transition channel is subscribed (ioredis resubscribes it after a reconnect). */
  subscribed = false;
  private reconciling: Promise<void> | undefined = undefined;
  private reconcileAgain = false;
  private readonly reconcileTimer: ReturnType<typeof setInterval>;

  constructor(private readonly parts: FleetTransitionsParts) {
    this.reconcileTimer = setInterval(() => void this.reconcile(), parts.options.reconcileIntervalMs);
    this.reconcileTimer.unref();
  }

  /** Writes this breaker's snapshot as the fleet's if it is newer, and adopts the fleet's if Redis is ahead. */
  sync(link: BreakerLink, snapshot: CircuitSnapshot): Promise<void> {
    const { scripts, channel, options, attached, health, counters } = this.parts;
    if (health.status === 'closed' || link.disposed) return Promise.resolve();
    const { keys, binding } = link;
    return scripts.phlowSync(keys.state, keys.failures, channel, binding.name, ...snapshotArgs(snapshot), String(options.stateTtlMs)).then(
      (reply) => {
        health.answered(link);
        const status = reply[0];
        if (status === 'accepted') counters.transitionsPublished++;
        else if (status === 'conflict' || status === 'stale') {
          if (status === 'conflict') counters.conflicts++;
          attached.adopt(binding.name, reply.slice(1));
        }
      },
      (error: unknown) => health.commandFailed(link, error),
    );
  }

  /**
   * Checks every attached breaker against Redis now; resolves once that check is done. Does nothing
   * while the connection is down (its return runs one). Never rejects.
   */
  reconcile(): Promise<void> {
    // Not connected (yet, or any more): every command would fail at once and report a degradation
    // that is not news; the connection's 'ready' runs a reconcile.
    if (this.parts.health.status === 'closed' || this.parts.commands.status !== 'ready') return Promise.resolve();
    if (this.reconciling !== undefined) {
      // One round at a time; a request during a round (Redis just came back, a caller) gets a round of
      // its own, and its promise settles after that round, not with the one already under way.
      this.reconcileAgain = true;
      return this.reconciling;
    }
    this.reconciling = this.reconcileRounds().finally(() => {
      this.reconciling = undefined;
    });
    return this.reconciling;
  }

  /** A message on the subscriber connection. */
  received(channel: string, message: string): void {
    const { attached, counters } = this.parts;
    if (channel !== this.parts.channel) return;
    const decoded = decodeMessage(message);
    if (decoded === undefined || !attached.has(decoded.name)) return;
    counters.transitionsReceived++;
    attached.apply(decoded.name, decoded.snapshot);
  }

  /** The subscriber connection is (again) ready. */
  subscriberReady(): void {
    if (this.parts.health.status === 'closed') return;
    if (!this.subscribed) {
      this.parts.subscriber.subscribe(this.parts.channel).then(
        () => {
          this.subscribed = true;
          this.parts.subscribed();
          void this.reconcile();
        },
        () => {
          // Retried on the next 'ready'.
        },
      );
    } else {
      // Resubscribed after a reconnect: messages published meanwhile were lost.
      void this.reconcile();
    }
  }

  /** Stops the periodic reconcile. */
  stop(): void {
    clearInterval(this.reconcileTimer);
  }

  private async reconcileRounds(): Promise<void> {
    do {
      this.reconcileAgain = false;
      const pending: Promise<void>[] = [];
      for (const link of this.parts.attached) pending.push(this.sync(link, link.binding.snapshot()));
      await Promise.all(pending);
    } while (this.reconcileAgain && this.parts.health.status !== 'closed'); // close() may have run while we awaited
  }
}
