import { appendFile, mkdir, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/** Options of {@link JsonlFileSink}. */
export interface JsonlFileSinkOptions {
  /** Directory the files go to (created if missing). */
  readonly dir: string;
  /** A file is closed and a new one started past this size. Default 64 MiB. */
  readonly maxFileBytes: number;
  /** Oldest files are deleted beyond this many. Default 8. */
  readonly maxFiles: number;
  /** File name prefix. Default `calls`. */
  readonly prefix: string;
  /** Lines queued or being written at most; more are dropped (a stalled disk must not fill the memory). */
  readonly maxQueuedLines: number;
}

/**
 * Appends lines to `<prefix>-<n>.jsonl` files in a directory, rotated by size, with a cap on files:
 * at most `maxFiles × maxFileBytes` on disk. Writes are batched and asynchronous, one at a time, so
 * a recording breaker never waits for the disk; lines queued while a write runs go in the next one.
 */
export class JsonlFileSink {
  private pending: string[] = [];
  private pendingBytes = 0;
  /** Lines handed to a write that has not finished. */
  private writingLines = 0;
  /** Lines dropped because too many were queued. */
  dropped = 0;
  private writing: Promise<void> = Promise.resolve();
  private file = '';
  private fileBytes = 0;
  private sequence = 0;
  /** Created on the first write: a recorder that never records touches no disk. */
  private ready: Promise<void> | undefined = undefined;
  /** The last write error, if any (the sink keeps going; a recording is best effort). */
  lastError: unknown = undefined;

  constructor(private readonly options: JsonlFileSinkOptions) {}

  /** Queues one line (without its newline). */
  write(line: string): void {
    if (this.pending.length + this.writingLines >= this.options.maxQueuedLines) {
      this.dropped++;
      return;
    }
    this.pending.push(line);
    this.pendingBytes += line.length + 1;
  }

  /** Lines queued and not yet handed to the disk. */
  get queuedLines(): number {
    return this.pending.length;
  }

  /** Bytes queued and not yet handed to the disk. */
  get queuedBytes(): number {
    return this.pendingBytes;
  }

  /** Writes what is queued; resolves when it is on disk. */
  flush(): Promise<void> {
    if (this.pending.length > 0) {
      const lines = this.pending;
      this.pending = [];
      this.pendingBytes = 0;
      this.writingLines += lines.length;
      this.writing = this.writing
        .then(() => this.append(lines))
        .catch((error: unknown) => {
          this.lastError = error;
        })
        .finally(() => {
          this.writingLines -= lines.length;
        });
    }
    return this.writing;
  }

  private async start(): Promise<void> {
    await mkdir(this.options.dir, { recursive: true });
    const existing = await this.files();
    this.sequence = existing.length === 0 ? 0 : existing[existing.length - 1]!.n + 1;
    this.file = this.nameOf(this.sequence);
    // Files of earlier runs count toward maxFiles too: a recorder restarted again and again into one
    // directory must not pile up a file per run.
    await this.prune();
  }

  private async append(lines: string[]): Promise<void> {
    // A failed start (a directory that cannot be made) fails this write, reported in lastError; the next write tries again.
    await (this.ready ??= this.start().catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    }));
    let chunk = '';
    for (const line of lines) {
      const bytes = Buffer.byteLength(line) + 1;
      if (this.fileBytes > 0 && this.fileBytes + bytes > this.options.maxFileBytes) {
        if (chunk.length > 0) await appendFile(this.file, chunk);
        chunk = '';
        await this.rotate();
      }
      chunk += line + '\n';
      this.fileBytes += bytes;
    }
    if (chunk.length > 0) await appendFile(this.file, chunk);
  }

  private async rotate(): Promise<void> {
    this.sequence++;
    this.file = this.nameOf(this.sequence);
    this.fileBytes = 0;
    await this.prune();
  }

  /** Deletes the oldest files so that, with the one being started, at most `maxFiles` remain. */
  private async prune(): Promise<void> {
    const files = await this.files();
    for (const old of files.slice(0, Math.max(0, files.length - (this.options.maxFiles - 1)))) await unlink(old.path).catch(() => {});
  }

  private nameOf(n: number): string {
    return join(this.options.dir, `${this.options.prefix}-${String(n).padStart(6, '0')}.jsonl`);
  }

  private async files(): Promise<{ n: number; path: string }[]> {
    const pattern = new RegExp(`^${this.options.prefix}-(\\d{6,})\\.jsonl$`);
    const found: { n: number; path: string }[] = [];
    for (const name of await readdir(this.options.dir)) {
      const match = pattern.exec(name);
      if (match !== null) found.push({ n: Number(match[1]), path: join(this.options.dir, name) });
    }
    return found.sort((a, b) => a.n - b.n);
  }

}
