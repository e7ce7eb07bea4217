import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { drawLatency, type Faults } from './faults.js';
import { writeShaped } from './slow-write.js';

/** What a {@link ShapedPipe} needs from its proxy. */
export interface PipeContext {
  /** The faults in force right now (read for every chunk, so changes apply to in-flight traffic). */
  faults(): Faults;
  random(): number;
  /** Aborts when the connection or the proxy goes away. */
  readonly signal: AbortSignal;
  /** True for the upstream → client direction, the one `slowBody` trickles. */
  readonly towardsClient: boolean;
  /** Called with the size of every chunk actually written to the sink. */
  onBytes(count: number): void;
  /** Called once the source ended and everything queued was written or dropped. */
  onDrained(): void;
}

interface Pending {
  readonly chunk: Buffer;
  readonly due: number;
}

// Pause the source beyond this many queued chunks; resume below the low mark. Keeps memory bounded while
// latency is pipelined (every chunk waits its own delay from its arrival, not after the previous one).
const HIGH_WATER = 16;
const LOW_WATER = 4;

/**
 * One direction of a TCP connection through the fault proxy: moves bytes from `source` to `sink`, applying
 * black hole (drop), latency (per chunk, order kept) and slow body (towards the client only).
 */
export class ShapedPipe {
  readonly #source: Socket;
  readonly #sink: Socket;
  readonly #context: PipeContext;
  readonly #queue: Pending[] = [];
  #lastDue = 0;
  #running = false;
  #ended = false;

  constructor(source: Socket, sink: Socket, context: PipeContext) {
    this.#source = source;
    this.#sink = sink;
    this.#context = context;
    source.on('data', (chunk: Buffer) => this.#push(chunk));
    source.on('end', () => {
      this.#ended = true;
      this.#kick();
    });
  }

  #push(chunk: Buffer): void {
    const faults = this.#context.faults();
    if (faults.blackHole === true) return;
    const due = Math.max(this.#lastDue, Date.now() + drawLatency(faults.latency, () => this.#context.random()));
    this.#lastDue = due;
    this.#queue.push({ chunk, due });
    if (this.#queue.length >= HIGH_WATER) this.#source.pause();
    this.#kick();
  }

  #kick(): void {
    if (this.#running) return;
    this.#running = true;
    this.#run().then(
      () => undefined,
      () => {
        // Aborted (connection closed or proxy stopped) or the sink broke: the connection is being torn down.
        this.#running = false;
        this.#queue.length = 0;
      },
    );
  }

  async #run(): Promise<void> {
    const { signal } = this.#context;
    for (let next = this.#queue[0]; next !== undefined; next = this.#queue[0]) {
      const wait = next.due - Date.now();
      if (wait > 0) await sleep(wait, undefined, { signal });
      const faults = this.#context.faults();
      // A black hole switched on while data waited swallows it too: it applies to in-flight bytes.
      if (faults.blackHole !== true && !this.#sink.destroyed) {
        const slowBody = this.#context.towardsClient ? faults.slowBody : undefined;
        await writeShaped(this.#sink, next.chunk, slowBody, signal);
        this.#context.onBytes(next.chunk.length);
      }
      this.#queue.shift();
      if (this.#queue.length <= LOW_WATER && this.#source.isPaused()) this.#source.resume();
    }
    // Cleared synchronously after the last check of the queue, so a chunk pushed now starts a new run.
    this.#running = false;
    if (this.#ended) this.#context.onDrained();
  }
}
