import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { FaultProxyStats } from './fault-proxy-stats.js';
import type { Faults } from './faults.js';

/** The part of a FaultProxy the control endpoint drives. */
export interface ControlledProxy {
  readonly faults: Faults;
  setFaults(faults: Faults): Promise<void>;
  patchFaults(faults: Record<string, unknown>): Promise<void>;
  stats(): FaultProxyStats;
  resetStats(): void;
}

const MAX_BODY = 64 * 1024;

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new RangeError(`request body must be at most ${MAX_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return text === '' ? {} : (JSON.parse(text) as unknown);
  } catch {
    throw new TypeError(`request body must be JSON, got ${JSON.stringify(text.slice(0, 80))}`);
  }
}

/**
 * The HTTP control endpoint of a fault proxy, on its own port so it stays reachable while the proxy
 * refuses connections. Routes:
 * - `GET /faults` → the faults in force; `PUT /faults` replaces them; `PATCH /faults` merges (a key set to
 *   `null` or `false` switches that fault off); `DELETE /faults` clears them.
 * - `GET /stats` → the counters; `DELETE /stats` zeroes them.
 * Invalid fault sets get 400 with `{ error }` naming the option, value and what is allowed.
 */
export function createControlServer(proxy: ControlledProxy): Server {
  return createServer((req, res) => {
    void route(proxy, req, res).catch((error: unknown) => {
      const status = error instanceof TypeError || error instanceof RangeError ? 400 : 500;
      send(res, status, { error: error instanceof Error ? error.message : String(error) });
    });
  });
}

async function route(proxy: ControlledProxy, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://control').pathname;
  const method = req.method ?? 'GET';
  if (path === '/faults') {
    if (method === 'GET') return send(res, 200, proxy.faults);
    if (method === 'PUT') {
      await proxy.setFaults((await readJson(req)) as Faults);
      return send(res, 200, proxy.faults);
    }
    if (method === 'PATCH') {
      const body = await readJson(req);
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new TypeError('PATCH /faults body must be a JSON object');
      const patch = Object.fromEntries(Object.entries(body).map(([key, value]) => [key, value === null ? undefined : value]));
      await proxy.patchFaults(patch);
      return send(res, 200, proxy.faults);
    }
    if (method === 'DELETE') {
      await proxy.setFaults({});
      return send(res, 200, proxy.faults);
    }
  } else if (path === '/stats') {
    if (method === 'GET') return send(res, 200, proxy.stats());
    if (method === 'DELETE') {
      proxy.resetStats();
      return send(res, 200, proxy.stats());
    }
  } else {
    return send(res, 404, { error: `unknown path ${path}: use /faults or /stats` });
  }
  res.setHeader('allow', path === '/faults' ? 'GET, PUT, PATCH, DELETE' : 'GET, DELETE');
  return send(res, 405, { error: `method ${method} not allowed on ${path}` });
}
