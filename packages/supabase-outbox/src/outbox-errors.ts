/**
 * What the outbox refuses, and why. Each error is refused before anything was queued: a caller who gets
 * one was not told "accepted", so nothing was promised. Recognised across duplicate package copies by a
 * `Symbol.for` marker (`isInstance`), not only by `instanceof`.
 */
const MARKER = Symbol.for('@phlow/supabase-outbox/error');

/** Base of the outbox's refusals. `code` tells them apart without `instanceof`. */
export class OutboxError extends Error {
  /** `OUTBOX_FULL`, `OUTBOX_UNSTORABLE` or `OUTBOX_CLOSED`. */
  readonly code: 'OUTBOX_FULL' | 'OUTBOX_UNSTORABLE' | 'OUTBOX_CLOSED';

  constructor(code: OutboxError['code'], message: string) {
    super(message);
    this.name = 'OutboxError';
    this.code = code;
    Object.defineProperty(this, MARKER, { value: true });
  }

  /** True for an outbox error of any copy of this package. */
  static isInstance(value: unknown): value is OutboxError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MARKER] === true;
  }
}

/** The outbox holds `maxRows` rows or `maxBytes` bytes already: the write is refused, nothing is dropped. */
export class OutboxFullError extends OutboxError {
  /** Which cap was reached. */
  readonly limit: 'rows' | 'bytes';

  constructor(limit: 'rows' | 'bytes', message: string) {
    super('OUTBOX_FULL', message);
    this.name = 'OutboxFullError';
    this.limit = limit;
  }
}

/** The row holds something PostgreSQL cannot store (a NUL character, a lone surrogate, NaN, ...), or is too large. */
export class UnstorableRowError extends OutboxError {
  /** Where in the row: `row.reply`, `row.meta.tags[2]`, or `row` for the whole row. */
  readonly path: string;

  constructor(path: string, message: string) {
    super('OUTBOX_UNSTORABLE', message);
    this.name = 'UnstorableRowError';
    this.path = path;
  }
}

/** The outbox was closed: writes after `close()` are refused. */
export class OutboxClosedError extends OutboxError {
  constructor(message: string) {
    super('OUTBOX_CLOSED', message);
    this.name = 'OutboxClosedError';
  }
}
