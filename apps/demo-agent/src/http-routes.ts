/**
 * The agent's plain HTTP routes: `POST /relay` (the skill without A2A), `GET /health/circuit-breakers`
 * (the guide's shape) and `GET /metrics` (the Prometheus exporter's answer, relayed).
 */
import type { MetricsRequestHandler } from '@phlow/otel/sdk';
import type { Express, Request, Response } from 'express';
import { sendError } from './http-errors.js';
import { jsonBody } from './json-body.js';
import type { Relay } from './relay.js';

/** `POST /relay` takes `{ "to", "text" }`, and optionally the `conversation` the exchange is recorded under. */
const RELAY_OBJECT = 'a JSON object { "to": "<agent id or DID>", "text": "<message>" }';
const RELAY_BODY = { limit: '64kb', maxDepth: 8, types: ['application/json'], required: true, object: RELAY_OBJECT } as const;

export interface HttpRoutesOptions {
  readonly relay: Pick<Relay, 'relay'>;
  /** The health document (breakers and outbox). */
  readonly health: () => unknown;
  /** Serves the Prometheus text, if Prometheus is on. */
  readonly metricsHandler: MetricsRequestHandler | undefined;
}

export function mountHttpRoutes(app: Express, { relay, health, metricsHandler }: HttpRoutesOptions): void {
  app.post('/relay', ...jsonBody(RELAY_BODY), async (req: Request, res: Response) => {
    const { to, text, conversation } = req.body as Record<string, unknown>;
    if (typeof to !== 'string' || to === '' || typeof text !== 'string' || text === '') {
      sendError(res, 400, `the body must be ${RELAY_OBJECT}: both non-empty strings`);
      return;
    }
    if (conversation !== undefined && (typeof conversation !== 'string' || conversation === '' || conversation.length > 200)) {
      sendError(res, 400, `"conversation", when given, must be a non-empty string of up to 200 characters (the exchanges of one conversation are recorded in order)`);
      return;
    }
    const result = await relay.relay(to, text, conversation);
    if (result.ok) {
      res.json(result);
      return;
    }
    if (result.status === 503) {
      // The guide's answer for an HTTP route whose dependency is down, plus who and when.
      if (result.retryAfterMs !== undefined) res.setHeader('retry-after', String(Math.ceil(result.retryAfterMs / 1000)));
      res.status(503).json({ detail: 'Service temporarily unavailable', peer: result.peer, message: result.message, retry_after_ms: result.retryAfterMs ?? null, notes: result.notes });
      return;
    }
    res.status(result.status).json({ detail: result.message, peer: result.peer, notes: result.notes });
  });

  app.get('/health/circuit-breakers', (_req, res) => void res.json(health()));

  app.get('/metrics', (req, res) => {
    if (metricsHandler !== undefined) return metricsHandler(req, res);
    // Why is the agent's business, not the scraper's.
    process.stderr.write(`${JSON.stringify({ timestamp: Date.now() / 1000, level: 'error', message: 'metrics unavailable: no Prometheus exporter (OTEL_METRICS_EXPORTER leaves it out)' })}\n`);
    sendError(res, 503, 'metrics unavailable (logged by the agent)');
  });
}
