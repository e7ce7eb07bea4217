/**
 * Applying advice at run time over HTTP: the admin token reconfigures a breaker or a family of a live
 * registry, keeping its state; everything else is refused with a clear 4xx and changes nothing.
 */
import { CircuitBreakerRegistry } from '@phlow/circuit-breaker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detailBody, jsonErrors } from './http-errors.js';
import { startHttpServer, type HttpServer } from './http-server.js';
import { mountReconfigureRoute } from './reconfigure-route.js';

const TOKEN = 'operator-token';
const registry = new CircuitBreakerRegistry({ logger: false });
let agent: HttpServer;
let changes = 0;

beforeAll(async () => {
  agent = await startHttpServer({ host: '127.0.0.1', port: 0, allowedHosts: ['127.0.0.1'] });
  mountReconfigureRoute(agent.app, { adminToken: TOKEN, registry, changed: () => changes++ });
  agent.app.use(jsonErrors(() => detailBody));
});
afterAll(async () => {
  await agent?.close();
});

function reconfigure(name: string, body: unknown, token = TOKEN): Promise<Response> {
  return fetch(`${agent.url}/admin/reconfigure/${encodeURIComponent(name)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

describe('POST /admin/reconfigure/:name', () => {
  it("applies a recommendation to a family's members, keeping their state and counts", async () => {
    const family = registry.getFamily('a2a', { failureThreshold: 3 });
    await family.execute('alpha', () => Promise.reject(new Error('down'))).catch(() => {});
    const response = await reconfigure('a2a', { failureThreshold: 10, recoveryTimeoutMs: 5_000 });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      name: 'a2a',
      changed: ['failurePolicy', 'recoveryTimeoutMs'],
      members: { alpha: { changed: ['failurePolicy', 'recoveryTimeoutMs'], failureCounts: 'kept', state: 'closed', retryAt: null } },
    });
    expect(family.get('alpha').getStats()).toMatchObject({ failure_count: 1, failure_threshold: 10 });
    expect(changes).toBe(1);
  });

  it('reconfigures a plain breaker by name', async () => {
    registry.getBreaker('supabase');
    const response = await reconfigure('supabase', { failurePolicy: { type: 'count-window', size: 20, minimumCalls: 10, failureRateThreshold: 0.5 } });
    expect(await response.json()).toMatchObject({ name: 'supabase', changed: ['failurePolicy'], failureCounts: 'reset' });
  });

  it.each([
    ['an invalid value, named by the core', 'a2a', { failureThreshold: 0 }, 400, /failureThreshold must be an integer >= 1; got 0/],
    ['an option that is not data', 'a2a', { clock: {}, logger: 'x' }, 400, /not reconfigurable over HTTP: "clock", "logger"/],
    ['a prototype key', 'a2a', '{"__proto__": {"failureThreshold": 1}}', 400, /not reconfigurable over HTTP: "__proto__"/],
    ['not an object', 'a2a', [1, 2], 400, /JSON object of breaker options/],
    ['an unknown breaker', 'nope', { failureThreshold: 4 }, 400, /no circuit breaker or family is called "nope"/],
    ['a family member', 'a2a/alpha', { failureThreshold: 4 }, 400, /member of a keyed family; reconfigure the family "a2a"/],
  ])('refuses %s, changing nothing', async (_, name, body, status, message) => {
    const before = family().options;
    const response = await reconfigure(name, body);
    expect(response.status).toBe(status);
    expect(((await response.json()) as { detail: string }).detail).toMatch(message);
    expect(family().options).toBe(before);
  });

  it('is for the admin token only', async () => {
    expect((await reconfigure('a2a', { failureThreshold: 2 }, 'wrong')).status).toBe(401);
    expect(family().options.failurePolicy).toEqual({ type: 'consecutive', threshold: 10 });
  });
});

function family() {
  return registry.getFamily('a2a');
}

describe('POST /admin/reconfigure/:name, attacked', () => {
  it.each([
    ['a prototype key inside a policy', 'a2a', '{"failurePolicy": {"type": "consecutive", "threshold": 2, "__proto__": {"x": 1}}}', 400, /unknown option "__proto__"/],
    ['a constructor key', 'a2a', '{"constructor": {"prototype": {"failureThreshold": 1}}}', 400, /not reconfigurable over HTTP: "constructor"/],
    ['a number past the largest double', 'a2a', '{"recoveryTimeoutMs": 1e400}', 400, /recoveryTimeoutMs must be/],
    ['null for an option', 'a2a', '{"timeoutMs": null}', 400, /timeoutMs/],
    ['a body of null', 'a2a', 'null', 400, /JSON object of breaker options/],
    ['a prototype name', '__proto__', { failureThreshold: 4 }, 400, /no circuit breaker or family is called "__proto__"/],
    ['an inherited name', 'constructor', { failureThreshold: 4 }, 400, /no circuit breaker or family is called "constructor"/],
  ])('refuses %s, changing nothing', async (_, name, body, status, message) => {
    const before = family().options;
    const response = await reconfigure(name, body);
    expect(response.status).toBe(status);
    expect(((await response.json()) as { detail: string }).detail).toMatch(message);
    expect(family().options).toBe(before);
    expect(({} as Record<string, unknown>)['failureThreshold']).toBeUndefined();
  });

  it('refuses a body over its size limit before parsing it', async () => {
    const before = family().options;
    const response = await reconfigure('a2a', JSON.stringify({ failureThreshold: 4, pad: 'x'.repeat(20_000) }));
    expect(response.status).toBe(413);
    expect(family().options).toBe(before);
  });
});
