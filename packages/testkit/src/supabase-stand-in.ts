import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';
import { Emitter, type Disposable } from './disposable.js';
import { close, listen, urlHost } from './listen.js';
import { checkHost, checkPort, typeError } from './option-errors.js';
import { createPgliteBackend } from './pglite-backend.js';
import { createPostgresBackend } from './postgres-backend.js';
import { PostgrestHttpError } from './postgrest-error.js';
import {
  SqlParams,
  conflictColumns,
  nonNegativeInteger,
  orderClause,
  parsePrefer,
  payloadColumns,
  quoteIdent,
  selectList,
  whereClause,
  type Preferences,
} from './postgrest-query.js';
import { SchemaCache, type TableInfo } from './schema-cache.js';
import { isDatabaseError, type SqlBackend, type SqlExecutor } from './sql-backend.js';

const COMPONENT = 'SupabaseStandIn';
const REST_PREFIX = '/rest/v1/';
const MAX_BODY_BYTES = 8 * 1024 * 1024;
const SINGLE_MEDIA_TYPE = 'application/vnd.pgrst.object+json';

/** Options of a {@link SupabaseStandIn}. */
export interface SupabaseStandInOptions {
  /** SQL run once at start (CREATE TABLE ...). */
  readonly schemaSql?: string;
  /** Path of a SQL file run once at start, after `schemaSql`. */
  readonly schemaFile?: string;
  /**
   * A PostgreSQL URL (e.g. `postgres://postgres@127.0.0.1:5432/test`) to use instead of the embedded PGlite.
   * The stand-in does not create or drop the database; use `dbSchema` to keep tests apart.
   */
  readonly databaseUrl?: string;
  /** An existing PGlite instance to use (and not close); creating one takes about 3 s. */
  readonly pglite?: PGlite;
  /** The schema exposed as the REST API, like PostgREST's `db-schemas`. Default `'public'`. */
  readonly dbSchema?: string;
  /** When set, requests must carry this `apikey` header (as supabase-js sends its key), else 401. */
  readonly apiKey?: string;
  /** Address to listen on. Default `'127.0.0.1'`. */
  readonly host?: string;
  /** Port to listen on; 0 (the default) takes a free one. */
  readonly port?: number;
}

/** Emitted by {@link SupabaseStandIn.onRequest} for every HTTP request once it was answered. */
export interface StandInRequestEvent {
  readonly method: string;
  /** Path and query, e.g. `/rest/v1/agents?select=id&id=eq.1`. */
  readonly url: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly status: number;
}

interface Outcome {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body?: string;
}

interface Result {
  readonly n: number;
  readonly body: string;
  readonly first: string | null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A local stand-in for a Supabase project's REST API (PostgREST dialect) over real SQL, so the real
 * `@supabase/supabase-js` client runs against it: `createClient(standIn.url, 'any-key', ...)`.
 * Backed by PGlite (embedded, the default) or a PostgreSQL server (`databaseUrl`).
 * See the README for the subset of PostgREST it covers.
 *
 * @example
 * ```ts
 * const supabase = new SupabaseStandIn({ schemaSql: 'create table agents (id text primary key, name text)' });
 * await supabase.start();
 * const client = createClient(supabase.url, 'key');
 * await client.from('agents').insert({ id: 'a1', name: 'Ada' });
 * await supabase.stop();
 * ```
 */
export class SupabaseStandIn {
  readonly #options: SupabaseStandInOptions;
  readonly #host: string;
  #port: number;
  readonly #schema: SchemaCache;
  #db: SqlBackend | undefined;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #state: 'new' | 'starting' | 'started' | 'stopped' = 'new';
  readonly #requests = new Emitter<StandInRequestEvent>();

  constructor(options: SupabaseStandInOptions = {}) {
    if (typeof options !== 'object' || options === null) throw typeError(COMPONENT, 'options', options, 'an object');
    for (const key of ['schemaSql', 'schemaFile', 'databaseUrl', 'apiKey'] as const) {
      const value = options[key];
      if (value !== undefined && typeof value !== 'string') throw typeError(COMPONENT, key, value, 'a string');
    }
    if (options.databaseUrl !== undefined && options.pglite !== undefined) {
      throw typeError(COMPONENT, 'pglite', 'a PGlite instance', 'absent when "databaseUrl" is set (choose one database)');
    }
    if (options.databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(options.databaseUrl)) {
      throw typeError(COMPONENT, 'databaseUrl', options.databaseUrl, 'a postgres:// or postgresql:// URL');
    }
    const dbSchema = options.dbSchema ?? 'public';
    if (typeof dbSchema !== 'string' || dbSchema === '') throw typeError(COMPONENT, 'dbSchema', dbSchema, 'a non-empty schema name');
    this.#options = options;
    this.#host = options.host === undefined ? '127.0.0.1' : checkHost(COMPONENT, 'host', options.host);
    this.#port = options.port === undefined ? 0 : checkPort(COMPONENT, 'port', options.port);
    this.#schema = new SchemaCache(dbSchema);
    this.#server = createServer((req, res) => void this.#handle(req, res));
    this.#server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
  }

  /** Opens the database, runs the schema SQL, reads the schema cache and starts listening. */
  async start(): Promise<void> {
    if (this.#state !== 'new') throw new Error(`${COMPONENT}: start() called on a stand-in that is ${this.#state}`);
    this.#state = 'starting';
    const { databaseUrl, pglite, schemaSql, schemaFile } = this.#options;
    this.#db = databaseUrl === undefined ? await createPgliteBackend(pglite) : createPostgresBackend(databaseUrl);
    try {
      if (schemaSql !== undefined) await this.#db.exec(schemaSql);
      if (schemaFile !== undefined) await this.#db.exec(await readFile(schemaFile, 'utf8'));
      await this.#schema.reload(this.#db);
      this.#port = await listen(this.#server, this.#port, this.#host);
    } catch (error) {
      await this.#db.close().catch(() => undefined);
      this.#state = 'stopped';
      throw error;
    }
    this.#state = 'started';
  }

  /** Closes every connection, the listener and the database (unless it was handed in). Idempotent. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    for (const socket of this.#sockets) socket.destroy();
    await close(this.#server);
    await this.#db?.close();
  }

  /** The same as {@link SupabaseStandIn.stop}, so `await using` stops it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /** The project URL to give `createClient` (`http://127.0.0.1:<port>`); REST lives under `/rest/v1`. */
  get url(): string {
    return `http://${urlHost(this.#host)}:${this.#port}`;
  }

  /** The port listened on. */
  get port(): number {
    return this.#port;
  }

  /** Which database engine backs the stand-in. */
  get databaseKind(): 'pglite' | 'postgres' {
    return this.#database().kind;
  }

  /** Runs SQL directly (to seed or inspect a table). DDL through here refreshes the schema cache. */
  async query(sql: string, params: readonly unknown[] = []): Promise<Record<string, unknown>[]> {
    const rows = await this.#database().query(sql, params);
    if (/^\s*(create|alter|drop|comment)\b/i.test(sql)) await this.reloadSchema();
    return rows;
  }

  /** Re-reads tables and columns after schema changes made behind the stand-in's back. */
  reloadSchema(): Promise<void> {
    return this.#schema.reload(this.#database());
  }

  /** Calls `listener` for every request once it was answered (e.g. to check forwarded `traceparent` headers). */
  onRequest(listener: (event: StandInRequestEvent) => void): Disposable {
    return this.#requests.subscribe(listener);
  }

  #database(): SqlBackend {
    if (this.#db === undefined) throw new Error(`${COMPONENT}: call start() first`);
    return this.#db;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let outcome: Outcome;
    try {
      outcome = await this.#route(req);
    } catch (error) {
      outcome = this.#errorOutcome(error);
    }
    res.writeHead(outcome.status, outcome.headers);
    res.end(outcome.body);
    this.#requests.emit({ method: req.method ?? 'GET', url: req.url ?? '/', headers: { ...req.headers }, status: outcome.status });
  }

  #errorOutcome(error: unknown): Outcome {
    const http = error instanceof PostgrestHttpError
      ? error
      : isDatabaseError(error)
        ? PostgrestHttpError.fromDatabase(error)
        : new PostgrestHttpError(500, 'PGRST000', error instanceof Error ? error.message : String(error));
    return { status: http.status, headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(http.body) };
  }

  async #route(req: IncomingMessage): Promise<Outcome> {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const apiKey = this.#options.apiKey;
    if (apiKey !== undefined && req.headers['apikey'] !== apiKey) {
      return {
        status: 401,
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify({ message: 'Invalid API key', hint: 'Double check your Supabase `anon` or `service_role` API key.' }),
      };
    }
    if (!url.pathname.startsWith(REST_PREFIX)) {
      return {
        status: 404,
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify({ message: `no route for ${url.pathname}: the @phlow/testkit stand-in serves the REST API under ${REST_PREFIX}` }),
      };
    }
    const tableName = decodeURIComponent(url.pathname.slice(REST_PREFIX.length));
    if (tableName.startsWith('rpc/')) {
      throw new PostgrestHttpError(404, 'PGRST202', `Could not find the function ${this.#schema.schema}.${tableName.slice(4)} in the schema cache`, 'RPC is not supported by the @phlow/testkit stand-in');
    }
    const profile = req.headers['accept-profile'] ?? req.headers['content-profile'];
    if (profile !== undefined && profile !== this.#schema.schema) {
      throw new PostgrestHttpError(406, 'PGRST106', 'Invalid schema: ' + String(profile), `Only the following schemas are exposed: ${this.#schema.schema}`);
    }
    const table = await this.#table(tableName);
    const accept = req.headers['accept'] ?? '';
    const single = accept.includes(SINGLE_MEDIA_TYPE);
    const stripNulls = accept.includes('nulls=stripped');
    const prefer = parsePrefer(req.headers['prefer']);
    const method = req.method ?? 'GET';
    switch (method) {
      case 'GET':
      case 'HEAD':
        return this.#read(table, url.searchParams, prefer, single, stripNulls, method === 'HEAD');
      case 'POST':
      case 'PATCH':
      case 'DELETE':
        return this.#write(method, table, url.searchParams, prefer, single, stripNulls, method === 'DELETE' ? undefined : await readBody(req));
      default:
        throw new PostgrestHttpError(405, 'PGRST117', `Unsupported HTTP method: ${method}`);
    }
  }

  async #table(name: string): Promise<TableInfo> {
    const known = this.#schema.table(name);
    if (known !== undefined) return known;
    // Like PostgREST after a schema reload: a table created since start() becomes visible.
    await this.#schema.reload(this.#database());
    const table = this.#schema.table(name);
    if (table === undefined) throw PostgrestHttpError.unknownTable(this.#schema.schema, name);
    return table;
  }

  #qualified(table: TableInfo): string {
    return `${quoteIdent(this.#schema.schema)}.${quoteIdent(table.name)}`;
  }

  async #read(table: TableInfo, query: URLSearchParams, prefer: Preferences, single: boolean, stripNulls: boolean, head: boolean): Promise<Outcome> {
    const params = new SqlParams();
    const from = this.#qualified(table);
    const projection = selectList(query.get('select'), table);
    const where = whereClause(query, table, from, params);
    const limit = nonNegativeInteger('limit', query.get('limit'));
    const offset = nonNegativeInteger('offset', query.get('offset')) ?? 0;
    const inner = `select ${projection} from ${from}${where}${orderClause(query.get('order'), table)}${limit === undefined ? '' : ` limit ${limit}`}${offset === 0 ? '' : ` offset ${offset}`}`;
    const db = this.#database();
    const result = await aggregate(db, inner, params.values, stripNulls);
    let total: number | undefined;
    if (prefer.count) {
      const rows = await db.query(`select count(*)::int as total from ${from}${where}`, params.values);
      total = Number(rows[0]?.['total'] ?? 0);
    }
    if (single && result.n !== 1) throw PostgrestHttpError.notOneRow(result.n);
    const range = result.n === 0 ? `*/${total ?? '*'}` : `${offset}-${offset + result.n - 1}/${total ?? '*'}`;
    const partial = total !== undefined && result.n > 0 && (offset > 0 || offset + result.n < total);
    return {
      status: partial ? 206 : 200,
      headers: {
        'content-type': `${single ? SINGLE_MEDIA_TYPE : 'application/json'}; charset=utf-8`,
        'content-range': range,
        'range-unit': 'items',
      },
      ...(head ? {} : { body: single ? (result.first ?? 'null') : result.body }),
    };
  }

  async #write(
    method: 'POST' | 'PATCH' | 'DELETE',
    table: TableInfo,
    query: URLSearchParams,
    prefer: Preferences,
    single: boolean,
    stripNulls: boolean,
    body: unknown,
  ): Promise<Outcome> {
    const params = new SqlParams();
    const target = this.#qualified(table);
    const projection = selectList(query.get('select'), table);
    let mutation: string;
    if (method === 'POST') {
      const rows = Array.isArray(body) ? body : [body];
      if (!rows.every(isObject)) throw new PostgrestHttpError(400, 'PGRST102', 'All object keys must match', 'the body must be a JSON object or an array of objects');
      if (rows.length === 0) return this.#writeOutcome(method, prefer, single, { n: 0, body: '[]', first: null });
      const columns = payloadColumns(query.get('columns'), rows, table);
      const list = columns.map(quoteIdent).join(', ');
      if (columns.length === 0) {
        if (rows.length > 1) throw PostgrestHttpError.parse('"cannot insert several rows without any column"', 'not supported by the @phlow/testkit stand-in');
        mutation = `insert into ${target} default values`;
      } else {
        // json_populate_recordset converts each JSON value to the column's type, as PostgREST itself does.
        mutation = `insert into ${target} (${list}) select ${list} from json_populate_recordset(null::${target}, ${params.add(JSON.stringify(rows))}::json)`;
      }
      if (prefer.resolution !== undefined) {
        const keys = conflictColumns(query.get('on_conflict'), table).map(quoteIdent).join(', ');
        const updates = columns.map((column) => `${quoteIdent(column)} = excluded.${quoteIdent(column)}`);
        mutation +=
          prefer.resolution === 'ignore-duplicates' || updates.length === 0
            ? ` on conflict (${keys}) do nothing`
            : ` on conflict (${keys}) do update set ${updates.join(', ')}`;
      }
      mutation += ' returning *';
    } else if (method === 'PATCH') {
      if (!isObject(body)) throw new PostgrestHttpError(400, 'PGRST102', 'Empty or invalid json', 'the body of an update must be a JSON object');
      const columns = payloadColumns(query.get('columns'), [body], table);
      const where = whereClause(query, table, target, params);
      if (columns.length === 0) {
        // Nothing to set: answer with the matching rows unchanged, as an update that changes nothing would.
        mutation = `select * from ${target}${where}`;
      } else {
        const bodyParam = params.add(JSON.stringify(body));
        const sets = columns.map((column) => `${quoteIdent(column)} = pgrst_body.${quoteIdent(column)}`).join(', ');
        mutation = `update ${target} set ${sets} from json_populate_record(null::${target}, ${bodyParam}::json) as pgrst_body${where} returning ${target}.*`;
      }
    } else {
      mutation = `delete from ${target}${whereClause(query, table, target, params)} returning *`;
    }
    const inner = `select ${projection} from pgrst_rows`;
    const result = await this.#database().transaction(async (tx) => {
      const outcome = await aggregate(tx, inner, params.values, stripNulls, mutation);
      // PostgREST rolls a write back when .single() does not match exactly one row.
      if (single && outcome.n !== 1) throw PostgrestHttpError.notOneRow(outcome.n);
      return outcome;
    });
    return this.#writeOutcome(method, prefer, single, result);
  }

  #writeOutcome(method: 'POST' | 'PATCH' | 'DELETE', prefer: Preferences, single: boolean, result: Result): Outcome {
    const headers: Record<string, string> = { 'content-range': `*/${prefer.count ? result.n : '*'}` };
    if (prefer.return !== 'representation') return { status: method === 'POST' ? 201 : 204, headers };
    headers['content-type'] = `${single ? SINGLE_MEDIA_TYPE : 'application/json'}; charset=utf-8`;
    return { status: method === 'POST' ? 201 : 200, headers, body: single ? (result.first ?? 'null') : result.body };
  }
}

/**
 * Runs `inner` (optionally over a data-modifying CTE `pgrst_rows`) and lets PostgreSQL build the JSON, so
 * values are rendered exactly as PostgREST renders them (timestamps, numerics, jsonb).
 */
async function aggregate(db: SqlExecutor, inner: string, params: unknown[], stripNulls: boolean, mutation?: string): Promise<Result> {
  const element = stripNulls ? 'json_strip_nulls(to_json(pgrst_row))' : 'to_json(pgrst_row)';
  const sql = `${mutation === undefined ? '' : `with pgrst_rows as (${mutation}) `}select count(*)::int as n, coalesce(json_agg(${element}), '[]')::text as body, (json_agg(${element}) -> 0)::text as first from (${inner}) pgrst_row`;
  const rows = await db.query(sql, params);
  const row = rows[0] ?? {};
  return { n: Number(row['n'] ?? 0), body: String(row['body'] ?? '[]'), first: row['first'] === null || row['first'] === undefined ? null : String(row['first']) };
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new PostgrestHttpError(413, 'PGRST102', `request body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new PostgrestHttpError(400, 'PGRST102', 'Empty or invalid json');
  }
}
