import type { CircuitBreaker, CircuitBreakerRegistry, Disposable } from '@phlow/circuit-breaker';
import { checkInteger, checkKnownKeys, combineDisposables, describeValue, toDisposable } from '@phlow/circuit-breaker/internal';
import { JsonlFileSink } from './jsonl-file-sink.js';
import { MAX_BREAKER_NAME, type CallOutcome } from './traffic.js';

/** One recorded call. */
export interface RecordedCall {
  /** The breaker's name. */
  readonly breaker: string;
  /** When the call started (epoch ms); a rejected call's start is when it was refused. */
  readonly start: number;
  /** How long it took (ms); 0 for a rejected call. */
  readonly duration: number;
  readonly outcome: CallOutcome;
  /** The error's class name (`TypeError`, `CircuitTimeoutError`, `result` for a failing result), if any. */
  readonly errorClass?: string;
}

/** Options of {@link TrafficRecorder}. */
export interface TrafficRecorderOptions {
  /** Write JSONL files here (rotated by size). Without it, calls are kept in memory only. */
  readonly dir?: string;
  /** Size at which a file is closed and the next begun. Default 64 MiB. */
  readonly maxFileBytes?: number;
  /** Most files kept; the oldest are deleted. Default 8. */
  readonly maxFiles?: number;
  /** File name prefix (letters, digits, `-`, `_`). Default `calls`. */
  readonly filePrefix?: string;
  /** Most recent calls kept in memory ({@link TrafficRecorder.recent}). Default 100 000; 0 keeps none. */
  readonly memoryCalls?: number;
  /** Lines queued before a write is started. Default 1 000. */
  readonly batchLines?: number;
  /** A queued line waits at most this long for its write (ms). Default 1 000. */
  readonly flushIntervalMs?: number;
  /** Most lines waiting for the disk; beyond it calls are dropped from the files (counted in `droppedCalls`). Default 1 000 000. */
  readonly maxQueuedLines?: number;
  /** Record from the start. Default true. */
  readonly enabled?: boolean;
}

const OPTION_NAMES = ['dir', 'maxFileBytes', 'maxFiles', 'filePrefix', 'memoryCalls', 'batchLines', 'flushIntervalMs', 'maxQueuedLines', 'enabled'];

/**
 * Records the calls of breakers — start, duration, outcome and error class, rejections included — to a
 * bounded ring in memory and, with `dir`, to JSONL files rotated by size with a cap on files.
 * Switch it off and on at run time with {@link TrafficRecorder.enabled}: while off it holds no
 * subscription, so the breakers pay nothing.
 *
 * @example
 * await using recorder = recordTraffic(getCircuitBreakerRegistry(), { dir: './recordings' });
 * // … traffic …  then: phlow-tune ./recordings --out ./report
 */
export class TrafficRecorder {
  private readonly sink: JsonlFileSink | undefined;
  private readonly ring: (RecordedCall | undefined)[];
  private ringNext = 0;
  private recorded = 0;
  private on: boolean;
  private readonly sources = new Map<object, { attach: () => Disposable; subscription: Disposable | undefined }>();
  private timer: ReturnType<typeof setTimeout> | undefined = undefined;
  private readonly batchLines: number;
  private readonly flushIntervalMs: number;
  private disposed = false;
  /** Why a breaker is not recorded (its name is longer than a recording holds), if one is not. */
  private refusal: Error | undefined = undefined;

  constructor(options: TrafficRecorderOptions = {}) {
    checkKnownKeys('TrafficRecorder options', options, OPTION_NAMES);
    const memoryCalls = options.memoryCalls === undefined ? 100_000 : checkInteger('memoryCalls', options.memoryCalls, 0, 100_000_000);
    this.batchLines = options.batchLines === undefined ? 1_000 : checkInteger('batchLines', options.batchLines, 1, 1_000_000);
    this.flushIntervalMs = options.flushIntervalMs === undefined ? 1_000 : checkInteger('flushIntervalMs', options.flushIntervalMs, 1, 3_600_000);
    if (options.enabled !== undefined && typeof options.enabled !== 'boolean') {
      throw new TypeError(`enabled must be a boolean; got ${describeValue(options.enabled)}`);
    }
    this.on = options.enabled ?? true;
    this.ring = new Array(memoryCalls);
    const maxFileBytes = options.maxFileBytes === undefined ? 64 * 2 ** 20 : checkInteger('maxFileBytes', options.maxFileBytes, 1_024);
    const maxFiles = options.maxFiles === undefined ? 8 : checkInteger('maxFiles', options.maxFiles, 1, 100_000);
    const maxQueuedLines = options.maxQueuedLines === undefined ? 1_000_000 : checkInteger('maxQueuedLines', options.maxQueuedLines, 1, 100_000_000);
    const prefix = options.filePrefix ?? 'calls';
    if (typeof prefix !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(prefix)) {
      throw new TypeError(`filePrefix must be 1 to 64 letters, digits, - or _; got ${describeValue(prefix)}`);
    }
    if (options.dir !== undefined) {
      if (typeof options.dir !== 'string' || options.dir.length === 0) throw new TypeError(`dir must be a non-empty path; got ${describeValue(options.dir)}`);
      this.sink = new JsonlFileSink({ dir: options.dir, maxFileBytes, maxFiles, prefix, maxQueuedLines });
    }
  }

  /**
   * Recording on (true) or off. Off drops every subscription; on subscribes again. A call in flight
   * when it is switched on is recorded only if its breaker timed it from its start (a time-based
   * policy, another outcome listener); otherwise its start is unknown and it is left out. A call in
   * flight when it is switched off is left out.
   */
  get enabled(): boolean {
    return this.on;
  }

  set enabled(value: boolean) {
    if (typeof value !== 'boolean') throw new TypeError(`enabled must be a boolean; got ${describeValue(value)}`);
    if (value === this.on) return;
    // Disposed: stays off, and says so (it used to read `true` while recording nothing).
    if (value && this.disposed) return;
    this.on = value;
    for (const source of this.sources.values()) {
      if (value && !this.disposed) source.subscription = source.attach();
      else {
        source.subscription?.dispose();
        source.subscription = undefined;
      }
    }
  }

  /**
   * The last error writing the files (a directory that cannot be made, a full disk), if any. Recording
   * is best effort: a write error never reaches the breakers or their callers; later writes try again.
   */
  get lastError(): unknown {
    return this.sink?.lastError ?? this.refusal;
  }

  /** Calls left out of the files because `maxQueuedLines` were already waiting for the disk. */
  get droppedCalls(): number {
    return this.sink?.dropped ?? 0;
  }

  /** Calls recorded since creation (including those the memory ring has dropped). */
  get recordedCalls(): number {
    return this.recorded;
  }

  /** The most recent calls kept in memory, oldest first. */
  recent(): RecordedCall[] {
    const size = this.ring.length;
    if (size === 0) return [];
    const out: RecordedCall[] = [];
    for (let i = 0; i < size; i++) {
      const call = this.ring[(this.ringNext + i) % size];
      if (call !== undefined) out.push(call);
    }
    return out;
  }

  /** Records one breaker's calls until the returned disposable (or the recorder) is disposed. */
  attach(breaker: CircuitBreaker): Disposable {
    return this.source(breaker, () => this.subscribe(breaker));
  }

  /** Records every breaker of `registry`, now and later (`CircuitBreakerRegistry.observe`). */
  observe(registry: CircuitBreakerRegistry): Disposable {
    return this.source(registry, () => registry.observe((breaker) => this.subscribe(breaker)));
  }

  /** Resolves once every call recorded so far is on disk. */
  async flush(): Promise<void> {
    await this.sink?.flush();
  }

  /** Stops recording (calls still in flight are not recorded) and writes what is queued. */
  async close(): Promise<void> {
    this.dispose();
    await this.flush();
  }

  /** Stops recording; queued lines are still written (await {@link close} to know when). */
  dispose(): void {
    if (this.disposed) return;
    this.enabled = false;
    this.disposed = true;
    this.sources.clear();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    void this.sink?.flush();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private source(key: object, attach: () => Disposable): Disposable {
    if (this.disposed) throw new Error('TrafficRecorder: disposed');
    const source = { attach, subscription: this.on ? attach() : undefined };
    this.sources.set(key, source);
    return toDisposable(() => {
      source.subscription?.dispose();
      source.subscription = undefined;
      this.sources.delete(key);
    });
  }

  private subscribe(breaker: CircuitBreaker): Disposable {
    const name = breaker.name;
    if (name.length > MAX_BREAKER_NAME) {
      // Its lines would make the whole recording unreadable (the readers refuse such a name).
      this.refusal = new RangeError(`breaker name of ${name.length} characters is longer than a recording holds (${MAX_BREAKER_NAME}); not recorded: ${name.slice(0, 40)}...`);
      return toDisposable(() => {});
    }
    // The line's start, built once per breaker: a recorded call costs one template string, no JSON.stringify.
    const prefix = `{"b":${JSON.stringify(name)},"t":`;
    const clock = breaker.options.clock;
    return combineDisposables([
      breaker.onSuccess((e) => this.add(name, prefix, clock.now(), e.durationMs, 'success', undefined)),
      breaker.onFailure((e) =>
        this.add(name, prefix, clock.now(), e.durationMs, e.cause === 'timeout' ? 'timeout' : 'failure', e.cause === 'result' ? 'result' : errorClass(e.error)),
      ),
      breaker.onIgnored((e) => this.add(name, prefix, clock.now(), e.durationMs, 'ignored', e.cause === 'error' ? errorClass(e.error) : e.cause)),
      breaker.onReject(() => this.add(name, prefix, clock.now(), 0, 'rejected', 'CircuitOpenError')),
    ]);
  }

  private add(breaker: string, prefix: string, end: number, durationMs: number, outcome: CallOutcome, errorClass: string | undefined): void {
    // NaN: the call started before recording did (an untimed breaker read no clock for it). Its start
    // is unknown; written as a 0 ms call at its end it would be a call that never happened.
    if (durationMs !== durationMs) return;
    const duration = durationMs > 0 && durationMs < Infinity ? durationMs : 0;
    const start = end - duration;
    this.recorded++;
    if (this.ring.length > 0) {
      this.ring[this.ringNext] = errorClass === undefined ? { breaker, start, duration, outcome } : { breaker, start, duration, outcome, errorClass };
      this.ringNext = (this.ringNext + 1) % this.ring.length;
    }
    const sink = this.sink;
    if (sink === undefined) return;
    // Start to the ms, duration to the µs: an integer formats ~4× faster than a full double (measured).
    sink.write(`${prefix}${Math.round(start)},"d":${Math.round(duration * 1000) / 1000},"o":"${outcome}"${errorClass === undefined ? '}' : `,"e":${JSON.stringify(errorClass)}}`}`);
    if (sink.queuedLines >= this.batchLines) void sink.flush();
    else if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void sink.flush();
      }, this.flushIntervalMs);
      this.timer.unref();
    }
  }
}

/**
 * Records every breaker of `registry` (JSONL files in `options.dir`); dispose or `await close()` the
 * result to stop. What `pnpm demo:record` calls.
 */
export function recordTraffic(registry: CircuitBreakerRegistry, options: TrafficRecorderOptions = {}): TrafficRecorder {
  const recorder = new TrafficRecorder(options);
  recorder.observe(registry);
  return recorder;
}

/**
 * The error's class name for the recording. Errors are the caller's (or a dependency's) objects: a
 * name that is not a string, a throwing getter or a missing prototype must not lose the call, since a
 * listener that throws records nothing.
 */
function errorClass(error: unknown): string {
  if (!(error instanceof Error)) return error === null ? 'null' : typeof error;
  try {
    const name: unknown = error.name;
    if (typeof name === 'string' && name !== '' && name !== 'Error') return name.slice(0, 100);
    const constructorName: unknown = error.constructor?.name;
    return typeof constructorName === 'string' && constructorName !== '' ? constructorName.slice(0, 100) : 'Error';
  } catch {
    return 'Error';
  }
}
