/**
 * `POST /admin/reconfigure/:name`: applies new options to a breaker or a keyed family of the running agent
 * (`registry.reconfigure`), e.g. a `phlow-tune` recommendation, without a restart. Admin token only. The
 * body is the recommendation's options as JSON: only the options that are data are accepted (no clock,
 * logger, store or classifier can arrive over HTTP), and the core validates every value.
 */
import type { Express, Request, Response } from 'express';
import type { CircuitBreakerOptions, CircuitBreakerRegistry } from '@phlow/circuit-breaker';
import { HttpError } from './http-errors.js';
import { isJsonObject, jsonBody } from './json-body.js';
import { adminOnly } from './operator-requests.js';

/** The options a recommendation carries: data, nothing callable. */
export const RECONFIGURABLE_OPTIONS = [
  'failureThreshold',
  'failurePolicy',
  'recoveryTimeoutMs',
  'timeoutMs',
  'halfOpenMaxCalls',
  'successThreshold',
  'halfOpenMaxWaitMs',
  'openBackoff',
] as const;

const BODY = { limit: '8kb', maxDepth: 4, types: ['application/json'], required: true, object: `a JSON object of breaker options (${RECONFIGURABLE_OPTIONS.join(', ')})` } as const;

export function mountReconfigureRoute(app: Express, options: { readonly adminToken: string; readonly registry: CircuitBreakerRegistry; readonly changed: () => void }): void {
  const { adminToken, registry, changed } = options;
  app.post('/admin/reconfigure/:name', adminOnly(adminToken), ...jsonBody(BODY), (req: Request, res: Response) => {
    const name = String(req.params['name']);
    const body: unknown = req.body;
    if (!isJsonObject(body)) throw new HttpError(400, `the body must be ${BODY.object}`);
    const unknown = Object.keys(body).filter((key) => !(RECONFIGURABLE_OPTIONS as readonly string[]).includes(key));
    if (unknown.length > 0) {
      throw new HttpError(400, `unknown or not reconfigurable over HTTP: ${unknown.map((k) => JSON.stringify(k.slice(0, 40))).join(', ')}; allowed: ${RECONFIGURABLE_OPTIONS.join(', ')}`);
    }
    let report;
    try {
      report = registry.reconfigure(name, body as CircuitBreakerOptions);
    } catch (error) {
      // The core names the option, the value and what is allowed; nothing was changed.
      if (error instanceof TypeError || error instanceof RangeError) throw new HttpError(400, error.message);
      throw error;
    }
    changed();
    res.json('members' in report ? { name, changed: report.changed, members: Object.fromEntries(report.members) } : { name, ...report });
  });
}
