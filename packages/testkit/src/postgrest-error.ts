import type { DatabaseErrorFields } from './sql-backend.js';

/** The JSON body PostgREST sends with an error, which supabase-js hands back as `error`. */
export interface PostgrestErrorBody {
  readonly code: string;
  readonly message: string;
  readonly details: string | null;
  readonly hint: string | null;
}

/** An error answer of the PostgREST stand-in: an HTTP status and a PostgREST-shaped body. */
export class PostgrestHttpError extends Error {
  readonly status: number;
  readonly body: PostgrestErrorBody;

  constructor(status: number, code: string, message: string, details: string | null = null, hint: string | null = null) {
    super(message);
    this.name = 'PostgrestHttpError';
    this.status = status;
    this.body = { code, message, details, hint };
  }

  /** A request PostgREST cannot parse (PGRST100, 400). */
  static parse(message: string, details: string | null = null): PostgrestHttpError {
    return new PostgrestHttpError(400, 'PGRST100', message, details);
  }

  /** `.single()` (Accept: application/vnd.pgrst.object+json) with a row count other than one (PGRST116, 406). */
  static notOneRow(rows: number): PostgrestHttpError {
    return new PostgrestHttpError(
      406,
      'PGRST116',
      'JSON object requested, multiple (or no) rows returned',
      `The result contains ${rows} rows`,
    );
  }

  /** An unknown column in select, filter or order, reported as PostgreSQL's undefined_column (42703, 400). */
  static undefinedColumn(table: string, column: string): PostgrestHttpError {
    return new PostgrestHttpError(400, '42703', `column ${table}.${column} does not exist`);
  }

  /** An unknown column in a request body (PGRST204, 400). */
  static bodyColumn(table: string, column: string): PostgrestHttpError {
    return new PostgrestHttpError(400, 'PGRST204', `Could not find the '${column}' column of '${table}' in the schema cache`);
  }

  /** An unknown table (PGRST205, 404). */
  static unknownTable(schema: string, table: string): PostgrestHttpError {
    return new PostgrestHttpError(404, 'PGRST205', `Could not find the table '${schema}.${table}' in the schema cache`);
  }

  /** A PostgreSQL error forwarded with PostgREST's status mapping. */
  static fromDatabase(error: DatabaseErrorFields): PostgrestHttpError {
    return new PostgrestHttpError(statusForSqlState(error.code), error.code, error.message, error.detail ?? null, error.hint ?? null);
  }
}

/**
 * PostgREST's translation of SQLSTATE codes to HTTP statuses (its "HTTP Status Codes" table): the specific
 * codes first, then the classes, and 400 for everything else.
 */
export function statusForSqlState(code: string): number {
  const exact: Readonly<Record<string, number>> = {
    '23503': 409,
    '23505': 409,
    '25006': 405,
    '53400': 500,
    '42883': 404,
    '42P01': 404,
    '42P17': 500,
    '42501': 403,
    P0001: 400,
  };
  const byCode = exact[code];
  if (byCode !== undefined) return byCode;
  const byClass: Readonly<Record<string, number>> = {
    '08': 503,
    '09': 500,
    '0L': 403,
    '0P': 403,
    '25': 500,
    '28': 403,
    '2D': 500,
    '38': 500,
    '39': 500,
    '3B': 500,
    '40': 500,
    '53': 503,
    '54': 500,
    '55': 500,
    '57': 500,
    '58': 500,
    F0: 500,
    HV: 500,
    P0: 500,
    XX: 500,
  };
  return byClass[code.slice(0, 2)] ?? 400;
}
