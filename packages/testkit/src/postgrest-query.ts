// Why hand-written: there is no maintained JavaScript implementation of PostgREST's request dialect to embed
// (PostgREST itself is a Haskell server). This module covers the subset supabase-js emits for table CRUD and
// builds SQL from it: identifiers only after checking them against the schema cache and quoting them, values
// only as bind parameters.
import { PostgrestHttpError } from './postgrest-error.js';
import type { TableInfo } from './schema-cache.js';

/** Collects bind parameters and hands out their `$n` placeholders. */
export class SqlParams {
  readonly values: unknown[] = [];

  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** Quotes an identifier for PostgreSQL (doubling embedded quotes). Callers check names against the schema first. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Splits on `separator` outside double quotes and parentheses. */
export function splitTopLevel(text: string, separator = ','): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quoted && c === '\\' && i + 1 < text.length) {
      current += c + (text[i + 1] as string);
      i++;
      continue;
    }
    if (c === '"') quoted = !quoted;
    else if (!quoted && c === '(') depth++;
    else if (!quoted && c === ')') depth--;
    if (c === separator && !quoted && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts;
}

function unquote(text: string): string {
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) return text.slice(1, -1).replace(/\\(.)/g, '$1');
  return text;
}

function checkColumn(table: TableInfo, name: string): string {
  if (!table.columns.has(name)) throw PostgrestHttpError.undefinedColumn(table.name, name);
  return quoteIdent(name);
}

const CAST_TYPE = /^[a-z_][a-z0-9_]*(\[\])?$/i;

/**
 * Translates PostgREST's `select` (`*`, `col`, `alias:col`, `col::type`, combinations) into a SQL select
 * list over unqualified column names. Embedded resources and JSON paths are not supported and say so.
 */
export function selectList(select: string | null, table: TableInfo): string {
  if (select === null || select.trim() === '' || select === '*') return '*';
  const items = splitTopLevel(select).map((raw) => {
    const item = raw.trim();
    if (item === '*') return '*';
    if (item.includes('(')) {
      throw PostgrestHttpError.parse(`"failed to parse select parameter (${select})"`, `Embedded resources such as "${item}" are not supported by the @phlow/testkit stand-in`);
    }
    if (item.includes('->')) {
      throw PostgrestHttpError.parse(`"failed to parse select parameter (${select})"`, `JSON paths such as "${item}" are not supported by the @phlow/testkit stand-in`);
    }
    let rest = item;
    let alias: string | undefined;
    const aliasAt = rest.search(/:(?!:)/);
    if (aliasAt > 0 && rest[aliasAt + 1] !== ':' && rest[aliasAt - 1] !== ':') {
      alias = unquote(rest.slice(0, aliasAt));
      rest = rest.slice(aliasAt + 1);
    }
    let cast: string | undefined;
    const castAt = rest.indexOf('::');
    if (castAt >= 0) {
      cast = rest.slice(castAt + 2);
      rest = rest.slice(0, castAt);
      if (!CAST_TYPE.test(cast)) throw PostgrestHttpError.parse(`"failed to parse select parameter (${select})"`, `unexpected cast type "${cast}"`);
    }
    const column = unquote(rest);
    const expression = cast === undefined ? checkColumn(table, column) : `${checkColumn(table, column)}::${cast.toLowerCase()}`;
    const outputName = alias ?? (cast === undefined ? undefined : column);
    return outputName === undefined ? expression : `${expression} as ${quoteIdent(outputName)}`;
  });
  return items.join(', ');
}

const COMPARISON: Readonly<Record<string, string>> = {
  eq: '=',
  neq: '<>',
  gt: '>',
  gte: '>=',
  lt: '<',
  lte: '<=',
  like: 'like',
  ilike: 'ilike',
  match: '~',
  imatch: '~*',
};
const IS_VALUES: Readonly<Record<string, string>> = { null: 'null', true: 'true', false: 'false', unknown: 'unknown' };

/** Query-string keys that are not column filters. */
export const RESERVED_PARAMS = new Set(['select', 'order', 'limit', 'offset', 'columns', 'on_conflict']);

function parseInList(list: string, key: string, raw: string): string[] {
  if (!list.startsWith('(') || !list.endsWith(')')) throw PostgrestHttpError.parse(`"failed to parse filter (${raw})" (line 1, column ${key.length + 1})`, 'expecting a list such as in.(1,2,3)');
  const inner = list.slice(1, -1);
  if (inner.trim() === '') return [];
  return splitTopLevel(inner).map((value) => unquote(value.trim()));
}

/** One `column=[not.]op.value` filter as a SQL condition on `qualifier.column`. */
function condition(table: TableInfo, qualifier: string, key: string, raw: string, params: SqlParams): string {
  const column = `${qualifier}.${checkColumn(table, unquote(key))}`;
  let rest = raw;
  let negate = false;
  if (rest.startsWith('not.')) {
    negate = true;
    rest = rest.slice(4);
  }
  const dot = rest.indexOf('.');
  const operator = dot < 0 ? rest : rest.slice(0, dot);
  const operand = dot < 0 ? undefined : rest.slice(dot + 1);
  if (operand === undefined) {
    throw PostgrestHttpError.parse(`"failed to parse filter (${raw})" (line 1, column ${raw.length + 1})`, 'expecting an operator and a value such as eq.1');
  }
  let sql: string;
  const comparison = COMPARISON[operator];
  if (comparison !== undefined) {
    // PostgREST accepts * as the wildcard in like patterns because % is awkward in URLs.
    const value = operator === 'like' || operator === 'ilike' ? operand.replace(/\*/g, '%') : operand;
    sql = `${column} ${comparison} ${params.add(value)}`;
  } else if (operator === 'is') {
    const value = IS_VALUES[operand.toLowerCase()];
    if (value === undefined) throw PostgrestHttpError.parse(`"failed to parse filter (${raw})"`, 'is. accepts null, true, false or unknown');
    sql = `${column} is ${value}`;
  } else if (operator === 'in') {
    const values = parseInList(operand, key, raw);
    sql = values.length === 0 ? 'false' : `${column} in (${values.map((value) => params.add(value)).join(', ')})`;
  } else {
    throw PostgrestHttpError.parse(
      `"failed to parse filter (${raw})"`,
      `operator "${operator}" is not supported by the @phlow/testkit stand-in (supported: ${[...Object.keys(COMPARISON), 'is', 'in'].join(', ')}, each optionally after not.)`,
    );
  }
  return negate ? `not (${sql})` : sql;
}

/** The WHERE clause for the filters in `query` (empty string when there are none). */
export function whereClause(query: URLSearchParams, table: TableInfo, qualifier: string, params: SqlParams): string {
  const conditions: string[] = [];
  for (const [key, value] of query) {
    if (RESERVED_PARAMS.has(key)) continue;
    if (key === 'and' || key === 'or' || key.endsWith('.and') || key.endsWith('.or')) {
      throw PostgrestHttpError.parse(`"failed to parse logic tree (${value})"`, 'and/or logic trees are not supported by the @phlow/testkit stand-in');
    }
    if (key.includes('.') && !key.startsWith('"')) {
      throw PostgrestHttpError.parse(`"failed to parse filter (${key})"`, 'filters on embedded resources are not supported by the @phlow/testkit stand-in');
    }
    conditions.push(condition(table, qualifier, key, value, params));
  }
  return conditions.length === 0 ? '' : ` where ${conditions.join(' and ')}`;
}

/** The ORDER BY clause for `order=col.desc.nullslast,col2` (empty string when absent). */
export function orderClause(order: string | null, table: TableInfo): string {
  if (order === null || order === '') return '';
  const terms = splitTopLevel(order).map((term) => {
    const parts = term.trim().split('.');
    const column = checkColumn(table, unquote(parts[0] ?? ''));
    let sql = column;
    for (const modifier of parts.slice(1)) {
      if (modifier === 'asc' || modifier === 'desc') sql += ` ${modifier}`;
      else if (modifier === 'nullsfirst') sql += ' nulls first';
      else if (modifier === 'nullslast') sql += ' nulls last';
      else throw PostgrestHttpError.parse(`"failed to parse order (${order})"`, `unexpected "${modifier}" expecting "asc", "desc", "nullsfirst" or "nullslast"`);
    }
    return sql;
  });
  return ` order by ${terms.join(', ')}`;
}

/** Parses `limit` / `offset` as non-negative integers. */
export function nonNegativeInteger(name: 'limit' | 'offset', value: string | null): number | undefined {
  if (value === null) return undefined;
  if (!/^\d+$/.test(value)) throw PostgrestHttpError.parse(`"failed to parse ${name} parameter (${value})"`, `${name} must be a non-negative integer`);
  return Number(value);
}

/** Columns named by the `columns` parameter (`"a","b"` or `a,b`), checked against the table. */
export function payloadColumns(columnsParam: string | null, rows: readonly Record<string, unknown>[], table: TableInfo): string[] {
  const names =
    columnsParam === null
      ? [...new Set(rows.flatMap((row) => Object.keys(row)))]
      : splitTopLevel(columnsParam).map((name) => unquote(name.trim()));
  for (const name of names) if (!table.columns.has(name)) throw PostgrestHttpError.bodyColumn(table.name, name);
  return names;
}

/** Columns of `on_conflict` (or the primary key), checked against the table. */
export function conflictColumns(onConflict: string | null, table: TableInfo): string[] {
  const names = onConflict === null ? [...table.primaryKey] : splitTopLevel(onConflict).map((name) => unquote(name.trim()));
  if (names.length === 0) {
    throw PostgrestHttpError.parse(`"failed to parse on_conflict"`, `table ${table.name} has no primary key: pass onConflict with the unique columns`);
  }
  for (const name of names) if (!table.columns.has(name)) throw PostgrestHttpError.undefinedColumn(table.name, name);
  return names;
}

/** The `Prefer` preferences of a request (all header lines, comma-separated). */
export interface Preferences {
  readonly return: 'minimal' | 'representation' | 'headers-only';
  readonly count: boolean;
  readonly resolution: 'merge-duplicates' | 'ignore-duplicates' | undefined;
}

export function parsePrefer(header: string | string[] | undefined): Preferences {
  const entries = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  const map = new Map(entries.map((entry) => {
    const eq = entry.indexOf('=');
    return eq < 0 ? [entry, ''] : [entry.slice(0, eq).trim(), entry.slice(eq + 1).trim()];
  }));
  const ret = map.get('return');
  const resolution = map.get('resolution');
  return {
    return: ret === 'representation' || ret === 'headers-only' ? ret : 'minimal',
    // planned and estimated are answered with the exact count: the tables of a test are small.
    count: map.has('count'),
    resolution: resolution === 'merge-duplicates' || resolution === 'ignore-duplicates' ? resolution : undefined,
  };
}
