import { Cluster, Redis, type ClusterNode, type ClusterOptions, type RedisOptions } from 'ioredis';
import { ACQUIRE_SCRIPT, RECORD_SCRIPT, SYNC_SCRIPT } from './lua-scripts.js';
import type { ClientRole, ResolvedStoreOptions } from './store-options.js';

/** One of the store's two connections: commands, or the transition subscriber. */
export type Client = Redis | Cluster;

/** A script's reply: a status word, then (for most) the fleet's snapshot fields. */
export type ScriptReply = string[];

/** The scripts, as ioredis `defineCommand` adds them (EVALSHA, EVAL again after a NOSCRIPT). */
export interface ScriptCommands {
  phlowSync(...args: string[]): Promise<ScriptReply>;
  phlowRecord(...args: string[]): Promise<ScriptReply>;
  phlowAcquire(...args: string[]): Promise<ScriptReply>;
  zrem(key: string, member: string): Promise<number>;
}

/** Adds the store's scripts to the commands connection. */
export function defineScripts(commands: Client): ScriptCommands {
  commands.defineCommand('phlowSync', { numberOfKeys: 2, lua: SYNC_SCRIPT });
  commands.defineCommand('phlowRecord', { numberOfKeys: 2, lua: RECORD_SCRIPT });
  commands.defineCommand('phlowAcquire', { numberOfKeys: 2, lua: ACQUIRE_SCRIPT });
  return commands as unknown as ScriptCommands;
}

/** The caller's own client (`createClient`), or one made fail-fast from `cluster` or `redis`. */
export function makeClient(role: ClientRole, options: ResolvedStoreOptions): Client {
  const { createClient, redis, cluster, commandTimeoutMs } = options;
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
export async function closeClient(client: Client, graceful: boolean): Promise<void> {
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
