/**
 * The outbox's options, checked when it is built: an invalid one throws a TypeError/RangeError naming
 * the option, the value and what is allowed. Nothing is clamped.
 */
import type { CircuitBreaker } from '@phlow/circuit-breaker';
import { checkDurationMs, checkFunction, checkInteger, checkKnownKeys, describeValue } from '@phlow/circuit-breaker/internal';
import type { Meter } from '@opentelemetry/api';
import type { SupabaseClient } from '@supabase/supabase-js';

/** Options of {@link SupabaseOutbox}. */
export interface SupabaseOutboxOptions {
  /** The client writes go through (a `@phlow/supabase` client, so they pass its breaker). */
  readonly supabase: SupabaseClient<any, any, any>;
  /** The SQLite file (created with its folder if missing). `':memory:'` keeps nothing across a crash: tests only. */
  readonly path: string;
  /** Name in metrics (`outbox` attribute) and messages. Default `'supabase'`. */
  readonly name?: string;
  /** Column holding each write's idempotency key (text, unique). Default `'idempotency_key'`. */
  readonly keyColumn?: string;
  /** Column given the write's sequence number (bigint; increases in acceptance order), or `null` for none. Default `'outbox_seq'`. */
  readonly orderColumn?: string | null;
  /** A boolean column set to `true` on rows written by a replay (not at their first attempt). Default: none. */
  readonly replayedColumn?: string;
  /** Most writes waiting, dead letters included; the next one is refused with `OutboxFullError`. Default 100 000. */
  readonly maxRows?: number;
  /** Most bytes (rows as JSON) waiting, dead letters included; the next write is refused with `OutboxFullError`. Default 64 MiB. */
  readonly maxBytes?: number;
  /** Largest row (as JSON) taken; a larger one is refused with `UnstorableRowError`. Default 1 MiB. */
  readonly maxRowBytes?: number;
  /** Most rows sent in one request while replaying. Default 500. */
  readonly batchSize?: number;
  /** Wait after a failed delivery (or while the breaker is open) before the next try. Default 1 000 ms. */
  readonly retryIntervalMs?: number;
  /** Bound of one delivery request (aborted past it; the rows stay queued). `0`: none. Default 10 000 ms. */
  readonly requestTimeoutMs?: number;
  /**
   * One durable commit for the writes of an event-loop turn (`true`), or one per write (`false`).
   * Either way a write is on disk before its promise resolves. Default `true`.
   */
  readonly groupCommit?: boolean;
  /** The breaker in front of the table (asked each time): while it is open, nothing is sent. */
  readonly breaker?: () => Pick<CircuitBreaker, 'state'> | undefined;
  /** Where the outbox's metrics go (`metrics.getMeter(...)` of `@opentelemetry/api`). Default: none. */
  readonly meter?: Meter;
  /** Time source (ms since the epoch) for sequence numbers and timestamps (waits use the monotonic clock). Default `Date.now`. */
  readonly now?: () => number;
}

export interface ResolvedOutboxOptions {
  readonly supabase: SupabaseClient<any, any, any>;
  readonly path: string;
  readonly name: string;
  readonly keyColumn: string;
  readonly orderColumn: string | null;
  readonly replayedColumn: string | undefined;
  readonly maxRows: number;
  readonly maxBytes: number;
  readonly maxRowBytes: number;
  readonly batchSize: number;
  readonly retryIntervalMs: number;
  readonly requestTimeoutMs: number;
  readonly groupCommit: boolean;
  readonly breaker: (() => Pick<CircuitBreaker, 'state'> | undefined) | undefined;
  readonly meter: Meter | undefined;
  readonly now: () => number;
}

const WHAT = '@phlow/supabase-outbox options';
const OPTION_NAMES = [
  'supabase', 'path', 'name', 'keyColumn', 'orderColumn', 'replayedColumn', 'maxRows', 'maxBytes', 'maxRowBytes',
  'batchSize', 'retryIntervalMs', 'requestTimeoutMs', 'groupCommit', 'breaker', 'meter', 'now',
] as const;

/** A PostgREST column name: what `?on_conflict=` and `?columns=` take without quoting. */
const COLUMN = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

function column(option: string, value: unknown): string {
  if (typeof value !== 'string' || !COLUMN.test(value)) {
    throw new TypeError(`${WHAT}: ${option} must be a column name (letters, digits, _; not starting with a digit; at most 63 characters); got ${describeValue(value)}`);
  }
  return value;
}

export function resolveOutboxOptions(options: SupabaseOutboxOptions): ResolvedOutboxOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError(`${WHAT} must be an object; got ${describeValue(options)}`);
  checkKnownKeys(WHAT, options, OPTION_NAMES);
  const { supabase, path } = options;
  if (typeof supabase !== 'object' || supabase === null || typeof (supabase as { from?: unknown }).from !== 'function') {
    throw new TypeError(`${WHAT}: supabase must be a supabase-js client (createClient(...)); got ${describeValue(supabase)}`);
  }
  if (typeof path !== 'string' || path === '' || path.includes('\u0000')) throw new TypeError(`${WHAT}: path must be a file path (or ':memory:'); got ${describeValue(path)}`);
  const name = options.name ?? 'supabase';
  if (typeof name !== 'string' || name === '' || name.length > 100) throw new TypeError(`${WHAT}: name must be a non-empty string of at most 100 characters; got ${describeValue(name)}`);
  const keyColumn = column(`${WHAT}: keyColumn`, options.keyColumn ?? 'idempotency_key');
  const orderColumn = options.orderColumn === null ? null : column(`${WHAT}: orderColumn`, options.orderColumn ?? 'outbox_seq');
  const replayedColumn = options.replayedColumn === undefined ? undefined : column(`${WHAT}: replayedColumn`, options.replayedColumn);
  const distinct = [keyColumn, orderColumn, replayedColumn].filter((c) => c !== null && c !== undefined);
  if (new Set(distinct).size !== distinct.length) throw new TypeError(`${WHAT}: keyColumn, orderColumn and replayedColumn must be different columns; got ${distinct.join(', ')}`);
  const maxRowBytes = checkInteger(`${WHAT}: maxRowBytes`, options.maxRowBytes ?? 1_048_576, 16, 8_000_000);
  const maxBytes = checkInteger(`${WHAT}: maxBytes`, options.maxBytes ?? 64 * 1_048_576, 1);
  if (maxBytes < maxRowBytes) throw new RangeError(`${WHAT}: maxBytes must be >= maxRowBytes (${maxRowBytes}), or no row of that size could ever be queued; got ${maxBytes}`);
  const groupCommit = options.groupCommit ?? true;
  if (typeof groupCommit !== 'boolean') throw new TypeError(`${WHAT}: groupCommit must be true or false; got ${describeValue(groupCommit)}`);
  const meter = options.meter;
  if (meter !== undefined && (typeof meter !== 'object' || meter === null || typeof (meter as { createCounter?: unknown }).createCounter !== 'function')) {
    throw new TypeError(`${WHAT}: meter must be an OpenTelemetry Meter (metrics.getMeter(...)); got ${describeValue(meter)}`);
  }
  return {
    supabase,
    path,
    name,
    keyColumn,
    orderColumn,
    replayedColumn,
    maxRows: checkInteger(`${WHAT}: maxRows`, options.maxRows ?? 100_000, 1),
    maxBytes,
    maxRowBytes,
    // PostgREST takes larger bodies, but one request per 1 000 rows already passes 1 000 rows/s; larger
    // batches only make a failing one costlier to split.
    batchSize: checkInteger(`${WHAT}: batchSize`, options.batchSize ?? 500, 1, 1_000),
    retryIntervalMs: checkDurationMs(`${WHAT}: retryIntervalMs`, options.retryIntervalMs ?? 1_000, 1),
    requestTimeoutMs: checkDurationMs(`${WHAT}: requestTimeoutMs`, options.requestTimeoutMs ?? 10_000),
    groupCommit,
    breaker: options.breaker === undefined ? undefined : checkFunction(`${WHAT}: breaker`, options.breaker),
    meter,
    now: options.now === undefined ? Date.now : checkFunction(`${WHAT}: now`, options.now),
  };
}

export { COLUMN as COLUMN_NAME };
