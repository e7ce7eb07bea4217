/** Runs parameterised SQL: `$1`, `$2`... are bound to `params`, never spliced into the text. */
export interface SqlExecutor {
  query(sql: string, params?: readonly unknown[]): Promise<Record<string, unknown>[]>;
}

/** A SQL database behind the Supabase stand-in: PGlite in-process or a PostgreSQL server. */
export interface SqlBackend extends SqlExecutor {
  /** Which engine this is, for messages. */
  readonly kind: 'pglite' | 'postgres';
  /** Runs a script of several statements without parameters (a schema file). */
  exec(sql: string): Promise<void>;
  /** Runs `work` in one transaction on one connection; a throw rolls it back. */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Releases the engine (closes PGlite / ends the pool). */
  close(): Promise<void>;
}

/** The fields of a PostgreSQL error that PostgREST forwards; pg and PGlite both put them on the error. */
export interface DatabaseErrorFields {
  readonly code: string;
  readonly message: string;
  readonly detail?: string | undefined;
  readonly hint?: string | undefined;
}

/** True for errors raised by PostgreSQL itself (they carry a five-character SQLSTATE `code`). */
export function isDatabaseError(error: unknown): error is DatabaseErrorFields {
  const code = error instanceof Error ? (error as Error & { code?: unknown }).code : undefined;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
}
