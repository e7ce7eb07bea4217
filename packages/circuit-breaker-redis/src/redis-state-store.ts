import { randomUUID } from 'node:crypto';
import {
  Emitter,
  type CircuitSnapshot,
  type CircuitStateStore,
  type Event,
  type StoreBinding,
  type StoreConnection,
} from '@phlow/circuit-breaker';
import { Cluster, Redis, type ClusterNode, type ClusterOptions, type RedisOptions } from 'ioredis';
import { ACQUIRE_SCRIPT, RECORD_SCRIPT, SYNC_SCRIPT } from './lua-scripts.js';
import { breakerKeys, transitionsChannel, type BreakerKeys } from './redis-keys.js';
import { decodeMessage, decodeSnapshot, snapshotArgs } from './snapshot-codec.js';
import {
  type DegradationReason,
  type StoreDegradedEvent,
  type StoreRecoveredEvent,
} from './store-events.js';
import { resolveStoreOptions, type ClientRole, type RedisStateStoreOptions, type ResolvedStoreOptions } from './store-options.js';

/**
 * `connecting` until Redis first answers; `ready` while it does; `degraded` while it is down or slow, or
 * (on a cluster) while the slot of any attached breaker is unreachable — those breakers run on local
 * state; `closed` after {@link RedisStateStore.close}.
 */
export type StoreStatus = 'connecting' | 'ready' | 'degraded' | 'closed';

/** Counters for dashboards and `@phlow/otel`; all cumulative since the store was made. */
export interface RedisStateStoreStats {
  readonly status: StoreStatus;
  readonly replicaId: string;
  /** Breakers attached right now. */
  readonly breakers: number;
  /** Times the store went from ready (or connecting) to degraded. */
  readonly degradations: number;
  /** Redis commands that failed or timed out. */
  readonly commandFailures: number;
  /** Snapshots this replica wrote as the fleet's: its transitions, and reconciles that found Redis behind (first use, data loss). */
  readonly transitionsPublished: number;
  /** Transition messages received for an attached breaker (its own included). */
  readonly transitionsReceived: number;
  /** Times the fleet-wide failure count opened a breaker. */
  readonly fleetTrips: number;
  /** Concurrent transitions from the same generation, resolved in the fleet's favour. */
  readonly conflicts: number;
  /** Failure batches sent. */
  readonly failureFlushes: number;
  readonly probesGranted: number;
  readonly probesDenied: number;
  /** Half-open calls that used their local permit because Redis did not answer in time. */
  readonly probeFallbacks: number;
}

type Reply = string[];

/** The scripts, as ioredis `defineCommand` adds them (EVALSHA, EVAL again after a NOSCRIPT). */
interface ScriptCommands {
  phlowSync(...args: string[]): Promise<Reply>;
  phlowRecord(...args: string[]): Promise<Reply>;
  phlowAcquire(...args: string[]): Promise<Reply>;
  zrem(key: string, member: string): Promise<number>;
}

type Client = Redis | Cluster;

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
 */
export class RedisStateStore implements CircuitStateStore {
  /** Validated options with defaults applied. */
  readonly options: ResolvedStoreOptions;
  /** This process's id in the failure counts and permit tokens. */
  readonly replicaId: string;

  private readonly commands: Client;
  private readonly scripts: ScriptCommands;
  private readonly subscriber: Client;
  private readonly channel: string;
  private readonly groups = new Map<string, Set<BreakerLink>>();

  private statusValue: StoreStatus = 'connecting';
  private degradedAt = 0;
  /** The commands connection is down as a whole (a single Redis gone; every cluster node gone). */
  private connectionDown = false;
  /**
   * Breakers whose last command failed or timed out. On a cluster, one slot's primary can be down while
   * the others answer: the store stays degraded until each of these has been answered again, instead of
   * flapping back to ready on the first answer from a healthy slot.
   */
  private readonly failing = new Set<BreakerLink>();
  private retryTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  private subscribed = false;
  private readyWaiters: Array<() => void> = [];

  private dirty: BreakerLink[] = [];
  private flushTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  private flushing = false;
  private reconciling: Promise<void> | undefined = undefined;
  private reconcileAgain = false;
  private readonly reconcileTimer: ReturnType<typeof setInterval>;
  private tokenSeq = 0;

  // A broken metrics hook must not break the store: listener errors are dropped.
  private readonly degradedEvents = new Emitter<StoreDegradedEvent>(() => {});
  private readonly recoveredEvents = new Emitter<StoreRecoveredEvent>(() => {});

  private counters = {
    degradations: 0,
    commandFailures: 0,
    transitionsPublished: 0,
    transitionsReceived: 0,
    fleetTrips: 0,
    conflicts: 0,
    failureFlushes: 0,
    probesGranted: 0,
    probesDenied: 0,
    probeFallbacks: 0,
  };

  /** @param options see {@link RedisStateStoreOptions}; invalid ones throw a TypeError/RangeError naming them. */
  constructor(options?: RedisStateStoreOptions) {
    this.options = resolveStoreOptions(options);
    this.replicaId = `${process.pid}-${randomUUID().slice(0, 8)}`;
    this.channel = transitionsChannel(this.options.keyPrefix);
    this.commands = this.makeClient('commands');
    this.subscriber = this.makeClient('subscriber');
    this.commands.defineCommand('phlowSync', { numberOfKeys: 2, lua: SYNC_SCRIPT });
    this.commands.defineCommand('phlowRecord', { numberOfKeys: 2, lua: RECORD_SCRIPT });
    this.commands.defineCommand('phlowAcquire', { numberOfKeys: 2, lua: ACQUIRE_SCRIPT });
    this.scripts = this.commands as unknown as ScriptCommands;

    this.commands.on('ready', () => this.connectionUp());
    this.commands.on('error', (error: unknown) => this.connectionLost(error));
    this.commands.on('close', () => this.connectionLost(new Error('Redis connection closed')));
    this.subscriber.on('error', () => {
      // Reported through the commands connection; a lone subscriber error is caught up by reconcile.
    });
    this.subscriber.on('ready', () => this.subscriberReady());
    this.subscriber.on('message', (channel: string, message: string) => this.received(channel, message));
    if (this.subscriber.status === 'ready') this.subscriberReady();
    if (this.commands.status === 'ready') this.connectionUp();

    this.reconcileTimer = setInterval(() => void this.reconcile(), this.options.reconcileIntervalMs);
    this.reconcileTimer.unref();
  }

  // --- the seam ---------------------------------------------------------------------------------

  /** Called by a breaker constructed with `stateStore: store`; not meant to be called directly. */
  connect(binding: StoreBinding): StoreConnection {
    const link = new BreakerLink(this, binding, breakerKeys(this.options.keyPrefix, binding.name));
    if (this.statusValue === 'closed') return link;
    let group = this.groups.get(binding.name);
    if (group === undefined) this.groups.set(binding.name, (group = new Set()));
    group.add(link);
    // Learn the fleet's state now if we can; otherwise the reconcile on connection does it.
    if (this.statusValue === 'ready') void this.sync(link, binding.snapshot());
    return link;
  }

  // --- public surface ---------------------------------------------------------------------------

  /** Where the store stands with Redis. */
  get status(): StoreStatus {
    return this.statusValue;
  }

  /** Redis went down or slow: breakers run on local state until {@link onRecovered}. */
  get onDegraded(): Event<StoreDegradedEvent> {
    return this.degradedEvents.event;
  }

  /** Redis answers again; the store is reconciling every attached breaker. */
  get onRecovered(): Event<StoreRecoveredEvent> {
    return this.recoveredEvents.event;
  }

  /** Resolves once Redis answered and the transition channel is subscribed (or at once if closed). */
  ready(): Promise<void> {
    if (this.isFullyReady() || this.statusValue === 'closed') return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  /**
   * Checks every attached breaker against Redis now (the store also does it every
   * `reconcileIntervalMs` and whenever Redis comes back); resolves once that check is done. Does nothing
   * while the connection is down (its return runs one). Never rejects.
   */
  reconcile(): Promise<void> {
    // Not connected (yet, or any more): every command would fail at once and report a degradation
    // that is not news; the connection's 'ready' runs a reconcile.
    if (this.statusValue === 'closed' || this.commands.status !== 'ready') return Promise.resolve();
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

  private async reconcileRounds(): Promise<void> {
    do {
      this.reconcileAgain = false;
      const pending: Promise<void>[] = [];
      for (const group of this.groups.values()) {
        for (const link of group) pending.push(this.sync(link, link.binding.snapshot()));
      }
      await Promise.all(pending);
    } while (this.reconcileAgain && this.status !== 'closed'); // close() may have run while we awaited
  }

  /** Counters for dashboards and metrics. */
  getStats(): RedisStateStoreStats {
    let breakers = 0;
    for (const group of this.groups.values()) breakers += group.size;
    return { status: this.statusValue, replicaId: this.replicaId, breakers, ...this.counters };
  }

  /**
   * Stops timers, returns held permits and closes both connections. Attached breakers keep working on
   * local state. Leaves no handle behind.
   */
  async close(): Promise<void> {
    if (this.statusValue === 'closed') return;
    clearInterval(this.reconcileTimer);
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer);
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.flushTimer = undefined;
    this.retryTimer = undefined;
    this.failing.clear();
    const releases: Promise<void>[] = [];
    for (const group of this.groups.values()) for (const link of group) releases.push(...this.releaseAll(link));
    this.groups.clear();
    this.dirty = [];
    const wasReady = this.statusValue === 'ready';
    this.statusValue = 'closed';
    for (const resolve of this.readyWaiters.splice(0)) resolve();
    await Promise.all(releases);
    await Promise.all([closeClient(this.commands, wasReady), closeClient(this.subscriber, wasReady)]);
  }

  // --- internals used by BreakerLink ---------------------------------------------------------------

  /** @internal */
  markDirty(link: BreakerLink): void {
    if (this.statusValue === 'closed') return;
    link.dirty = true;
    link.pendingGeneration = link.binding.snapshot().generation;
    this.dirty.push(link);
    if (this.flushTimer === undefined) {
      this.flushTimer = setTimeout(() => this.flush(), this.options.flushIntervalMs);
      this.flushTimer.unref();
    }
  }

  /** @internal A local transition: report it at once (in the background) so peers follow. */
  sync(link: BreakerLink, snapshot: CircuitSnapshot): Promise<void> {
    if (this.statusValue === 'closed' || link.disposed) return Promise.resolve();
    const { keys, binding } = link;
    return this.scripts
      .phlowSync(keys.state, keys.failures, this.channel, binding.name, ...snapshotArgs(snapshot), String(this.options.stateTtlMs))
      .then(
        (reply) => {
          this.answered(link);
          const status = reply[0];
          if (status === 'accepted') this.counters.transitionsPublished++;
          else if (status === 'conflict' || status === 'stale') {
            if (status === 'conflict') this.counters.conflicts++;
            this.adopt(binding.name, reply.slice(1));
          }
        },
        (error: unknown) => this.commandFailed(link, error),
      );
  }

  /** @internal */
  acquire(link: BreakerLink, generation: number): Promise<boolean> {
    // Known unreachable (Redis down, or this breaker's cluster slot failing over): the local permit at once.
    // A breaker whose slot answers still asks, even while another slot keeps the store degraded.
    if (this.statusValue === 'connecting' || this.statusValue === 'closed' || this.connectionDown || this.failing.has(link)) {
      this.counters.probeFallbacks++;
      return Promise.resolve(true);
    }
    const token = `${this.replicaId}:${++this.tokenSeq}`;
    const { keys, binding } = link;
    return new Promise<boolean>((resolve) => {
      let answered = false;
      const timer = setTimeout(() => {
        answered = true;
        this.counters.probeFallbacks++;
        this.linkFailed(link, 'timeout', new Error(`no half-open permit answer from Redis within probeWaitMs (${this.options.probeWaitMs} ms)`));
        resolve(true);
      }, this.options.probeWaitMs);
      timer.unref();
      this.scripts
        .phlowAcquire(
          keys.state,
          keys.probes(generation),
          String(generation),
          token,
          String(this.options.halfOpenMaxProbes ?? binding.halfOpenMaxCalls),
          String(this.options.probeLeaseMs),
        )
        .then(
          (reply) => {
            this.answered(link);
            const granted = reply[0] === 'granted';
            if (answered) {
              // Too late: the call went ahead on its local permit. Hand this one back.
              if (granted) void this.scripts.zrem(keys.probes(generation), token).catch(() => undefined);
              return;
            }
            answered = true;
            clearTimeout(timer);
            if (granted) {
              this.counters.probesGranted++;
              link.hold(generation, token);
            } else {
              this.counters.probesDenied++;
              if (reply[0] === 'stale') this.adopt(binding.name, reply.slice(1));
            }
            resolve(granted);
          },
          (error: unknown) => {
            this.commandFailed(link, error);
            if (answered) return;
            answered = true;
            clearTimeout(timer);
            this.counters.probeFallbacks++;
            resolve(true);
          },
        );
    });
  }

  /** @internal */
  release(link: BreakerLink, generation: number): Promise<void> {
    const token = link.unhold(generation);
    if (token === undefined || this.statusValue === 'closed') return Promise.resolve();
    return this.scripts.zrem(link.keys.probes(generation), token).then(
      () => this.answered(link),
      (error: unknown) => this.commandFailed(link, error), // the lease expires it anyway
    );
  }

  /** @internal */
  detach(link: BreakerLink): void {
    void this.releaseAll(link);
    if (this.failing.delete(link)) this.updateHealth();
    const group = this.groups.get(link.binding.name);
    if (group === undefined) return;
    group.delete(link);
    if (group.size === 0) this.groups.delete(link.binding.name);
  }

  // --- background work --------------------------------------------------------------------------

  private flush(): void {
    this.flushTimer = undefined;
    if (this.statusValue === 'closed') return;
    if (this.flushing) {
      // One batch in flight at a time: a slow Redis accumulates counts instead of commands.
      this.flushTimer = setTimeout(() => this.flush(), this.options.flushIntervalMs);
      this.flushTimer.unref();
      return;
    }
    const batch = this.dirty;
    this.dirty = [];
    const pending: Promise<void>[] = [];
    for (const link of batch) {
      link.dirty = false;
      const add = link.pendingFailures;
      const reset = link.pendingReset;
      const generation = link.pendingGeneration;
      link.pendingFailures = 0;
      link.pendingReset = false;
      if (link.disposed) continue;
      pending.push(this.record(link, generation, reset, add));
    }
    this.flushing = true;
    void Promise.all(pending).then(() => {
      this.flushing = false;
    });
  }

  private record(link: BreakerLink, generation: number, reset: boolean, add: number): Promise<void> {
    const { keys, binding } = link;
    this.counters.failureFlushes++;
    return this.scripts
      .phlowRecord(
        keys.state,
        keys.failures,
        this.channel,
        binding.name,
        String(generation),
        this.replicaId,
        reset ? '1' : '0',
        String(add),
        String(binding.threshold),
        String(this.options.failureWindowMs),
        String(this.options.stateTtlMs),
      )
      .then(
        (reply) => {
          this.answered(link);
          switch (reply[0]) {
            case 'counted':
              if (add > 0) link.contributedGeneration = generation;
              else if (reset) link.contributedGeneration = -1;
              break;
            case 'tripped': {
              this.counters.fleetTrips++;
              this.adopt(binding.name, reply.slice(1));
              // The script could not know the recovery timeout; now that this replica adopted the
              // open state with its own retryAt, store it for replicas that join later.
              const snapshot = binding.snapshot();
              if (snapshot.state === 'open' && String(snapshot.generation) === reply[2]) void this.sync(link, snapshot);
              break;
            }
            case 'stale':
              this.adopt(binding.name, reply.slice(1));
              break;
          }
        },
        (error: unknown) => this.commandFailed(link, error), // the local policy still counts these failures
      );
  }

  /** Pushes a fleet snapshot into every local breaker of that name; each ignores it unless newer. */
  private adopt(name: string, fields: readonly unknown[]): void {
    const snapshot = decodeSnapshot(fields);
    const group = this.groups.get(name);
    if (snapshot === undefined || group === undefined) return;
    for (const link of group) {
      try {
        link.binding.applyRemote(snapshot);
      } catch {
        // A malformed snapshot is dropped; reconcile will bring a good one.
      }
    }
  }

  private received(channel: string, message: string): void {
    if (channel !== this.channel) return;
    const decoded = decodeMessage(message);
    if (decoded === undefined) return;
    const group = this.groups.get(decoded.name);
    if (group === undefined) return;
    this.counters.transitionsReceived++;
    for (const link of group) {
      try {
        link.binding.applyRemote(decoded.snapshot);
      } catch {
        // see adopt()
      }
    }
  }

  private subscriberReady(): void {
    if (this.statusValue === 'closed') return;
    if (!this.subscribed) {
      this.subscriber.subscribe(this.channel).then(
        () => {
          this.subscribed = true;
          this.settleReadyWaiters();
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

  private connectionUp(): void {
    this.connectionDown = false;
    if (this.statusValue === 'closed') return;
    // Breakers whose commands failed while the connection was down are answered by this round.
    if (this.failing.size > 0) void this.reconcile();
    this.updateHealth();
  }

  private connectionLost(error: unknown): void {
    this.connectionDown = true;
    this.degrade('connection_lost', error);
  }

  /** Redis answered a command of this breaker's (so the connection works, whatever its last event said). */
  private answered(link: BreakerLink): void {
    this.connectionDown = false;
    this.failing.delete(link);
    this.updateHealth();
  }

  private commandFailed(link: BreakerLink, error: unknown): void {
    this.counters.commandFailures++;
    this.linkFailed(link, 'command_failed', error);
  }

  private linkFailed(link: BreakerLink, reason: DegradationReason, error: unknown): void {
    if (this.statusValue === 'closed') return;
    if (!link.disposed) this.failing.add(link);
    this.degrade(reason, error);
    this.armRetry();
  }

  /**
   * While the connection is up but some breakers' commands fail (a cluster slot failing over, a hung
   * Redis), re-check just those every min(commandTimeoutMs, reconcileIntervalMs): the first answer after a
   * failover is noticed within that, not at the next full reconcile. A connection that is down as a
   * whole is retried by the client's reconnect instead, and its 'ready' reconciles everything.
   */
  private armRetry(): void {
    if (this.retryTimer !== undefined) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.statusValue === 'closed' || this.failing.size === 0 || this.connectionDown) return;
      for (const link of this.failing) void this.sync(link, link.binding.snapshot());
      this.armRetry();
    }, Math.min(this.options.commandTimeoutMs, this.options.reconcileIntervalMs));
    this.retryTimer.unref();
  }

  private updateHealth(): void {
    if (this.statusValue === 'ready' || this.statusValue === 'closed') return;
    if (this.connectionDown || this.failing.size > 0 || this.commands.status !== 'ready') return;
    const wasDegraded = this.statusValue === 'degraded';
    this.statusValue = 'ready';
    if (wasDegraded && this.recoveredEvents.size) {
      const at = Date.now();
      this.recoveredEvents.emit({ at, degradedForMs: at - this.degradedAt });
    }
    this.settleReadyWaiters();
    void this.reconcile();
  }

  private degrade(reason: DegradationReason, error: unknown): void {
    if (this.statusValue === 'degraded' || this.statusValue === 'closed') return;
    this.statusValue = 'degraded';
    this.degradedAt = Date.now();
    this.counters.degradations++;
    if (this.degradedEvents.size) this.degradedEvents.emit({ reason, error, at: this.degradedAt });
  }

  private isFullyReady(): boolean {
    return this.statusValue === 'ready' && this.subscribed;
  }

  private settleReadyWaiters(): void {
    if (!this.isFullyReady()) return;
    for (const resolve of this.readyWaiters.splice(0)) resolve();
  }

  private releaseAll(link: BreakerLink): Promise<void>[] {
    const releases: Promise<void>[] = [];
    for (const generation of link.heldGenerations()) {
      while (link.holds(generation)) releases.push(this.release(link, generation));
    }
    return releases;
  }

  private makeClient(role: ClientRole): Client {
    const { createClient, redis, cluster, commandTimeoutMs } = this.options;
    if (createClient !== undefined) {
      const client = createClient(role);
      if (typeof client !== 'object' || client === null || typeof (client as Client).defineCommand !== 'function') {
        throw new TypeError(`createClient(${JSON.stringify(role)}) must return an ioredis Redis or Cluster; got ${String(client)}`);
      }
      return client;
    }
    if (cluster !== undefined) return makeClusterClient(role, cluster.nodes, cluster.options ?? {}, commandTimeoutMs);
    const base: RedisOptions = typeof redis === 'object' ? redis : {};
    const failFast: RedisOptions = {
      // A down Redis fails a command at once instead of queueing it until reconnection.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: role === 'commands' ? commandTimeoutMs : undefined,
      autoResubscribe: true,
      lazyConnect: false,
      retryStrategy: base.retryStrategy ?? ((times: number) => Math.min(100 * times, 1_000)),
      connectionName: `phlow-cb-${role}`,
    };
    const url = typeof redis === 'string' ? redis : undefined;
    return url === undefined ? new Redis({ ...base, ...failFast }) : new Redis(url, { ...base, ...failFast });
  }
}

/**
 * The single-node fail-fast settings, on a cluster: commands to a slot whose primary is down fail (after
 * ioredis's own brief failover retries, bounded by `commandTimeout`) instead of queueing. Classic
 * pub/sub: a PUBLISH on any node reaches subscribers on every node, so one subscription on whichever node
 * ioredis picks hears every breaker's transitions, and ioredis moves it to another node if that one dies.
 */
function makeClusterClient(role: ClientRole, nodes: readonly ClusterNode[], options: ClusterOptions, commandTimeoutMs: number): Cluster {
  return new Cluster([...nodes], {
    ...options,
    enableOfflineQueue: false,
    lazyConnect: false,
    redisOptions: {
      ...options.redisOptions,
      maxRetriesPerRequest: 0,
      commandTimeout: role === 'commands' ? commandTimeoutMs : undefined,
      connectionName: `phlow-cb-${role}`,
    },
  });
}

/** QUIT lets queued replies (permit releases) finish; a client that is not connected is just dropped. */
async function closeClient(client: Client, graceful: boolean): Promise<void> {
  if (graceful && client.status === 'ready') {
    try {
      await client.quit();
      return;
    } catch {
      // fall through
    }
  }
  client.disconnect();
}

/** One attached breaker: the hot-path side of the seam. Every method returns at once. */
class BreakerLink implements StoreConnection {
  pendingFailures = 0;
  pendingReset = false;
  pendingGeneration = -1;
  dirty = false;
  /** The closed generation in which this replica has a run of failures counted in Redis, or -1. */
  contributedGeneration = -1;
  disposed = false;
  private held: Map<number, string[]> | undefined = undefined;

  constructor(
    private readonly store: RedisStateStore,
    readonly binding: StoreBinding,
    readonly keys: BreakerKeys,
  ) {}

  transitioned(snapshot: CircuitSnapshot): void {
    // Counts belonged to the period that just ended.
    this.pendingFailures = 0;
    this.pendingReset = false;
    this.contributedGeneration = -1;
    void this.store.sync(this, snapshot);
  }

  failureRecorded(): void {
    this.pendingFailures++;
    if (!this.dirty) this.store.markDirty(this);
  }

  successRecorded(): void {
    // The common case, a success with no failures of ours counted anywhere, costs two compares.
    if (this.contributedGeneration === -1 && this.pendingFailures === 0) return;
    this.pendingFailures = 0;
    this.pendingReset = true;
    if (!this.dirty) this.store.markDirty(this);
  }

  acquireProbe(generation: number): Promise<boolean> {
    return this.store.acquire(this, generation);
  }

  releaseProbe(generation: number): void {
    void this.store.release(this, generation);
  }

  dispose(): void {
    if (this.disposed) return;
    this.store.detach(this);
    this.disposed = true;
  }

  hold(generation: number, token: string): void {
    const held = (this.held ??= new Map());
    const tokens = held.get(generation);
    if (tokens === undefined) held.set(generation, [token]);
    else tokens.push(token);
  }

  /** The token to give back for a finished probe, if a fleet permit (not a local fallback) was held. */
  unhold(generation: number): string | undefined {
    const tokens = this.held?.get(generation);
    if (tokens === undefined) return undefined;
    const token = tokens.pop();
    if (tokens.length === 0) this.held!.delete(generation);
    return token;
  }

  holds(generation: number): boolean {
    return this.held?.has(generation) ?? false;
  }

  heldGenerations(): number[] {
    return this.held === undefined ? [] : [...this.held.keys()];
  }
}
