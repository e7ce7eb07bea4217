/**
 * The dashboard's server-sent event streams. Every stream is sent a snapshot twice a second, so two
 * things are bounded: how many streams are open at once, and how much a stream may have waiting
 * unsent. A client that opens streams and never reads them would otherwise make the agent hold every
 * snapshot it was sent in memory, without end (a socket's write buffer grows as long as it is fed).
 * A stream that falls that far behind is closed; a real browser's EventSource reconnects by itself.
 */
import type { Response } from 'express';

export interface EventStreamsOptions {
  /** Most streams open at once. */
  readonly maxStreams: number;
  /** Most bytes a stream may have buffered unsent before it is closed. */
  readonly maxBacklogBytes: number;
}

export class EventStreams {
  readonly #streams = new Set<Response>();
  readonly #options: EventStreamsOptions;

  constructor(options: EventStreamsOptions) {
    for (const name of ['maxStreams', 'maxBacklogBytes'] as const) {
      const value = options[name];
      if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be an integer >= 1; got ${String(value)}`);
    }
    this.#options = options;
  }

  get size(): number {
    return this.#streams.size;
  }

  /** True when another stream may open. */
  get hasRoom(): boolean {
    return this.#streams.size < this.#options.maxStreams;
  }

  /** Opens `res` as an event stream and sends it `first`; it leaves the set when its client goes. */
  open(res: Response, first: string): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    this.#streams.add(res);
    res.on('close', () => this.#streams.delete(res));
    this.#send(res, first);
  }

  /** Sends `data` (one or more `data:` lines) to every stream that keeps up; closes those that do not. */
  broadcast(data: string): void {
    for (const stream of this.#streams) this.#send(stream, data);
  }

  /** Ends every stream. */
  closeAll(): void {
    for (const stream of this.#streams) stream.end();
    this.#streams.clear();
  }

  #send(stream: Response, data: string): void {
    if (stream.writableLength + Buffer.byteLength(data) > this.#options.maxBacklogBytes) {
      this.#streams.delete(stream);
      stream.destroy();
      return;
    }
    stream.write(`data: ${data}\n\n`);
  }
}
