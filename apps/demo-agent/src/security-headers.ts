/**
 * Response headers that keep a hostile page from using the agent's own pages against it:
 *
 * - no framing (`frame-ancestors 'none'`, `X-Frame-Options: DENY`): the chaos buttons send the
 *   same-origin JSON request the chaos controls accept, so a page that frames the dashboard under a
 *   decoy could have the operator click them for it (clickjacking);
 * - `nosniff`: answers that name what a client sent (`no route GET /<script>…`) are JSON and stay JSON;
 * - on the dashboard, a Content-Security-Policy that runs only its own inline script (by hash) and
 *   talks only to this agent: text an attacker chose (a DID, a peer name, an error) that ever reached
 *   the page as markup could still not run a script or send data elsewhere.
 */
import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';

/** Headers on every answer. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
};

/** Sets {@link SECURITY_HEADERS} on every answer. */
export const securityHeaders: RequestHandler = (_req, res, next) => {
  res.set(SECURITY_HEADERS);
  next();
};

/** The policy of an HTML page whose only scripts are its inline `<script>` elements. */
export function pagePolicy(html: string): string {
  const hashes = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => `'sha256-${createHash('sha256').update(m[1]!).digest('base64')}'`);
  return [
    "default-src 'none'",
    `script-src ${hashes.join(' ')}`,
    // The page's inline style attributes and <style> element; styles cannot run code.
    "style-src 'unsafe-inline'",
    "connect-src 'self'",
    "form-action 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}
