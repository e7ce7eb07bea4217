/**
 * The chaos controls on a real fault proxy in front of a real HTTP service, driven over HTTP: only the
 * operator (token, or a same-origin JSON request) breaks and heals it, and the agent's own requests
 * then fail and pass through the proxy.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CircuitBreakerRegistry } from '@phlow/circuit-breaker';
import { FaultProxy } from '@phlow/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHAOS_ACTIONS, chaosState, mountChaosRoutes } from './chaos-routes.js';
import { detailBody, jsonErrors } from './http-errors.js';
import { startHttpServer, type HttpServer } from './http-server.js';

const TOKEN = 'operator-token';
let service: Server;
let proxy: FaultProxy;
let agent: HttpServer;
let changes = 0;
const registry = new CircuitBreakerRegistry();

beforeAll(async () => {
  service = createServer((_req, res) => res.end('up'));
  await new Promise<void>((resolve) => service.listen(0, '127.0.0.1', resolve));
  proxy = new FaultProxy({ target: `http://127.0.0.1:${(service.address() as AddressInfo).port}` });
  await proxy.start();
  agent = await startHttpServer({ host: '127.0.0.1', port: 0, allowedHosts: ['127.0.0.1'] });
  const proxies = new Map([['service', proxy]]);
  mountChaosRoutes(agent.app, { adminToken: TOKEN, registry, proxies, breakerOf: (name) => (name === 'service' ? 'service' : undefined), changed: () => changes++ });
  agent.app.use(jsonErrors(() => detailBody));
});
afterAll(async () => {
  await agent?.close();
  await proxy?.stop();
  await new Promise((resolve) => service?.close(resolve));
});

const post = (path: string, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) => fetch(`${agent.url}${path}`, { method: 'POST', headers });

describe('chaos routes', () => {
  it('lists the actions and each dependency with its breaker and traffic', async () => {
    const listed = (await (await fetch(`${agent.url}/chaos`)).json()) as { actions: string[]; dependencies: unknown[] };
    expect(listed.actions).toEqual(Object.keys(CHAOS_ACTIONS));
    expect(listed.dependencies).toEqual([{ name: 'service', mode: 'http', breaker: 'service', faults: {}, forwarded: 0, received: 0 }]);
  });

  it('breaks and heals the dependency for the operator, and tells the dashboards', async () => {
    const before = changes;
    expect(await (await post('/chaos/service/down')).json()).toEqual({ dependency: 'service', action: 'down', faults: { refuse: true } });
    await expect(fetch(proxy.url)).rejects.toThrow();
    expect((await post('/chaos/service/heal')).status).toBe(200);
    expect(await (await fetch(proxy.url)).text()).toBe('up');
    expect(changes).toBe(before + 2);
    expect(chaosState({ proxies: new Map([['service', proxy]]), breakerOf: () => undefined })[0]).toMatchObject({ faults: {}, forwarded: 1 });
  });

  it('refuses anyone else, an unknown dependency and an unknown action, naming what is allowed', async () => {
    expect((await post('/chaos/service/down', {})).status).toBe(415);
    expect((await post('/chaos/service/down', { authorization: 'Bearer wrong' })).status).toBe(401);
    const unknown = await post('/chaos/nothing/down');
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { detail: string }).detail).toBe('no chaos control for nothing; known: service (dependencies from the environment have none)');
    const action = await post('/chaos/service/explode');
    expect(action.status).toBe(400);
    expect(((await action.json()) as { detail: string }).detail).toBe('unknown action explode; allowed: down, hang, error503, slow, heal');
    expect(proxy.faults).toEqual({});
  });

  it('resets every breaker with the admin token only', async () => {
    const breaker = registry.getBreaker('service', { failureThreshold: 1 });
    await breaker.execute(async () => Promise.reject(new Error('down'))).catch(() => undefined);
    expect(breaker.state).toBe('open');
    expect((await post('/admin/reset', { 'content-type': 'application/json' })).status).toBe(401);
    expect(await (await post('/admin/reset')).json()).toEqual({ reset: ['service'] });
    expect(breaker.state).toBe('closed');
  });
});
