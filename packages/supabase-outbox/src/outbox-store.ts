/**
 * The outbox on disk: a `node:sqlite` database (WAL, synchronous=FULL, so a committed write survives a
 * crash and a power cut) with the waiting writes and the dead letters. Synchronous by nature: each
 * method runs to completion on the calling thread; the outbox groups writes so one commit covers many.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { createRequire } from 'node:module';
import type { DatabaseSync, StatementSync } from 'node:sqlite';

/** What a write is, as stored. */
export type WriteOperation = 'insert' | 'upsert';

export interface NewEntry {
  readonly seq: number;
  readonly key: string;
  readonly conversation: string;
  readonly table: string;
  readonly op: WriteOperation;
  /** Upserts: the conflict target (comma list of columns). */
  readonly onConflict: string | null;
  /** The row as JSON (the key and order columns already in it). */
  readonly row: string;
  readonly bytes: number;
  readonly acceptedAt: number;
}

export type Entry = NewEntry;

/** A write Supabase refused for good, kept with its reason. */
export interface DeadLetter {
  readonly key: string;
  readonly conversation: string;
  readonly table: string;
  readonly operation: WriteOperation;
  /** The row as it was queued. */
  readonly row: Record<string, unknown>;
  /** The database's answer: message (and details). */
  readonly reason: string;
  /** PostgreSQL's SQLSTATE or PostgREST's code, when there was one. */
  readonly code: string | null;
  readonly status: number;
  readonly acceptedAt: number;
  readonly deadAt: number;
}

const SCHEMA = `
create table if not exists outbox (
  seq integer primary key,
  key text not null unique,
  conversation text not null,
  tbl text not null,
  op text not null,
  on_conflict text,
  row text not null,
  bytes integer not null,
  accepted_at integer not null
) strict;
create table if not exists dead_letters (
  seq integer primary key,
  key text not null,
  conversation text not null,
  tbl text not null,
  op text not null,
  on_conflict text,
  row text not null,
  reason text not null,
  code text,
  status integer not null,
  accepted_at integer not null,
  dead_at integer not null
) strict;
create table if not exists meta (name text primary key, value integer not null) strict;
`;

// node:sqlite through require: Node 22 warns once that it is experimental, and an ES import of it would
// make every importer of this package load it (and warn) even when no outbox is opened.
const require = createRequire(import.meta.url);

export class OutboxStore {
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync;
  readonly #delete: StatementSync;
  readonly #deadLetter: StatementSync;
  readonly #setLastSeq: StatementSync;
  readonly #has: StatementSync;
  readonly #next: StatementSync;
  #rows = 0;
  #bytes = 0;
  #deadLetters = 0;
  #deadLetterBytes = 0;
  #lastSeq = 0;
  #closed = false;

  constructor(path: string) {
    try {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    } catch (error) {
      throw fileError(path, error);
    }
    const { DatabaseSync } = require('node:sqlite') as typeof import('node:sqlite');
    try {
      this.#db = new DatabaseSync(path);
    } catch (error) {
      throw fileError(path, error);
    }
    try {
      // One outbox per file: a second one (another process, or one not closed) would replay the same
      // rows concurrently, give the same sequence numbers and count wrong. The exclusive lock is taken
      // by the first write below and held until close; the OS drops it when the process dies (SIGKILL).
      this.#db.exec('pragma locking_mode = exclusive; pragma journal_mode = wal; pragma synchronous = full;');
      this.#db.exec('begin immediate');
      this.#db.exec(SCHEMA);
      this.#db.exec('commit');
    } catch (error) {
      this.#db.close();
      throw fileError(path, error);
    }
    this.#insert = this.#db.prepare('insert into outbox (seq, key, conversation, tbl, op, on_conflict, row, bytes, accepted_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)');
    this.#delete = this.#db.prepare('delete from outbox where seq = ?');
    this.#deadLetter = this.#db.prepare(
      'insert or replace into dead_letters (seq, key, conversation, tbl, op, on_conflict, row, reason, code, status, accepted_at, dead_at) select seq, key, conversation, tbl, op, on_conflict, row, ?, ?, ?, accepted_at, ? from outbox where seq = ?',
    );
    this.#has = this.#db.prepare('select 1 from outbox where key = ?');
    this.#next = this.#db.prepare('select * from outbox where seq > ? and conversation not in (select value from json_each(?)) order by seq limit ?');
    this.#setLastSeq = this.#db.prepare("insert into meta (name, value) values ('last_seq', ?) on conflict (name) do update set value = excluded.value");
    try {
      const totals = this.#db.prepare('select count(*) as n, coalesce(sum(bytes), 0) as b, coalesce(max(seq), 0) as m from outbox').get() as { n: number; b: number; m: number };
      this.#rows = totals.n;
      this.#bytes = totals.b;
      const dead = this.#db.prepare('select count(*) as n, coalesce(sum(length(cast(row as blob))), 0) as b from dead_letters').get() as { n: number; b: number };
      this.#deadLetters = dead.n;
      this.#deadLetterBytes = dead.b;
      const last = this.#db.prepare("select value from meta where name = 'last_seq'").get() as { value: number } | undefined;
      this.#lastSeq = Math.max(totals.m, last?.value ?? 0);
    } catch (error) {
      this.#db.close();
      throw fileError(path, error);
    }
  }

  get rows(): number {
    return this.#rows;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get deadLetterCount(): number {
    return this.#deadLetters;
  }

  /** Bytes of the dead letters' rows (as JSON). */
  get deadLetterBytes(): number {
    return this.#deadLetterBytes;
  }

  /** The highest sequence number ever given (kept across restarts, also once its row is gone). */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** Appends writes in one durable transaction: all are on disk when this returns, or none (it throws). */
  append(entries: readonly NewEntry[]): void {
    if (entries.length === 0) return;
    this.#transaction(() => {
      for (const e of entries) this.#insert.run(e.seq, e.key, e.conversation, e.table, e.op, e.onConflict, e.row, e.bytes, e.acceptedAt);
      this.#setLastSeq.run(entries.at(-1)!.seq);
    });
    this.#rows += entries.length;
    for (const e of entries) this.#bytes += e.bytes;
    this.#lastSeq = entries.at(-1)!.seq;
  }

  /** Is a write with this key waiting? */
  has(key: string): boolean {
    return this.#has.get(key) !== undefined;
  }

  /** Up to `limit` waiting writes after `afterSeq`, oldest first, but those of the `skip` conversations. */
  next(afterSeq: number, limit: number, skip: Iterable<string> = []): Entry[] {
    const rows = this.#next.all(afterSeq, JSON.stringify([...skip]), limit) as unknown as StoredRow[];
    return rows.map((r) => ({
      seq: r.seq,
      key: r.key,
      conversation: r.conversation,
      table: r.tbl,
      op: r.op as WriteOperation,
      onConflict: r.on_conflict,
      row: r.row,
      bytes: r.bytes,
      acceptedAt: r.accepted_at,
    }));
  }

  /** Removes delivered writes, in one durable transaction. */
  remove(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    this.#transaction(() => {
      for (const e of entries) this.#delete.run(e.seq);
    });
    this.#rows -= entries.length;
    for (const e of entries) this.#bytes -= e.bytes;
  }

  /** Moves a write to the dead letters with the database's answer, in one durable transaction. */
  deadLetter(entry: Entry, reason: string, code: string | null, status: number, now: number): void {
    this.#transaction(() => {
      this.#deadLetter.run(reason, code, status, now, entry.seq);
      this.#delete.run(entry.seq);
    });
    this.#rows -= 1;
    this.#bytes -= entry.bytes;
    this.#deadLetters += 1;
    this.#deadLetterBytes += entry.bytes;
  }

  /** The dead letters, oldest first. */
  deadLetters(limit: number): DeadLetter[] {
    const rows = this.#db.prepare('select * from dead_letters order by seq limit ?').all(limit) as unknown as (StoredRow & { reason: string; code: string | null; status: number; dead_at: number })[];
    return rows.map((r) => ({
      key: r.key,
      conversation: r.conversation,
      table: r.tbl,
      operation: r.op as WriteOperation,
      row: JSON.parse(r.row) as Record<string, unknown>,
      reason: r.reason,
      code: r.code,
      status: r.status,
      acceptedAt: r.accepted_at,
      deadAt: r.dead_at,
    }));
  }

  /** Deletes dead letters (all, or those with the given keys); returns how many. */
  discardDeadLetters(keys?: readonly string[]): number {
    let removed = 0;
    let bytes = 0;
    const size = 'coalesce(sum(length(cast(row as blob))), 0) as b';
    this.#transaction(() => {
      if (keys === undefined) {
        bytes = (this.#db.prepare(`select ${size} from dead_letters`).get() as { b: number }).b;
        removed = Number(this.#db.prepare('delete from dead_letters').run().changes);
      } else {
        for (const key of keys) {
          bytes += (this.#db.prepare(`select ${size} from dead_letters where key = ?`).get(key) as { b: number }).b;
          removed += Number(this.#db.prepare('delete from dead_letters where key = ?').run(key).changes);
        }
      }
    });
    this.#deadLetters -= removed;
    this.#deadLetterBytes -= bytes;
    return removed;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }

  #transaction(work: () => void): void {
    this.#db.exec('begin immediate');
    try {
      work();
      this.#db.exec('commit');
    } catch (error) {
      try {
        this.#db.exec('rollback');
      } catch {
        // SQLite already rolled the transaction back (a full disk does): nothing left to undo.
      }
      throw error;
    }
  }
}

/**
 * An error opening the file, naming it and what to do: a file that cannot be read is never replaced
 * by an empty one, since it may hold writes a caller was told were accepted.
 */
function fileError(path: string, error: unknown): Error {
  const sqlite = error as { message?: unknown; errcode?: unknown };
  const message = typeof sqlite.message === 'string' ? sqlite.message : String(error);
  // SQLITE_BUSY (5) / SQLITE_LOCKED (6): the exclusive lock of another open outbox.
  if (sqlite.errcode === 5 || sqlite.errcode === 6) {
    return new Error(`outbox file ${path} is in use by another outbox (another process, or an outbox of this one not closed): one outbox per file (${message})`, { cause: error });
  }
  // SQLITE_CORRUPT (11) / SQLITE_NOTADB (26): damaged or not ours.
  const hint = sqlite.errcode === 11 || sqlite.errcode === 26 ? ': damaged or not an outbox file; it may hold accepted writes, so it is not replaced — move it aside (and recover it with sqlite3 .recover) to start with an empty outbox' : '';
  return new Error(`outbox file ${path} cannot be opened: ${message}${hint}`, { cause: error });
}

interface StoredRow {
  seq: number;
  key: string;
  conversation: string;
  tbl: string;
  op: string;
  on_conflict: string | null;
  row: string;
  bytes: number;
  accepted_at: number;
}
