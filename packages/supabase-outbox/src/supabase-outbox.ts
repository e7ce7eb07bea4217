/**
 * A durable write-behind outbox for supabase-js inserts and upserts. A write is first committed to a
 * local SQLite file (the promise resolves once it is on disk: from then on it must land), then sent;
 * while Supabase is down or its breaker is open it waits there and is replayed, oldest first, once
 * requests go through again. Each write carries an idempotency key from its first attempt (a timed-out
 * attempt may have landed) and is sent as insert-ignore-duplicates on that key, so a crash between
 * sending and acknowledging never doubles a row. A write the database refuses for good goes to the dead
 * letters with the reason and never blocks the writes behind it.
 */
import { randomUUID } from 'node:crypto';
import { checkDurationMs, checkInteger, describeValue } from '@phlow/circuit-breaker/internal';
import { OutboxClosedError, OutboxError, OutboxFullError, UnstorableRowError } from './outbox-errors.js';
import { OutboxMetrics } from './outbox-metrics.js';
import { resolveOutboxOptions, COLUMN_NAME, type ResolvedOutboxOptions, type SupabaseOutboxOptions } from './outbox-options.js';
import { OutboxStore, type DeadLetter, type Entry, type NewEntry, type WriteOperation } from './outbox-store.js';
import { storableRowJson } from './storable-row.js';
import { classifyWriteFailure, type WriteFailure } from './write-outcome.js';

/** Per-write options. */
export interface WriteOptions {
  /**
   * The conversation (or entity, or stream) the write belongs to: writes of one conversation land in the
   * order they were accepted. At most 200 characters. Default `''`.
   */
  readonly conversation?: string;
  /**
   * The write's idempotency key, when the caller has one (a request id): the same key is the same write.
   * Default: the row's `keyColumn` value if it has one, else a fresh UUID.
   */
  readonly key?: string;
}

/** Options of {@link SupabaseOutbox.upsert}. */
export interface UpsertOptions extends WriteOptions {
  /** The conflict target, as supabase-js's `upsert` takes it (`'id'`, `'tenant_id,slug'`). */
  readonly onConflict: string;
}

/** What became of an accepted write (it is on disk either way). */
export interface OutboxReceipt {
  /** Its idempotency key (also in the row's `keyColumn`). */
  readonly key: string;
  /** Its sequence number (also in the row's `orderColumn`). */
  readonly seq: number;
  /**
   * `stored`: in the database now. `queued`: waits in the outbox and is replayed once Supabase takes it.
   * `duplicate`: a row with this key was already there (an earlier attempt of the same write landed).
   */
  readonly state: 'stored' | 'queued' | 'duplicate';
}

/** The outbox's figures. */
export interface OutboxStats {
  /** Writes waiting (on disk, not yet in the database). */
  readonly pending: number;
  /** Bytes waiting (rows as JSON). */
  readonly pendingBytes: number;
  /** Writes that reached the database since this outbox was opened. */
  readonly delivered: number;
  /** Of those, how many on a replay (their first attempt failed, or an earlier process accepted them). */
  readonly replayed: number;
  /** Inserts the database already had (same key): not written twice. */
  readonly duplicates: number;
  /** Writes in the dead letters now (kept across restarts until discarded). */
  readonly deadLetters: number;
  /** Writes refused before they were queued since open (full, unstorable, closed). */
  readonly refused: number;
  readonly maxRows: number;
  readonly maxBytes: number;
  /** The last delivery failure that keeps writes waiting, or null once a delivery succeeds. */
  readonly lastError: string | null;
  /**
   * What kind of failure `lastError` is: `unavailable` — Supabase is away (no answer, 5xx, the breaker
   * open), its breaker and health show it; `attention` — Supabase answers but writes do not land (a
   * missing column or permission, an answer that is not the rows, the outbox file failing): no breaker
   * sees that, someone must look. `null` with `lastError`.
   */
  readonly lastErrorKind: 'unavailable' | 'attention' | null;
}

type Waiter = (state: OutboxReceipt['state']) => void;

interface Staged {
  readonly entry: NewEntry;
  readonly resolve: (receipt: OutboxReceipt) => void;
  readonly reject: (error: unknown) => void;
}

const MAX_CONVERSATION = 200;
const MAX_KEY = 200;
/** Clock-derived sequence numbers stay below this (2^52, year 2112 in µs-ish), leaving room to count. */
const MAX_CLOCK_SEQ = 2 ** 52;

export class SupabaseOutbox {
  readonly #options: ResolvedOutboxOptions;
  readonly #store: OutboxStore;
  readonly #metrics: OutboxMetrics | undefined;
  #lastSeq: number;
  #staged: Staged[] = [];
  #stagedBytes = 0;
  #stagedKeys = new Set<string>();
  #commitScheduled = false;
  readonly #waiters = new Map<number, Waiter>();
  #pumping: Promise<void> | undefined;
  /** Conversations held back (a write the deployment must fix), until when (performance.now() ms). */
  readonly #held = new Map<string, number>();
  /**
   * Every write still waiting up to this seq belongs to a held conversation (a pass went through them
   * all); until a hold ends, a pass starts after it. Without it, each new write — a kick — read every
   * held write again, synchronously: 50 000 of them blocked the event loop ~100 ms per write.
   */
  #heldThrough = 0;
  #again = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #waiting = false;
  #abort: AbortController | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  #delivered = 0;
  #replayed = 0;
  #duplicates = 0;
  #refused = 0;
  #lastError: string | null = null;
  #lastErrorKind: OutboxStats['lastErrorKind'] = null;

  /**
   * Opens (or creates) the outbox file and starts replaying what an earlier process left in it.
   * @throws TypeError/RangeError for an invalid option, naming it, its value and what is allowed.
   */
  constructor(options: SupabaseOutboxOptions) {
    this.#options = resolveOutboxOptions(options);
    this.#store = new OutboxStore(this.#options.path);
    this.#lastSeq = this.#store.lastSeq;
    const { meter, name, maxRows, maxBytes } = this.#options;
    this.#metrics =
      meter === undefined
        ? undefined
        : new OutboxMetrics(meter, name, () => ({ pending: this.#store.rows, pendingBytes: this.#store.bytes, deadLetters: this.#store.deadLetterCount, maxRows, maxBytes, stalled: this.#store.rows > 0 && this.#lastErrorKind === 'attention' }));
    if (this.#store.rows > 0) this.#kick();
  }

  /** The outbox's figures now. */
  get stats(): OutboxStats {
    return {
      pending: this.#store.rows + this.#staged.length,
      pendingBytes: this.#store.bytes + this.#stagedBytes,
      delivered: this.#delivered,
      replayed: this.#replayed,
      duplicates: this.#duplicates,
      deadLetters: this.#store.deadLetterCount,
      refused: this.#refused,
      maxRows: this.#options.maxRows,
      maxBytes: this.#options.maxBytes,
      lastError: this.#lastError,
      lastErrorKind: this.#lastErrorKind,
    };
  }

  /**
   * Accepts an insert: resolves once it is on disk (and, when nothing waits before it, after its first
   * attempt: `state` says whether it is in the database already). Rejects, queueing nothing, with
   * `UnstorableRowError` (a value PostgreSQL cannot store, a row over `maxRowBytes`), `OutboxFullError`
   * (`maxRows`/`maxBytes` reached) or `OutboxClosedError`; or with an Error naming the file (`cause`:
   * the SQLite error) if the commit failed (a full disk): the write was not accepted.
   *
   * @example
   * ```ts
   * const receipt = await outbox.insert('messages', { body: 'hi' }, { conversation: 'c-42' });
   * receipt.state; // 'stored' or 'queued'
   * ```
   */
  insert(table: string, row: Record<string, unknown>, options: WriteOptions = {}): Promise<OutboxReceipt> {
    return this.#accept('insert', table, row, options, null);
  }

  /**
   * Accepts an upsert (`supabase.from(table).upsert(row, { onConflict })`), replayed in order within
   * its conversation. Rejects like {@link SupabaseOutbox.insert}. See the README for the trigger that
   * keeps a late replay from overwriting a newer row.
   */
  upsert(table: string, row: Record<string, unknown>, options: UpsertOptions): Promise<OutboxReceipt> {
    const onConflict = (options as Partial<UpsertOptions> | undefined)?.onConflict;
    if (typeof onConflict !== 'string' || !onConflict.split(',').every((c) => COLUMN_NAME.test(c.trim()))) {
      return Promise.reject(new TypeError(`upsert: onConflict must be a comma list of column names (e.g. 'id' or 'tenant_id,slug'); got ${JSON.stringify(onConflict)}`));
    }
    return this.#accept('upsert', table, row, options, onConflict);
  }

  /** Tries to deliver what waits now (the breaker permitting); resolves when this round ends. */
  flush(): Promise<void> {
    this.#commitStaged();
    if (this.#retryTimer !== undefined) {
      clearTimeout(this.#retryTimer);
      this.#retryTimer = undefined;
    }
    this.#waiting = false;
    return this.#pump();
  }

  /** The dead letters (oldest first, at most `limit`, default 100): what was refused, and why. */
  deadLetters(limit = 100): DeadLetter[] {
    return this.#store.deadLetters(checkInteger('deadLetters: limit', limit, 1, 10_000));
  }

  /** Discards dead letters (all, or those with the given keys) once handled; returns how many. */
  discardDeadLetters(keys?: readonly string[]): number {
    // A string is iterable too: 'abc' would discard the letters a, b and c.
    if (keys !== undefined && (!Array.isArray(keys) || !keys.every((key) => typeof key === 'string'))) {
      throw new TypeError(`discardDeadLetters: keys must be an array of idempotency keys (or nothing, for all); got ${describeValue(keys)}`);
    }
    return this.#store.discardDeadLetters(keys);
  }

  /**
   * Stops accepting writes, commits those already accepted, lets a delivery in flight finish within
   * `timeoutMs` (default 5 000; past it the request is aborted and its rows stay queued: they are
   * replayed, without doubles, by the next process), and closes the file. Idempotent.
   */
  close({ timeoutMs = 5_000 }: { timeoutMs?: number } = {}): Promise<void> {
    checkDurationMs('close: timeoutMs', timeoutMs);
    // A second call waits for the first: its caller may exit, or open the file again, once it resolves.
    this.#closing ??= this.#close(timeoutMs);
    return this.#closing;
  }

  async #close(timeoutMs: number): Promise<void> {
    this.#commitStaged();
    this.#closed = true;
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    const pumping = this.#pumping;
    if (pumping !== undefined) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([pumping, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
      clearTimeout(timer);
      this.#abort?.abort(new OutboxClosedError('the outbox was closed'));
      await pumping;
    }
    this.#settleWaiters('queued');
    this.#metrics?.dispose();
    this.#store.close();
  }

  /** The same as {@link SupabaseOutbox.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #accept(op: WriteOperation, table: string, row: Record<string, unknown>, options: WriteOptions, onConflict: string | null): Promise<OutboxReceipt> {
    try {
      const entry = this.#prepare(op, table, row, options, onConflict);
      return new Promise<OutboxReceipt>((resolve, reject) => {
        this.#staged.push({ entry, resolve, reject });
        this.#stagedBytes += entry.bytes;
        this.#stagedKeys.add(entry.key);
        if (!this.#options.groupCommit) this.#commitStaged();
        else if (!this.#commitScheduled) {
          this.#commitScheduled = true;
          // One commit for every write of this turn of the event loop (group commit).
          setImmediate(() => this.#commitStaged());
        }
      });
    } catch (error) {
      if (OutboxError.isInstance(error)) {
        this.#refused++;
        this.#metrics?.recordRefused(error.code === 'OUTBOX_FULL' ? 'full' : error.code === 'OUTBOX_CLOSED' ? 'closed' : 'unstorable');
      }
      return Promise.reject(error);
    }
  }

  #prepare(op: WriteOperation, table: string, row: Record<string, unknown>, options: WriteOptions, onConflict: string | null): NewEntry {
    if (this.#closed) throw new OutboxClosedError(`outbox ${this.#options.name} is closed: no more writes are taken`);
    if (typeof table !== 'string' || !COLUMN_NAME.test(table)) throw new TypeError(`${op}: table must be a table name (letters, digits, _); got ${JSON.stringify(table)}`);
    const { keyColumn, orderColumn, maxRowBytes, maxRows, maxBytes } = this.#options;
    const conversation = options.conversation ?? '';
    if (typeof conversation !== 'string' || conversation.length > MAX_CONVERSATION || !conversation.isWellFormed() || conversation.includes('\u0000')) {
      throw new UnstorableRowError('conversation', `conversation must be a string of up to ${MAX_CONVERSATION} characters, without NUL or lone surrogates; got ${describe(conversation)}`);
    }
    if (typeof row !== 'object' || row === null || Array.isArray(row)) throw new UnstorableRowError('row', `the row must be a plain object (one row); got ${describe(row)}`);
    if (orderColumn !== null && Object.hasOwn(row, orderColumn)) throw new UnstorableRowError(`row.${orderColumn}`, `row.${orderColumn} is set by the outbox (orderColumn); leave it out`);
    const given = Object.hasOwn(row, keyColumn) ? row[keyColumn] : undefined;
    if (given !== undefined && options.key !== undefined && given !== options.key) {
      throw new UnstorableRowError(`row.${keyColumn}`, `row.${keyColumn} (${describe(given)}) and the key option (${describe(options.key)}) differ: give one`);
    }
    const key = options.key ?? given ?? randomUUID();
    if (typeof key !== 'string' || key === '' || key.length > MAX_KEY || !key.isWellFormed() || key.includes('\u0000')) {
      throw new UnstorableRowError('key', `the idempotency key must be a non-empty string of up to ${MAX_KEY} characters, without NUL or lone surrogates; got ${describe(key)}`);
    }
    if (this.#stagedKeys.has(key) || this.#store.has(key)) {
      throw new UnstorableRowError('key', `a write with idempotency key ${JSON.stringify(key)} is already waiting: one key is one write (give each write its own key)`);
    }
    const seq = this.#nextSeq();
    const full: Record<string, unknown> = { ...row, [keyColumn]: key };
    if (orderColumn !== null) full[orderColumn] = seq;
    const json = storableRowJson(full, maxRowBytes);
    const bytes = Buffer.byteLength(json, 'utf8');
    // Dead letters count against the caps: they are kept until handled, so a flood of refused rows
    // must fill the outbox (new writes refused, named) rather than the disk.
    const dead = this.#store.deadLetterCount;
    const rows = this.#store.rows + this.#staged.length;
    const kept = dead === 0 ? '' : ` and ${dead} dead letters are kept`;
    const advice = dead === 0 ? 'retry once Supabase is back and the outbox drains' : 'handle the dead letters (deadLetters(), discardDeadLetters()), or retry once the outbox drains';
    if (rows + dead + 1 > maxRows) throw new OutboxFullError('rows', `outbox ${this.#options.name} is full: ${rows} writes wait${kept} (maxRows ${maxRows}); refused, nothing was dropped — ${advice}`);
    const waiting = this.#store.bytes + this.#stagedBytes + this.#store.deadLetterBytes;
    if (waiting + bytes > maxBytes) {
      throw new OutboxFullError('bytes', `outbox ${this.#options.name} is full: ${waiting} bytes wait${kept} and this write has ${bytes} (maxBytes ${maxBytes}); refused, nothing was dropped — ${advice}`);
    }
    this.#lastSeq = seq;
    return { seq, key, conversation, table, op, onConflict, row: json, bytes, acceptedAt: this.#nowMs() };
  }

  /** Increases in acceptance order, also across restarts and a clock that steps back; microseconds-ish, so a lost file does not restart at 1. */
  #nextSeq(): number {
    const fromClock = Math.floor(this.#options.now()) * 1_000;
    // A clock far in the future (or NaN) must not push the sequence past exact integers: then it only counts.
    const seq = Number.isSafeInteger(fromClock) && fromClock < MAX_CLOCK_SEQ ? Math.max(this.#lastSeq + 1, fromClock) : this.#lastSeq + 1;
    if (!Number.isSafeInteger(seq)) throw new RangeError(`outbox ${this.#options.name}: sequence numbers exhausted (${this.#lastSeq}); move the outbox file aside once it is drained`);
    return seq;
  }

  /** The time as a whole number of ms (the file's columns are integers; a clock may give fractions, or NaN). */
  #nowMs(): number {
    const now = Math.floor(this.#options.now());
    return Number.isSafeInteger(now) ? now : 0;
  }

  #commitStaged(): void {
    this.#commitScheduled = false;
    if (this.#staged.length === 0) return;
    const staged = this.#staged;
    this.#staged = [];
    this.#stagedBytes = 0;
    this.#stagedKeys = new Set();
    try {
      this.#store.append(staged.map((s) => s.entry));
    } catch (error) {
      // Not on disk (a full disk, a read-only file): none of these writes was accepted.
      this.#refused += staged.length;
      const message = error instanceof Error ? error.message : String(error);
      const failure = new Error(`outbox ${this.#options.name}: the write could not be committed to ${this.#options.path} (${message}): it was not accepted, nothing was queued`, { cause: error });
      for (const s of staged) s.reject(failure);
      return;
    }
    // Nothing waits before them and no retry is pending: their first attempt comes now, and their
    // promises wait for it. Behind a backlog, they are "queued" at once.
    const backlog = this.#store.rows - staged.length;
    const attemptNow = !this.#waiting && backlog < this.#options.batchSize && !this.#breakerOpen();
    for (const s of staged) {
      const receipt = (state: OutboxReceipt['state']) => s.resolve({ key: s.entry.key, seq: s.entry.seq, state });
      if (attemptNow) this.#waiters.set(s.entry.seq, receipt);
      else receipt('queued');
    }
    this.#kick();
  }

  #breakerOpen(): boolean {
    const state = this.#options.breaker?.()?.state;
    return state === 'open' || state === 'forced_open';
  }

  #kick(): void {
    if (this.#closed || this.#waiting) return;
    void this.#pump();
  }

  #pump(): Promise<void> {
    if (this.#pumping !== undefined) {
      // Writes committed while a round runs: it goes round once more before it ends.
      this.#again = true;
      return this.#pumping;
    }
    const round = async (): Promise<void> => {
      try {
        do {
          this.#again = false;
          await this.#deliver();
        } while (this.#again && !this.#closed && !this.#waiting);
      } catch (error) {
        // The file failed under us (a full disk while removing delivered rows): they stay queued and
        // are sent again later, as duplicates the database ignores.
        this.#retryLater(`outbox file: ${error instanceof Error ? error.message : String(error)}`, 'attention');
      } finally {
        this.#pumping = undefined;
        this.#settleWaiters('queued');
      }
    };
    this.#pumping = round();
    return this.#pumping;
  }

  async #deliver(): Promise<void> {
    // Conversations held back: a write the deployment must fix (a missing column, a permission) waits
    // with the rest of its conversation, to keep their order, for retryIntervalMs; the others go on.
    // Hold deadlines on the monotonic clock: the wall clock (options.now) may step back an hour.
    const now = performance.now();
    let ended = false;
    for (const [conversation, until] of this.#held) {
      if (until > now) continue;
      this.#held.delete(conversation);
      ended = true;
    }
    if (ended || this.#held.size === 0) this.#heldThrough = 0;
    let after = this.#heldThrough;
    const live = (run: readonly Entry[]) => run.filter((entry) => !this.#held.has(entry.conversation));
    const hold = (run: readonly Entry[], failure: WriteFailure) => {
      for (const entry of run) this.#held.set(entry.conversation, performance.now() + this.#options.retryIntervalMs);
      this.#lastError = failure.reason;
      this.#lastErrorKind = 'attention';
    };
    while (!this.#closed) {
      if (this.#breakerOpen()) return this.#retryLater('the breaker is open', 'unavailable');
      // Held conversations are skipped inside SQLite: their rows never become JavaScript objects.
      const fetched = this.#store.next(after, this.#options.batchSize, this.#held.keys());
      if (fetched.length === 0) {
        this.#heldThrough = this.#held.size > 0 ? after : 0;
        break;
      }
      after = fetched.at(-1)!.seq;
      for (const candidates of runs(live(fetched))) {
        const run = live(candidates);
        if (run.length === 0) continue;
        const failure = await this.#send(run);
        if (failure === undefined) continue;
        if (failure.kind === 'retry') return this.#retryLater(failure.reason, failure.attention === true ? 'attention' : 'unavailable');
        if (failure.kind === 'held') {
          hold(run, failure);
          continue;
        }
        // Poison in a batch: send the rows one by one, so only the refused one is dead-lettered.
        for (const entry of run.length === 1 ? [] : run) {
          if (this.#held.has(entry.conversation)) continue;
          const single = await this.#send([entry]);
          if (single?.kind === 'retry') return this.#retryLater(single.reason, single.attention === true ? 'attention' : 'unavailable');
          if (single?.kind === 'held') hold([entry], single);
          else if (single !== undefined) this.#deadLetter(entry, single);
        }
        if (run.length === 1) this.#deadLetter(run[0]!, failure);
      }
    }
    // Held writes are tried again later; new writes (other conversations) go at once meanwhile.
    if (this.#held.size > 0 && this.#retryTimer === undefined && !this.#closed) {
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = undefined;
        this.#kick();
      }, this.#options.retryIntervalMs);
      this.#retryTimer.unref();
    }
  }

  /** Sends a run of writes of one table, operation and column set; undefined when they landed. */
  async #send(run: readonly Entry[]): Promise<WriteFailure | undefined> {
    const first = run[0]!;
    const { keyColumn, replayedColumn } = this.#options;
    const rows = run.map((entry) => {
      const row = JSON.parse(entry.row) as Record<string, unknown>;
      if (replayedColumn !== undefined && this.#isReplay(entry)) row[replayedColumn] = true;
      return row;
    });
    // Every insert, the first attempt too, is insert-ignore-duplicates on the key, never an overwrite:
    // a replay whose first attempt landed before its answer was lost, or a caller's key given twice, is
    // ignored. It also needs the key's unique constraint from the first write on: a table without it
    // is refused at once (42P10, named), instead of taking a key twice until the first replay.
    const how: RequestKind = first.op === 'insert' ? 'insert-ignore-duplicates' : 'upsert';
    const result = await this.#request(first, rows, how);
    // A batch too large for the server (413) is split like a poisoned one; a single row that large is poison.
    if (result.error !== null) return classifyWriteFailure(result.status, result.error);
    const landed = landedKeys(result.data, keyColumn);
    // A 2xx whose body is not the rows (a gateway answering for PostgREST): nothing proves the rows
    // landed, so they stay queued; replays are insert-ignore-duplicates, so if they did, no doubles.
    const sent = new Set<unknown>(run.map((entry) => entry.key));
    if (landed === undefined || [...landed].some((key) => !sent.has(key))) {
      return { kind: 'retry', attention: true, status: result.status, code: null, reason: `Supabase answered ${result.status} but the body is not the rows written (${describeBody(result.data)}): the writes stay queued` };
    }
    this.#store.remove(run);
    let replayed = 0;
    for (const entry of run) {
      const state = first.op === 'insert' && !landed.has(entry.key) ? 'duplicate' : 'stored';
      if (state === 'duplicate') this.#duplicates++;
      if (this.#isReplay(entry)) replayed++;
      this.#settle(entry.seq, state);
    }
    this.#delivered += run.length;
    this.#replayed += replayed;
    if (this.#held.size === 0) {
      this.#lastError = null;
      this.#lastErrorKind = null;
    }
    this.#metrics?.recordDelivered(run.length, replayed);
    return undefined;
  }

  async #request(first: Entry, rows: Record<string, unknown>[], how: RequestKind): Promise<SendResult> {
    const { supabase, keyColumn, requestTimeoutMs } = this.#options;
    const abort = new AbortController();
    this.#abort = abort;
    const signal = requestTimeoutMs === 0 ? abort.signal : AbortSignal.any([abort.signal, AbortSignal.timeout(requestTimeoutMs)]);
    try {
      const table = supabase.from(first.table);
      const query = how === 'insert-ignore-duplicates' ? table.upsert(rows, { onConflict: keyColumn, ignoreDuplicates: true }) : table.upsert(rows, { onConflict: first.onConflict! });
      return (await query.select(keyColumn).abortSignal(signal)) as SendResult;
    } catch (error) {
      // supabase-js results do not reject; a fetch of the caller's may.
      return { error: { message: error instanceof Error ? error.message : String(error) }, status: 0, data: null };
    } finally {
      this.#abort = undefined;
    }
  }

  /** A write its caller was told is `queued` (or an earlier process accepted): landing it now is a replay. */
  #isReplay(entry: Entry): boolean {
    return !this.#waiters.has(entry.seq);
  }

  #deadLetter(entry: Entry, failure: WriteFailure): void {
    this.#store.deadLetter(entry, failure.reason, failure.code, failure.status, this.#nowMs());
    this.#metrics?.recordDeadLettered();
    this.#settle(entry.seq, 'queued');
  }

  #retryLater(reason: string, kind: NonNullable<OutboxStats['lastErrorKind']>): void {
    this.#lastError = reason;
    this.#lastErrorKind = kind;
    this.#settleWaiters('queued');
    if (this.#closed) return;
    this.#waiting = true;
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#waiting = false;
      this.#kick();
    }, this.#options.retryIntervalMs);
    this.#retryTimer.unref();
  }

  #settle(seq: number, state: OutboxReceipt['state']): void {
    const waiter = this.#waiters.get(seq);
    if (waiter === undefined) return;
    this.#waiters.delete(seq);
    waiter(state);
  }

  #settleWaiters(state: OutboxReceipt['state']): void {
    for (const [seq, waiter] of this.#waiters) {
      this.#waiters.delete(seq);
      waiter(state);
    }
  }
}

type RequestKind = 'insert-ignore-duplicates' | 'upsert';

interface SendResult {
  readonly error: { code?: unknown; message?: unknown; details?: unknown; hint?: unknown } | null;
  readonly status: number;
  readonly data: unknown;
}

/**
 * Most bytes of rows in one request. PostgREST's gateways cap request bodies (the stand-in at 8 MiB);
 * 500 rows of up to 1 MiB each would pass any of them, and a refused batch is split row by row.
 */
const MAX_REQUEST_BYTES = 4 * 1_048_576;

/** Consecutive writes that go in one request: same table, operation, conflict target and columns, within MAX_REQUEST_BYTES. */
function runs(entries: readonly Entry[]): Entry[][] {
  const out: Entry[][] = [];
  let shape = '';
  let bytes = 0;
  // Upserts: the conflict values in the current run. PostgreSQL refuses an upsert that would update one
  // row twice in one statement (21000, "cannot affect row a second time"): a second write of a row starts
  // a new request, which also lands the writes in their order.
  let targets = new Set<string>();
  for (const entry of entries) {
    const row = JSON.parse(entry.row) as Record<string, unknown>;
    const columns = Object.keys(row).sort().join(',');
    const next = `${entry.table} ${entry.op} ${entry.onConflict ?? ''} ${columns}`;
    const target = entry.onConflict === null ? undefined : JSON.stringify(entry.onConflict.split(',').map((c) => row[c.trim()] ?? null));
    if (next === shape && bytes + entry.bytes <= MAX_REQUEST_BYTES && (target === undefined || !targets.has(target))) {
      out.at(-1)!.push(entry);
      bytes += entry.bytes;
    } else {
      out.push([entry]);
      bytes = entry.bytes;
      targets = new Set();
    }
    if (target !== undefined) targets.add(target);
    shape = next;
  }
  return out;
}

/** The keys of the rows a write answered with, or undefined when the answer is not rows. */
function landedKeys(data: unknown, keyColumn: string): Set<unknown> | undefined {
  if (!Array.isArray(data)) return undefined;
  const keys = new Set<unknown>();
  for (const row of data) {
    if (typeof row !== 'object' || row === null || typeof (row as Record<string, unknown>)[keyColumn] !== 'string') return undefined;
    keys.add((row as Record<string, unknown>)[keyColumn]);
  }
  return keys;
}

function describeBody(data: unknown): string {
  const text = typeof data === 'string' ? data : JSON.stringify(data) ?? String(data);
  return text.length > 100 ? `${text.slice(0, 100)}…` : text;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return value.length > 80 ? `a string of ${value.length} characters` : JSON.stringify(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}
