import type { SqlExecutor } from './sql-backend.js';

/** What the stand-in knows of one table: its columns (in order) and primary key. */
export interface TableInfo {
  readonly name: string;
  readonly columns: ReadonlySet<string>;
  readonly primaryKey: readonly string[];
}

/**
 * The stand-in's equivalent of PostgREST's schema cache: tables, columns and primary keys of one schema,
 * read from the catalog. Every identifier in a request is checked against it before it is quoted into SQL.
 */
export class SchemaCache {
  readonly schema: string;
  #tables = new Map<string, TableInfo>();

  constructor(schema: string) {
    this.schema = schema;
  }

  /** Re-reads the catalog (after DDL). */
  async reload(db: SqlExecutor): Promise<void> {
    const columns = await db.query(
      `select c.table_name::text as table_name, c.column_name::text as column_name
         from information_schema.columns c
         join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
        where c.table_schema = $1 and t.table_type in ('BASE TABLE', 'VIEW')
        order by c.table_name, c.ordinal_position`,
      [this.schema],
    );
    const keys = await db.query(
      `select tc.table_name::text as table_name, k.column_name::text as column_name
         from information_schema.table_constraints tc
         join information_schema.key_column_usage k
           on k.constraint_schema = tc.constraint_schema and k.constraint_name = tc.constraint_name
        where tc.table_schema = $1 and tc.constraint_type = 'PRIMARY KEY'
        order by tc.table_name, k.ordinal_position`,
      [this.schema],
    );
    const tables = new Map<string, { columns: Set<string>; primaryKey: string[] }>();
    for (const row of columns) {
      const table = String(row['table_name']);
      const entry = tables.get(table) ?? { columns: new Set<string>(), primaryKey: [] };
      entry.columns.add(String(row['column_name']));
      tables.set(table, entry);
    }
    for (const row of keys) tables.get(String(row['table_name']))?.primaryKey.push(String(row['column_name']));
    this.#tables = new Map([...tables].map(([name, info]) => [name, { name, ...info }]));
  }

  /** The table, or undefined when the schema has no such table or view. */
  table(name: string): TableInfo | undefined {
    return this.#tables.get(name);
  }

  /** Names of the tables and views known. */
  get tableNames(): string[] {
    return [...this.#tables.keys()];
  }
}
