/**
 * Who may use the operator's controls. The admin reset needs the admin token. The chaos controls
 * need the token OR a request a hostile web page cannot make: `Content-Type: application/json` (a
 * cross-site form cannot send it, and a cross-site `fetch` with it needs a CORS preflight, which this
 * agent never grants) and, when the browser sends them, our own `Origin` and `Sec-Fetch-Site:
 * same-origin`. The dashboard's buttons send exactly that; scripts send the token.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { canonicalHost } from './host-allow-list.js';
import { HttpError } from './http-errors.js';

/** Compares two secrets in constant time (hashing first makes the lengths equal). */
export function sameSecret(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** The token a request carries: `Authorization: Bearer <token>` or `X-Admin-Token`. */
export function adminTokenOf(req: Request): string | undefined {
  const header = req.get('authorization');
  if (header !== undefined) return header.startsWith('Bearer ') ? header.slice(7) : '';
  return req.get('x-admin-token');
}

/**
 * True when `origin` (an `Origin` header) is the origin the request was sent to: the same host and
 * port as its `Host` header, as the URL parser normalises both. `null` (a sandboxed or file page)
 * is nobody's origin.
 */
export function isSameOrigin(origin: string, hostHeader: string | undefined): boolean {
  if (origin === 'null' || !URL.canParse(origin) || canonicalHost(hostHeader) === undefined) return false;
  const from = new URL(origin);
  if (from.protocol !== 'http:' && from.protocol !== 'https:') return false;
  return from.host === new URL(`${from.protocol}//${hostHeader}`).host;
}

const TOKEN_HELP = 'Authorization: Bearer <token> (the agent prints it when it starts; or set ADMIN_TOKEN)';

/** Only with the admin token. */
export function adminOnly(adminToken: string): RequestHandler {
  return (req, _res, next) => {
    const token = adminTokenOf(req);
    next(token !== undefined && sameSecret(token, adminToken) ? undefined : new HttpError(401, `admin token required: ${TOKEN_HELP}`));
  };
}

/** With the admin token, or as a same-origin JSON request (the dashboard's). */
export function operatorOnly(adminToken: string): RequestHandler {
  return (req, _res, next) => {
    const token = adminTokenOf(req);
    if (token !== undefined) {
      next(sameSecret(token, adminToken) ? undefined : new HttpError(401, `wrong admin token: ${TOKEN_HELP}`));
      return;
    }
    if (!req.is('application/json')) {
      next(new HttpError(415, `chaos controls need Content-Type: application/json from this agent's own page, or the admin token: ${TOKEN_HELP}`));
      return;
    }
    // Fetch metadata: a browser says where a request comes from even when it sends no Origin (or an
    // extension strips it). Scripts send neither header.
    const site = req.get('sec-fetch-site');
    if (site !== undefined && site !== 'same-origin' && site !== 'none') {
      next(new HttpError(403, `cross-origin request refused: Sec-Fetch-Site ${JSON.stringify(site.slice(0, 40))}; use this agent's own page, or the admin token`));
      return;
    }
    const origin = req.get('origin');
    if (origin !== undefined && !isSameOrigin(origin, req.get('host'))) {
      next(new HttpError(403, `cross-origin request refused: Origin ${JSON.stringify(origin.slice(0, 200))} is not this agent's; use its own page, or the admin token`));
      return;
    }
    next();
  };
}
