/**
 * What a failed write means for the outbox, from supabase-js's result (`{ error, status }`; results
 * never reject):
 *
 * - `poison`: the database refuses this row for good — a constraint (SQLSTATE class 23), invalid data
 *   (class 22: NUL, a bad escape, a value too long), a program limit (class 54: an index row too large,
 *   even though PostgREST answers 500), a trigger refusing it (class P0: `raise exception`, `assert`;
 *   class 09), a body PostgREST cannot read, a request too large.
 *   Retrying changes nothing; it goes to the dead letters so it never blocks the writes behind it.
 * - `held`: any other refusal (4xx but 408 and 429) — a missing table, column or permission (42xxx,
 *   401/403/404): the deployment's to fix (a migration not run yet, a key rotated). The write must land
 *   once it is fixed, not be thrown away; it waits with the rest of its conversation (their order), and
 *   the other conversations go on.
 * - `retry`: Supabase is not answering — no connection (status 0), a timeout, the breaker open (529),
 *   5xx, 408, 429. Everything waits and is tried again.
 */
export type FailureKind = 'poison' | 'held' | 'retry';

export interface WriteFailure {
  readonly kind: FailureKind;
  readonly status: number;
  readonly code: string | null;
  readonly reason: string;
  /** A failure no breaker sees (Supabase answered): someone must look. */
  readonly attention?: boolean;
}

/** Longest reason kept (a database's message can quote the whole row). */
const MAX_REASON = 1_000;

export function classifyWriteFailure(status: number, error: { code?: unknown; message?: unknown; details?: unknown; hint?: unknown }): WriteFailure {
  const code = typeof error.code === 'string' && error.code !== '' ? error.code : null;
  const parts = [error.message, error.details, error.hint].filter((p): p is string => typeof p === 'string' && p !== '');
  let reason = parts.join(' — ') || `HTTP ${status}`;
  if (reason.length > MAX_REASON) reason = `${reason.slice(0, MAX_REASON)}…`;
  return { kind: isPoison(status, code) ? 'poison' : isUnavailable(status) ? 'retry' : 'held', status, code, reason };
}

function isUnavailable(status: number): boolean {
  return status === 0 || status >= 500 || status === 408 || status === 429 || status < 400;
}

function isPoison(status: number, code: string | null): boolean {
  // Class 54, program limit exceeded (an index row too large, a statement too complex): PostgreSQL
  // answered, about this row, and will every time. PostgREST maps it to 500, which would otherwise
  // hold the whole queue behind it for ever. (Class 53, out of resources, is an outage: it waits.)
  // Class P0 (PL/pgSQL: a trigger's `raise exception` is P0001 and a 400, its `assert` P0004 and a 500)
  // and class 09 (triggered action exception): the table's own rules refuse this row.
  if (code !== null && status >= 400 && ['54', 'P0', '09'].includes(code.slice(0, 2))) return true;
  if (isUnavailable(status)) return false;
  if (status === 413) return true;
  if (code === null) return false;
  return code.startsWith('22') || code.startsWith('23') || code === 'PGRST102';
}
