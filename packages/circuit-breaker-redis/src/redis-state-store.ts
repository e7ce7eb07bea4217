import { randomUUID } from 'node:crypto';
import type { CircuitStateStore, Disposable, Event, StoreBinding, StoreConnection } from '@phlow/circuit-breaker';
import { AttachedBreakers } from './attached-breakers.js';
import { BreakerLink, type LinkHost } from './breaker-link.js';
import { ConnectionHealth, type StoreStatus } from './connection-health.js';
import { FailureBatches } from './failure-batches.js';
import { FleetPermits } from './fleet-permits.js';
import { FleetTransitions } from './fleet-transitions.js';
import { closeClient, defineScripts, makeClient, type Client } from './redis-clients.js';
import { breakerKeys, transitionsChannel } from './redis-keys.js';
import type { StoreDegradedEvent, StoreRecoveredEvent } from './store-events.js';
import { resolveStoreOptions, type RedisStateStoreOptions, type ResolvedStoreOptions } from './store-options.js';
import { newStoreCounters, type RedisStateStoreStats } from './store-stats.js';

/**
 * Shares breaker state between replicas through Redis: the state and when it opened, the generation,
 * failures counted toward the threshold across the fleet, and half-open trial permits (at most
 * `halfOpenMaxProbes` in flight fleet-wide). A CLOSED call never waits for Redis: failures are batched,
 * transitions are sent in the background and reach peers over pub/sub; when Redis is down or slow the
 * breakers keep deciding on local state, the store reports it ({@link RedisStateStore.onDegraded}) and
 * reconciles when Redis is back.
 *
 * @example
 * const store = new RedisStateStore({ redis: 'redis://127.0.0.1:6379', halfOpenMaxProbes: 1 });
 * const breaker = new CircuitBreaker('payments', { failureThreshold: 5, stateStore: store });
 * // ... on shutdown:
 * breaker.dispose();
 * await store.close();
 *
 * Or scoped: `await using store = new RedisStateStore(...)` closes it when the scope ends.
 */
export class RedisStateStore implements CircuitStateStore {
  /** Validated options with defaults applied. */
  readonly options: ResolvedStoreOptions;
  /** This process's id in the failure counts and permit tokens. */
  readonly replicaId: string;

  private readonly commands: Client;
  private readonly subscriber: Client;
  private readonly counters = newStoreCounters();
  private readonly attached = new AttachedBreakers();
  private readonly health: ConnectionHealth;
  private readonly transitions: FleetTransitions;
  private readonly failures: FailureBatches;
  private readonly permits: FleetPermits;
  /** What each attached breaker's link hands on: to the part of the store that answers for it. */
  private readonly linkHost: LinkHost;
  private readyWaiters: Array<() => void> = [];

  /** @param options see {@link RedisStateStoreOptions}; invalid ones throw a TypeError/RangeError naming them. */
  constructor(options?: RedisStateStoreOptions) {
    this.options = resolveStoreOptions(options);
    this.replicaId = `${process.pid}-${randomUUID().slice(0, 8)}`;
    const { options: resolved, replicaId, counters, attached } = this;
    const channel = transitionsChannel(resolved.keyPrefix);
    const commands = (this.commands = makeClient('commands', resolved));
    const subscriber = (this.subscriber = makeClient('subscriber', resolved));
    const scripts = defineScripts(commands);

    const recheckEveryMs = Math.min(resolved.commandTimeoutMs, resolved.reconcileIntervalMs);
    const health = (this.health = new ConnectionHealth(recheckEveryMs, counters, {
      commandsConnected: () => commands.status === 'ready',
      recheck: (link) => void transitions.sync(link, link.binding.snapshot()),
      reconcile: () => void transitions.reconcile(),
      becameReady: () => this.settleReadyWaiters(),
    }));
    const shared = { scripts, channel, options: resolved, attached, health, counters };
    const transitions = (this.transitions = new FleetTransitions({
      ...shared,
      commands,
      subscriber,
      subscribed: () => this.settleReadyWaiters(),
    }));
    const failures = (this.failures = new FailureBatches({ ...shared, replicaId, transitions }));
    const permits = (this.permits = new FleetPermits({ ...shared, replicaId }));
    this.linkHost = {
      sync: (link, snapshot) => transitions.sync(link, snapshot),
      markDirty: (link) => failures.markDirty(link),
      acquire: (link, generation) => permits.acquire(link, generation),
      release: (link, generation) => permits.release(link, generation),
      detach: (link) => this.detach(link),
    };

    this.listen(commands, subscriber);
  }

  /** Called by a breaker constructed with `stateStore: store`; not meant to be called directly. */
  /** Attaches `binding`; the connection detaches it on `dispose()` or at the end of a `using` scope. */
  connect(binding: StoreBinding): StoreConnection & Disposable {
    const link = new BreakerLink(binding, breakerKeys(this.options.keyPrefix, binding.name), this.linkHost);
    if (this.health.status === 'closed') return link;
    this.attached.add(link);
    // Learn the fleet's state now if we can; otherwise the reconcile on connection does it.
    if (this.health.status === 'ready') void this.transitions.sync(link, binding.snapshot());
    return link;
  }

  /** Where the store stands with Redis. */
  get status(): StoreStatus {
    return this.health.status;
  }

  /** Redis went down or slow: breakers run on local state until {@link onRecovered}. */
  get onDegraded(): Event<StoreDegradedEvent> {
    return this.health.onDegraded;
  }

  /** Redis answers again; the store is reconciling every attached breaker. */
  get onRecovered(): Event<StoreRecoveredEvent> {
    return this.health.onRecovered;
  }

  /** Resolves once Redis answered and the transition channel is subscribed (or at once if closed). */
  ready(): Promise<void> {
    if (this.isFullyReady() || this.health.status === 'closed') return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  /**
   * Checks every attached breaker against Redis now (the store also does it every
   * `reconcileIntervalMs` and whenever Redis comes back); resolves once that check is done. Does nothing
   * while the connection is down (its return runs one). Never rejects.
   */
  reconcile(): Promise<void> {
    return this.transitions.reconcile();
  }

  /** Counters for dashboards and metrics. */
  getStats(): RedisStateStoreStats {
    return { status: this.health.status, replicaId: this.replicaId, breakers: this.attached.size, ...this.counters };
  }

  /**
   * Stops timers, returns held permits and closes both connections. Attached breakers keep working on
   * local state. Leaves no handle behind.
   */
  async close(): Promise<void> {
    if (this.health.status === 'closed') return;
    this.transitions.stop();
    this.failures.stop();
    // Sent before the status says closed: a closed store sends nothing more.
    const releases = [...this.attached].flatMap((link) => this.permits.releaseAll(link));
    this.attached.clear();
    const wasReady = this.health.close();
    for (const resolve of this.readyWaiters.splice(0)) resolve();
    await Promise.all(releases);
    await Promise.all([closeClient(this.commands, wasReady), closeClient(this.subscriber, wasReady)]);
  }

  /** The same as {@link close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** The connections' events drive the health and the subscription. */
  private listen(commands: Client, subscriber: Client): void {
    const { health, transitions } = this;
    commands.on('ready', () => health.connectionUp());
    commands.on('error', (error: unknown) => health.connectionLost(error));
    commands.on('close', () => health.connectionLost(new Error('Redis connection closed')));
    subscriber.on('error', () => {
      // Reported through the commands connection; a lone subscriber error is caught up by reconcile.
    });
    subscriber.on('ready', () => transitions.subscriberReady());
    subscriber.on('message', (channel: string, message: string) => transitions.received(channel, message));
    if (subscriber.status === 'ready') transitions.subscriberReady();
    if (commands.status === 'ready') health.connectionUp();
  }

  private detach(link: BreakerLink): void {
    void this.permits.releaseAll(link);
    this.health.forget(link);
    this.attached.remove(link);
  }

  private isFullyReady(): boolean {
    return this.health.status === 'ready' && this.transitions.subscribed;
  }

  private settleReadyWaiters(): void {
    if (!this.isFullyReady()) return;
    for (const resolve of this.readyWaiters.splice(0)) resolve();
  }
}
