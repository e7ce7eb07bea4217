/**
 * Checks a row before it is queued: anything PostgreSQL would refuse for ever must be refused now,
 * while the caller can still be told, instead of being accepted and dead-lettered later. The checks are
 * those a JSON body through PostgREST into `text`/`jsonb` columns fails on, or silently changes:
 *
 * - U+0000 (NUL): `text` and `jsonb` cannot hold it (SQLSTATE 22P05);
 * - lone surrogates: `JSON.stringify` escapes them (`"\udc00"`) and PostgreSQL refuses the escape (22P02);
 * - `NaN`, `Infinity`: JSON has no such numbers, `JSON.stringify` writes `null` — a silent change;
 * - `bigint`, functions, symbols, cycles: not JSON at all;
 * - class instances (a Map, a Set, anything with `toJSON`): their JSON is not what was checked;
 * - a row larger than `maxRowBytes` once serialised.
 *
 * Returns the row's JSON text (what is stored and sent).
 */
import { UnstorableRowError } from './outbox-errors.js';

/** Deepest nesting walked (jsonb columns); deeper rows are refused rather than walked recursively for ever. */
const MAX_DEPTH = 64;

export function storableRowJson(row: unknown, maxRowBytes: number): string {
  if (typeof row !== 'object' || row === null || Array.isArray(row)) {
    throw new UnstorableRowError('row', `the row must be a plain object (one row); got ${row === null ? 'null' : Array.isArray(row) ? 'an array' : typeof row}`);
  }
  check(row, 'row', 0, new Set());
  const json = JSON.stringify(row);
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > maxRowBytes) throw new UnstorableRowError('row', `the row is ${bytes} bytes as JSON; up to ${maxRowBytes} (maxRowBytes) are taken`);
  return json;
}

/**
 * Throws {@link UnstorableRowError} (naming `path`) for a value PostgreSQL could not store — the check
 * `insert()` makes — so a caller can refuse input before acting on it (before calling a peer whose
 * exchange must then be recorded).
 *
 * @example
 * ```ts
 * checkStorable(request.text, 'text'); // throws for 'a\u0000b': "text holds a NUL character ..."
 * ```
 */
export function checkStorable(value: unknown, path = 'value'): void {
  check(value, path, 0, new Set());
}

function check(value: unknown, path: string, depth: number, seen: Set<object>): void {
  switch (typeof value) {
    case 'string':
      checkText(value, path);
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new UnstorableRowError(path, `${path} is ${value}: JSON has no such number (it would be written as null)`);
      return;
    case 'boolean':
    case 'undefined':
      return;
    case 'bigint':
      throw new UnstorableRowError(path, `${path} is a bigint: JSON cannot carry it; pass it as a string`);
    case 'function':
    case 'symbol':
      throw new UnstorableRowError(path, `${path} is a ${typeof value}: not a value a database stores`);
    case 'object':
      break;
  }
  if (value === null) return;
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new UnstorableRowError(path, `${path} is an invalid Date`);
    return;
  }
  if (depth >= MAX_DEPTH) throw new UnstorableRowError(path, `${path} is nested more than ${MAX_DEPTH} levels deep`);
  const object = value as object;
  // JSON.stringify writes what toJSON returns, or {} for a Map or a Set: only plain objects and arrays
  // are walked, so the text checked is the text sent.
  const prototype = Object.getPrototypeOf(object) as object | null;
  if (!Array.isArray(object) && prototype !== Object.prototype && prototype !== null) {
    throw new UnstorableRowError(path, `${path} is a ${(prototype.constructor as { name?: string } | undefined)?.name || 'class instance'}: only plain objects, arrays, strings, finite numbers, booleans, null and Dates are taken (its JSON is not what it holds)`);
  }
  if (seen.has(object)) throw new UnstorableRowError(path, `${path} refers back to itself (a cycle): not JSON`);
  seen.add(object);
  if (Array.isArray(object)) {
    object.forEach((item, i) => check(item, `${path}[${i}]`, depth + 1, seen));
  } else {
    for (const [key, item] of Object.entries(object)) {
      checkText(key, `${path} key ${JSON.stringify(key)}`);
      check(item, `${path}.${key}`, depth + 1, seen);
    }
  }
  seen.delete(object);
}

function checkText(text: string, path: string): void {
  const nul = text.indexOf('\u0000');
  if (nul >= 0) throw new UnstorableRowError(path, `${path} holds a NUL character (U+0000, index ${nul}): PostgreSQL text cannot store it`);
  if (!text.isWellFormed()) {
    throw new UnstorableRowError(path, `${path} holds a lone surrogate (half of a UTF-16 pair): not valid Unicode, PostgreSQL refuses it; String.prototype.toWellFormed() replaces it with U+FFFD`);
  }
}
