import { PGlite } from '@electric-sql/pglite';
import type { SqlBackend, SqlExecutor } from './sql-backend.js';

/**
 * PGlite (PostgreSQL compiled to WebAssembly) as the stand-in's database: no server, no native build.
 * Pass an existing instance to share one between stand-ins (creating one takes about 3 s); a shared
 * instance is not closed by {@link SqlBackend.close}.
 */
export async function createPgliteBackend(existing?: PGlite): Promise<SqlBackend> {
  const db = existing ?? (await PGlite.create());
  const run = (executor: Pick<PGlite, 'query'>): SqlExecutor['query'] => async (sql, params) =>
    (await executor.query<Record<string, unknown>>(sql, params === undefined ? undefined : [...params])).rows;
  return {
    kind: 'pglite',
    query: run(db),
    exec: async (sql) => {
      await db.exec(sql);
    },
    // PGlite's own transaction() holds its lock for the whole callback, so concurrent HTTP requests
    // cannot interleave statements inside it.
    transaction: (work) => db.transaction((tx) => work({ query: run(tx) })),
    close: async () => {
      if (existing === undefined) await db.close();
    },
  };
}
