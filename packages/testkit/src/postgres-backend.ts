import pg from 'pg';
import type { SqlBackend } from './sql-backend.js';

/** A PostgreSQL server (e.g. `postgres://postgres@127.0.0.1:5432/test`) as the stand-in's database, via a small `pg` pool. */
export function createPostgresBackend(connectionString: string): SqlBackend {
  const pool = new pg.Pool({ connectionString, max: 4 });
  // An idle client that loses its server would otherwise raise an unhandled 'error' and crash the test run.
  pool.on('error', () => undefined);
  return {
    kind: 'postgres',
    query: async (sql, params) => (await pool.query(sql, params === undefined ? undefined : [...params])).rows as Record<string, unknown>[],
    exec: async (sql) => {
      await pool.query(sql);
    },
    transaction: async (work) => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await work({ query: async (sql, params) => (await client.query(sql, params === undefined ? undefined : [...params])).rows as Record<string, unknown>[] });
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}
