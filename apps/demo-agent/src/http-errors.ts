/**
 * Every error the agent answers is JSON, in every environment: never Express's HTML page with its
 * stack trace and file paths. Body-parser's errors become clear 4xx answers; anything unexpected is
 * a 500 with a fixed sentence (the details go to the agent's own log, stderr). The A2A endpoints
 * answer in their protocol's error shape, every other route as `{ "detail": "..." }`.
 */
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';

/** An error a route raises on purpose: its status and message are what the client gets. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** Builds the body of an error answer for a route family. */
export type ErrorBody = (status: number, message: string) => unknown;

/** `{ "detail": "..." }`, the guide's shape (and FastAPI's). */
export const detailBody: ErrorBody = (_status, message) => ({ detail: message });

/** A JSON-RPC 2.0 error response (the request's id is unknown: the body could not be read). */
export const jsonRpcErrorBody: ErrorBody = (status, message) => ({
  jsonrpc: '2.0',
  id: null,
  error: { code: status === 400 && message.startsWith('the body is not valid JSON') ? -32700 : -32600, message },
});

const GOOGLE_RPC_STATUS: Readonly<Record<number, string>> = {
  400: 'INVALID_ARGUMENT',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  413: 'RESOURCE_EXHAUSTED',
  415: 'INVALID_ARGUMENT',
  421: 'PERMISSION_DENIED',
};

/** The A2A HTTP+JSON (REST) binding's error shape, as `@a2a-js/sdk` answers it. */
export const restErrorBody: ErrorBody = (status, message) => ({ error: { code: status, status: GOOGLE_RPC_STATUS[status] ?? 'INTERNAL', message, details: [] } });

/** Answers an error as JSON in the shape `body` gives. */
export function sendError(res: Response, status: number, message: string, body: ErrorBody = detailBody): void {
  res.status(status).json(body(status, message));
}

/** Status and message for the errors body-parser raises (`err.type`), without the parser's internals. */
function bodyParserError(error: { type?: unknown; limit?: unknown; status?: unknown }): { status: number; message: string } | undefined {
  switch (error.type) {
    case 'entity.parse.failed':
      return { status: 400, message: 'the body is not valid JSON' };
    case 'entity.too.large':
      return { status: 413, message: `the body is larger than ${typeof error.limit === 'number' ? `${error.limit} bytes` : 'allowed'}` };
    case 'encoding.unsupported':
      return { status: 415, message: 'unsupported Content-Encoding: send the body uncompressed, or gzip, deflate or br' };
    case 'charset.unsupported':
      return { status: 415, message: 'unsupported charset: send JSON in UTF-8' };
    case 'request.aborted':
    case 'request.size.invalid':
      return { status: 400, message: 'the body was cut short (its length is not the Content-Length)' };
    default:
      return undefined;
  }
}

/**
 * Another 4xx an Express layer raised (`status`/`statusCode`, the http-errors convention): the router's
 * URIError for a malformed `%` in a path parameter, for instance. Answered with its status and a
 * sentence of ours, not the layer's message.
 */
function clientError(error: { status?: unknown; statusCode?: unknown }): { status: number; message: string } | undefined {
  const status = typeof error.status === 'number' ? error.status : error.statusCode;
  if (typeof status !== 'number' || status < 400 || status > 499) return undefined;
  return { status, message: error instanceof URIError ? 'the URL is not valid percent-encoding' : `the request was refused (HTTP ${status})` };
}

/**
 * The app's last error handler. `bodyFor` picks the error shape for the request's route family.
 * Unknown errors are logged (one JSON line on stderr) and answered 500 without their message.
 */
export function jsonErrors(bodyFor: (req: Request) => ErrorBody): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const known =
      error instanceof HttpError
        ? { status: error.status, message: error.message }
        : typeof error === 'object' && error !== null
          ? (bodyParserError(error as { type?: unknown }) ?? clientError(error as { status?: unknown; statusCode?: unknown }))
          : undefined;
    if (known !== undefined) {
      sendError(res, known.status, known.message, bodyFor(req));
      return;
    }
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    process.stderr.write(`${JSON.stringify({ timestamp: Date.now() / 1000, level: 'error', message: `unhandled error on ${req.method} ${req.path}: ${message}` })}\n`);
    sendError(res, 500, 'internal error (logged by the agent)', bodyFor(req));
  };
}

/** The JSON answer for a route that does not exist (Express's default is an HTML page). */
export function jsonNotFound(bodyFor: (req: Request) => ErrorBody): RequestHandler {
  return (req, res) => sendError(res, 404, `no route ${req.method} ${req.path.slice(0, 200)}`, bodyFor(req));
}
