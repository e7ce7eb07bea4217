/**
 * Reading a JSON request body, hostile or not: a size cap, a nesting cap (a body nested thousands of
 * levels deep parses, but overflows the stack of whatever walks it recursively later: the A2A SDK's
 * protobuf conversion answered "Maximum call stack size exceeded" with a 500), and the content type
 * the route needs, and a JSON object where one is expected. Every refusal is an {@link HttpError} or a body-parser error, answered as JSON by
 * the app's error handler.
 */
import express, { type RequestHandler } from 'express';
import { HttpError } from './http-errors.js';

export interface JsonBodyOptions {
  /** Largest body, in bytes or as body-parser reads it (`'64kb'`). */
  readonly limit: number | string;
  /** Deepest nesting of objects and arrays accepted. */
  readonly maxDepth: number;
  /** Media types read as JSON (`application/json`, ...). */
  readonly types: readonly string[];
  /**
   * When a body must be JSON: a request with another (or no) content type is answered 415. Otherwise
   * such a request passes through unread (the A2A SDK answers it in its protocol's terms).
   */
  readonly required: boolean;
  /** What the body must be, when it must be a JSON object (`a JSON object { "to", "text" }`): else 400 naming it. */
  readonly object?: string;
}

/** The nesting depth of `value`, counted without recursion; stops counting past `max`. */
export function depthExceeds(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (depth + 1 > max) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}

/**
 * The `charset` of a Content-Type, lower-cased and unquoted; undefined without one. Given twice
 * (`charset=utf-8; charset=utf-7`), both must agree, or the answer is the one that is not UTF-8:
 * which of the two a parser honours is not ours to guess.
 */
export function charsetOf(contentType: string | undefined): string | undefined {
  const charsets = [...(contentType ?? '').matchAll(/;\s*charset\s*=\s*("?)([^";]*)\1/gi)].map((m) => m[2]!.trim().toLowerCase());
  return charsets.find((c) => c !== 'utf-8') ?? charsets[0];
}

/** True for a JSON object (not an array, not null). */
export const isJsonObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Middlewares that read a JSON body with the caps of `options`. */
export function jsonBody(options: JsonBodyOptions): RequestHandler[] {
  const types = [...options.types];
  const parse = express.json({ limit: options.limit, type: types, strict: false });
  const contentType: RequestHandler = (req, _res, next) => {
    if (options.required && !req.is(types)) {
      next(new HttpError(415, `Content-Type must be ${types.join(' or ')}; got ${JSON.stringify(req.get('content-type') ?? '(none)')}`));
      return;
    }
    // body-parser decodes any charset starting with "utf-" (utf-7 included, through iconv-lite): a
    // filter that reads the raw bytes then sees "+ADw-script+AD4-" where the agent sees "<script>".
    // JSON between systems is UTF-8 (RFC 8259 §8.1); nothing else is read.
    const charset = req.is(types) ? charsetOf(req.get('content-type')) : undefined;
    if (charset !== undefined && charset !== 'utf-8') {
      next(new HttpError(415, `unsupported charset ${JSON.stringify(charset.slice(0, 40))}: send JSON in UTF-8`));
      return;
    }
    next();
  };
  const depth: RequestHandler = (req, _res, next) => {
    if (req.body !== undefined && depthExceeds(req.body, options.maxDepth)) {
      next(new HttpError(400, `the body is nested deeper than ${options.maxDepth} levels`));
      return;
    }
    next();
  };
  const object: RequestHandler = (req, _res, next) => {
    if (options.object === undefined || req.body === undefined || isJsonObject(req.body)) {
      next();
      return;
    }
    const got = req.body === null ? 'null' : Array.isArray(req.body) ? 'an array' : typeof req.body;
    next(new HttpError(400, `the body must be ${options.object}; got ${got}`));
  };
  return [contentType, parse, depth, object];
}
