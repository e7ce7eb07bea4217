import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePorts } from '@phlow/test-helpers';
import { spawnRedisServer } from './redis-server.test-util.js';

/** One node of the cluster as `CLUSTER NODES` describes it. */
export interface ClusterNode {
  readonly id: string;
  readonly port: number;
  readonly role: 'primary' | 'replica';
  /** For a replica, the id of its primary. */
  readonly primaryId: string | undefined;
  /** Flagged `fail` (or `fail?`) by the node we asked. */
  readonly failing: boolean;
  /** Slot ranges served (primaries), as [first, last] pairs. */
  readonly slots: ReadonlyArray<readonly [number, number]>;
}

interface NodeProcess {
  readonly port: number;
  readonly dir: string;
  child: ChildProcess | undefined;
}

export interface RedisClusterOptions {
  readonly primaries?: number;
  /** How long a primary may be unreachable before its replica takes over (`cluster-node-timeout`). */
  readonly nodeTimeoutMs?: number;
}

// Every node of every cluster this process started, killed at exit even when a test crashed before its
// teardown ran: a leaked redis-server would hold its ports and a CPU on a shared machine.
const everyChild = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of everyChild) child.kill('SIGKILL');
});

/**
 * A Redis Cluster of our own on loopback: `primaries` primaries with one replica each, every node with
 * its own port, cluster-bus port and temporary directory, no persistence. A test can kill a node and
 * wait for its replica to take over.
 */
export class RedisCluster {
  private constructor(
    private readonly nodes: NodeProcess[],
    readonly nodeTimeoutMs: number,
  ) {}

  /**
   * Starts the nodes, joins them with `redis-cli --cluster create`, and resolves once every node reports
   * `cluster_state:ok` and every replica `master_link_status:up` (before that a killed primary is not
   * failed over). Cleans up after itself if any step fails.
   */
  static async start(options: RedisClusterOptions = {}): Promise<RedisCluster> {
    // A port picked free can be taken by another process (an outgoing connection's local port, say)
    // before its node binds it: start again on new ports, a few times.
    for (let attempt = 1; ; attempt++) {
      try {
        return await RedisCluster.startOnce(options);
      } catch (error) {
        if (attempt >= 3 || !String(error).includes('Address already in use')) throw error;
      }
    }
  }

  private static async startOnce(options: RedisClusterOptions): Promise<RedisCluster> {
    const primaries = options.primaries ?? 3;
    const nodeTimeoutMs = options.nodeTimeoutMs ?? 1_000;
    const cluster = new RedisCluster([], nodeTimeoutMs);
    try {
      // Client and bus ports (the bus port defaults to port + 10 000, which may be taken or out of
      // range), all distinct.
      const ports = await freePorts(primaries * 4);
      for (let i = 0; i < primaries * 2; i++) {
        cluster.nodes.push({ port: ports[i]!, dir: mkdtempSync(join(tmpdir(), 'phlow-cluster-')), child: undefined });
      }
      const busPorts = ports.slice(primaries * 2);
      await Promise.all(cluster.nodes.map((node, i) => cluster.spawnNode(node, busPorts[i]!)));
      await createCluster(cluster.nodes.map((n) => n.port));
      await cluster.waitUntilHealthy(primaries * 2);
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  /** Seed nodes for an ioredis `Cluster` (any one is enough; all are given). */
  get seeds(): Array<{ host: string; port: number }> {
    return this.nodes.filter((n) => n.child !== undefined).map((n) => ({ host: '127.0.0.1', port: n.port }));
  }

  /** The cluster's view of its nodes, asked of a running node. */
  async describe(): Promise<ClusterNode[]> {
    return parseClusterNodes(await this.command(this.runningPort(), 'CLUSTER', 'NODES'));
  }

  /** The running replica of the primary with this id, once it reports its link to it up (or throws). */
  async linkedReplicaOf(primaryId: string): Promise<ClusterNode> {
    const replica = (await this.describe()).find((n) => n.primaryId === primaryId && !n.failing);
    if (replica === undefined) throw new Error(`primary ${primaryId} has no replica`);
    const replication = await this.command(replica.port, 'INFO', 'replication');
    if (!replication.includes('master_link_status:up')) throw new Error(`replica ${replica.port} is not in sync with its primary`);
    return replica;
  }

  /** The running primary serving `slot`. */
  async primaryOf(slot: number): Promise<ClusterNode> {
    const nodes = await this.describe();
    const primary = nodes.find((n) => n.role === 'primary' && !n.failing && n.slots.some(([a, b]) => slot >= a && slot <= b));
    if (primary === undefined) throw new Error(`no primary serves slot ${slot}`);
    return primary;
  }

  /** The slot a key hashes to (asked of the cluster, which owns the CRC16 rule). */
  async slotOf(key: string): Promise<number> {
    return Number(await this.command(this.runningPort(), 'CLUSTER', 'KEYSLOT', key));
  }

  /** SIGKILL one node and wait for the process to be gone. */
  async kill(port: number): Promise<void> {
    const node = this.nodes.find((n) => n.port === port);
    const child = node?.child;
    if (node === undefined || child === undefined) throw new Error(`no running node on port ${port}`);
    node.child = undefined;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** Resolves once a running primary other than `formerPort` serves `slot` and the cluster is ok again. */
  async waitForFailover(slot: number, formerPort: number, limitMs = 30_000): Promise<ClusterNode> {
    const deadline = Date.now() + limitMs;
    for (;;) {
      try {
        const primary = await this.primaryOf(slot);
        const info = await this.command(primary.port, 'CLUSTER', 'INFO');
        if (primary.port !== formerPort && info.includes('cluster_state:ok')) return primary;
      } catch {
        // a node we asked is mid-change; ask again
      }
      if (Date.now() > deadline) throw new Error(`slot ${slot} was not failed over within ${limitMs} ms`);
      await sleep(20);
    }
  }

  /** Kills every node and removes their directories. Safe to call twice and after a failed start. */
  async stop(): Promise<void> {
    await Promise.all(
      this.nodes.map(async (node) => {
        const child = node.child;
        node.child = undefined;
        if (child !== undefined && child.exitCode === null && child.signalCode === null) {
          const exited = new Promise((resolve) => child.once('exit', resolve));
          child.kill('SIGKILL');
          await exited;
        }
        rmSync(node.dir, { recursive: true, force: true });
      }),
    );
  }

  private async spawnNode(node: NodeProcess, busPort: number): Promise<void> {
    // prettier-ignore
    await spawnRedisServer([
      '--port', String(node.port), '--bind', '127.0.0.1', '--protected-mode', 'no',
      '--cluster-enabled', 'yes', '--cluster-port', String(busPort),
      '--cluster-config-file', join(node.dir, 'nodes.conf'), '--cluster-node-timeout', String(this.nodeTimeoutMs),
      '--dir', node.dir, '--save', '', '--appendonly', 'no',
    ], (child) => {
      // Known before it is ready, so stop() and the exit hook can kill a node that never got ready.
      node.child = child;
      everyChild.add(child);
      child.once('exit', () => everyChild.delete(child));
    });
  }

  private async waitUntilHealthy(expectedNodes: number, limitMs = 30_000): Promise<void> {
    const deadline = Date.now() + limitMs;
    const ports = this.nodes.map((n) => n.port);
    for (;;) {
      const states = await Promise.all(
        ports.map(async (port) => {
          const [info, replication] = await Promise.all([this.command(port, 'CLUSTER', 'INFO'), this.command(port, 'INFO', 'replication')]);
          return (
            info.includes('cluster_state:ok') &&
            info.includes(`cluster_known_nodes:${expectedNodes}\r`) &&
            (replication.includes('role:master') || replication.includes('master_link_status:up'))
          );
        }),
      );
      if (states.every(Boolean)) return;
      if (Date.now() > deadline) throw new Error(`cluster not healthy within ${limitMs} ms`);
      await sleep(50);
    }
  }

  private runningPort(): number {
    const node = this.nodes.find((n) => n.child !== undefined);
    if (node === undefined) throw new Error('no node is running');
    return node.port;
  }

  /** One command on one node over a short-lived plain connection; the reply as a string. */
  async command(port: number, ...command: string[]): Promise<string> {
    const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      return String(await client.call(command[0]!, ...command.slice(1)));
    } finally {
      client.disconnect();
    }
  }
}

async function createCluster(ports: number[]): Promise<void> {
  const args = ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes'];
  // Synchronous would block the event loop for the seconds the nodes take to agree: run it as a child.
  const child = spawn('redis-cli', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0 || !out.includes('All 16384 slots covered')) throw new Error(`redis-cli --cluster create failed (${code}): ${out}`);
}

function parseClusterNodes(text: string): ClusterNode[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      // <id> <ip:port@cport> <flags> <primary> <ping-sent> <pong-recv> <epoch> <link> <slot> <slot> ...
      const [id, address, flags, primary, , , , , ...slots] = line.trim().split(' ');
      const flagList = flags!.split(',');
      return {
        id: id!,
        port: Number(address!.split('@')[0]!.split(':').pop()),
        role: flagList.includes('master') ? 'primary' : 'replica',
        primaryId: primary === '-' ? undefined : primary,
        failing: flagList.includes('fail') || flagList.includes('fail?'),
        slots: slots
          .filter((s) => !s.startsWith('['))
          .map((s) => {
            const [a, b] = s.split('-');
            return [Number(a), Number(b ?? a)] as const;
          }),
      } satisfies ClusterNode;
    });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

