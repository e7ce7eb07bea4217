import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../test-fixtures/replica.mjs', import.meta.url));

/** A replica process (test-fixtures/replica.mjs) driven over IPC. */
export class Replica {
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  private readonly eventListeners: Array<{ event: string; resolve: () => void }> = [];
  readonly exited: Promise<number | null>;

  private constructor(readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    child.on('message', (message: any) => {
      if (message.event !== undefined) {
        for (const listener of this.eventListeners.splice(0)) if (listener.event === message.event) listener.resolve(); else this.eventListeners.push(listener);
        return;
      }
      if (message.id === undefined) return;
      const waiter = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (message.error !== undefined) waiter?.reject(new Error(message.error));
      else waiter?.resolve(message.value);
    });
  }

  static async start(): Promise<Replica> {
    const child = fork(SCRIPT, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`replica exited early with ${code}`)));
    });
    return new Replica(child);
  }

  call<T = any>(cmd: string, args?: unknown): Promise<T> {
    const id = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      if (!this.child.connected) return reject(new Error(`replica ${this.child.pid} is disconnected`));
      this.pending.set(id, { resolve, reject });
      this.child.send({ id, cmd, args }, (error) => {
        if (error) {
          this.pending.delete(id);
          reject(error);
        }
      });
    });
  }

  /** Resolves at the replica's next unsolicited `event` message (subscribe before causing it). */
  nextEvent(event: string): Promise<void> {
    return new Promise((resolve) => this.eventListeners.push({ event, resolve }));
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}
