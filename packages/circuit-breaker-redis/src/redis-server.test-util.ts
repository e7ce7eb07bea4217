import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from '@phlow/test-helpers';

/** Starts `redis-server` with these arguments; resolves once it accepts connections, rejects if it exits first. */
export async function spawnRedisServer(args: string[], onSpawn?: (child: ChildProcess) => void): Promise<ChildProcess> {
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  onSpawn?.(child);
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('Ready to accept connections')) {
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        child.off('exit', onExit);
        resolve();
      }
    };
    const onExit = (code: number | null) => reject(new Error(`redis-server ${args.join(' ')} exited with ${code}: ${out}`));
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  });
  return child;
}

/** A redis-server of our own that a test can kill, freeze and restart on the same port. */
export class RedisServer {
  private child: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  static async start(): Promise<RedisServer> {
    const server = new RedisServer(await freePort());
    await server.restart();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Whether the server process is up (a test may have killed it). */
  get running(): boolean {
    return this.child !== undefined;
  }

  /** Starts (again) on the same port, empty: no persistence, as after a crash that lost the data. */
  async restart(): Promise<void> {
    if (this.child !== undefined) throw new Error('redis-server already running');
    this.child = await spawnRedisServer(['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no']);
  }

  /** SIGKILL, then wait until the port refuses connections. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    this.child = undefined;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** SIGSTOP: the port accepts connections but nothing answers — a slow, hung Redis. */
  freeze(): void {
    this.child?.kill('SIGSTOP');
  }

  thaw(): void {
    this.child?.kill('SIGCONT');
  }
}
