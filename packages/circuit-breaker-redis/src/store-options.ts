import { checkDurationMs, checkFunction, checkInteger, checkKnownKeys } from '@phlow/circuit-breaker/internal';
import type { Cluster, ClusterNode, ClusterOptions, Redis, RedisOptions } from 'ioredis';

/** What a store's Redis connection is for: scripts and commands, or the pub/sub subscription. */
export type ClientRole = 'commands' | 'subscriber';

/** Where a Redis Cluster is: seed nodes and ioredis cluster options. */
export interface RedisClusterConnection {
  /** Some nodes of the cluster (`{ host, port }`, `"host:port"` or a port); ioredis discovers the rest. */
  readonly nodes: readonly ClusterNode[];
  /** ioredis `ClusterOptions`; the store overrides the fail-fast settings as it does for `redis`. */
  readonly options?: ClusterOptions;
}

/** Options of {@link RedisStateStore}. Durations are in milliseconds. */
export interface RedisStateStoreOptions {
  /**
   * Where Redis is: a `redis://` URL or ioredis options. The store makes two connections from it and
   * forces the fail-fast settings (no offline queue, no per-command retries, a command timeout).
   * Default `redis://127.0.0.1:6379`. Exclusive with `cluster` and `createClient`.
   */
  readonly redis?: string | RedisOptions;
  /**
   * A Redis Cluster instead of a single Redis: the store makes two ioredis `Cluster` clients from it
   * with the same fail-fast settings. Exclusive with `redis` and `createClient`.
   */
  readonly cluster?: RedisClusterConnection;
  /**
   * Makes the store's connections yourself. Called once per role. Give them `enableOfflineQueue: false`
   * (and `maxRetriesPerRequest: 0`) or a Redis outage queues commands instead of failing them fast.
   * Exclusive with `redis` and `cluster`.
   */
  readonly createClient?: (role: ClientRole) => Redis | Cluster;
  /** Start of every key and of the channel; no `{` or `}` (they are hash-tag syntax). Default `phlow:cb`. */
  readonly keyPrefix?: string;
  /** How long a breaker's shared state outlives its last write or reconcile. Default 86 400 000 (24 h). */
  readonly stateTtlMs?: number;
  /** How long a replica's run of failures keeps counting toward the fleet threshold. Default 60 000. */
  readonly failureWindowMs?: number;
  /** How long failures are batched before one script call sends them. Default 50. */
  readonly flushIntervalMs?: number;
  /**
   * Every attached breaker re-checks its state against Redis this often; bounds how late a replica
   * learns a transition whose pub/sub message it missed. Default 5 000.
   */
  readonly reconcileIntervalMs?: number;
  /** Half-open trial calls in flight across the whole fleet. Default: each breaker's own `halfOpenMaxCalls`. */
  readonly halfOpenMaxProbes?: number;
  /** A permit lapses this long after it was granted, so a crashed replica cannot hold it. Default 30 000. */
  readonly probeLeaseMs?: number;
  /** How long a half-open call waits for a fleet permit before falling back to its local one. Default 100. */
  readonly probeWaitMs?: number;
  /** A Redis command without a reply after this long fails (and the store reports degradation). Default 1 000. */
  readonly commandTimeoutMs?: number;
}

/** Options after validation, defaults applied. */
export interface ResolvedStoreOptions {
  readonly redis: string | RedisOptions | undefined;
  readonly cluster: RedisClusterConnection | undefined;
  readonly createClient: ((role: ClientRole) => Redis | Cluster) | undefined;
  readonly keyPrefix: string;
  readonly stateTtlMs: number;
  readonly failureWindowMs: number;
  readonly flushIntervalMs: number;
  readonly reconcileIntervalMs: number;
  /** Undefined: each breaker's `halfOpenMaxCalls`. */
  readonly halfOpenMaxProbes: number | undefined;
  readonly probeLeaseMs: number;
  readonly probeWaitMs: number;
  readonly commandTimeoutMs: number;
}

const KNOWN: readonly (keyof RedisStateStoreOptions)[] = [
  'redis',
  'cluster',
  'createClient',
  'keyPrefix',
  'stateTtlMs',
  'failureWindowMs',
  'flushIntervalMs',
  'reconcileIntervalMs',
  'halfOpenMaxProbes',
  'probeLeaseMs',
  'probeWaitMs',
  'commandTimeoutMs',
];

export function resolveStoreOptions(options: RedisStateStoreOptions = {}): ResolvedStoreOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`RedisStateStore options must be an object; got ${String(options)}`);
  }
  checkKnownKeys('RedisStateStore', options, KNOWN);
  const { redis, cluster, createClient } = options;
  const given = (['redis', 'cluster', 'createClient'] as const).filter((name) => options[name] !== undefined);
  if (given.length > 1) {
    throw new TypeError(`RedisStateStore: redis, cluster and createClient are exclusive (one way to connect); got ${given.join(' and ')}`);
  }
  if (cluster !== undefined) checkCluster(cluster);
  if (redis !== undefined && typeof redis !== 'string' && (typeof redis !== 'object' || redis === null)) {
    throw new TypeError(`redis must be a redis:// URL string or an ioredis options object; got ${JSON.stringify(redis)}`);
  }
  if (typeof redis === 'string' && !/^rediss?:\/\//.test(redis)) {
    throw new TypeError(`redis must be a redis:// or rediss:// URL; got ${JSON.stringify(redis)}`);
  }
  if (createClient !== undefined) checkFunction('createClient', createClient);
  const keyPrefix = options.keyPrefix ?? 'phlow:cb';
  if (typeof keyPrefix !== 'string' || keyPrefix.length === 0 || /[{}]/.test(keyPrefix)) {
    throw new TypeError(`keyPrefix must be a non-empty string without "{" or "}"; got ${JSON.stringify(keyPrefix)}`);
  }
  const flushIntervalMs = checkDurationMs('flushIntervalMs', options.flushIntervalMs ?? 50, 1);
  const stateTtlMs = checkDurationMs('stateTtlMs', options.stateTtlMs ?? 86_400_000, 1_000);
  const reconcileIntervalMs = checkDurationMs('reconcileIntervalMs', options.reconcileIntervalMs ?? 5_000, 10);
  if (reconcileIntervalMs >= stateTtlMs) {
    throw new RangeError(
      `reconcileIntervalMs must be shorter than stateTtlMs (${stateTtlMs}) so live breakers keep their keys; got ${reconcileIntervalMs}`,
    );
  }
  return {
    redis,
    cluster,
    createClient,
    keyPrefix,
    stateTtlMs,
    failureWindowMs: checkDurationMs('failureWindowMs', options.failureWindowMs ?? 60_000, 1),
    flushIntervalMs,
    reconcileIntervalMs,
    halfOpenMaxProbes:
      options.halfOpenMaxProbes === undefined ? undefined : checkInteger('halfOpenMaxProbes', options.halfOpenMaxProbes, 1, 1_000),
    probeLeaseMs: checkDurationMs('probeLeaseMs', options.probeLeaseMs ?? 30_000, 1),
    probeWaitMs: checkDurationMs('probeWaitMs', options.probeWaitMs ?? 100, 1),
    commandTimeoutMs: checkDurationMs('commandTimeoutMs', options.commandTimeoutMs ?? 1_000, 1),
  };
}

function checkCluster(cluster: unknown): void {
  if (typeof cluster !== 'object' || cluster === null || !Array.isArray((cluster as RedisClusterConnection).nodes)) {
    throw new TypeError(`cluster must be { nodes: [...], options? } with at least one seed node; got ${JSON.stringify(cluster)}`);
  }
  const { nodes, options } = cluster as RedisClusterConnection;
  if (nodes.length === 0) throw new TypeError('cluster.nodes must list at least one seed node ({ host, port }, "host:port" or a port); got []');
  for (const node of nodes) {
    const ok =
      (typeof node === 'string' && node.length > 0) ||
      (typeof node === 'number' && Number.isInteger(node) && node > 0 && node < 65_536) ||
      (typeof node === 'object' && node !== null);
    if (!ok) throw new TypeError(`cluster.nodes entries must be { host, port }, "host:port" or a port; got ${JSON.stringify(node)}`);
  }
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new TypeError(`cluster.options must be ioredis ClusterOptions (an object); got ${JSON.stringify(options)}`);
  }
}
