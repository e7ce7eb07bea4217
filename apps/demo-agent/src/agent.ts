/**
 * The demo agent: a real A2A server (@a2a-js/sdk on Express 5) whose skill relays a message to a peer,
 * plus the operator's side: `/health/circuit-breakers` (the guide's shape), `/metrics` (Prometheus),
 * a live dashboard at `/` with chaos controls, and a token-protected admin reset.
 */
import { metrics } from '@opentelemetry/api';
import type { CircuitBreakerRegistry } from '@phlow/circuit-breaker';
import { recordTraffic } from '@phlow/tune';
import { mountA2aRoutes, errorBodyFor } from './a2a-routes.js';
import { breakerOfDependency, chaosState, mountChaosRoutes } from './chaos-routes.js';
import type { DemoConfig } from './config.js';
import { mountDashboard } from './dashboard-routes.js';
import { agentHealth, breakerHealth } from './health.js';
import { jsonErrors, jsonNotFound } from './http-errors.js';
import { mountHttpRoutes } from './http-routes.js';
import { startHttpServer } from './http-server.js';
import { createProtectedClients } from './protected-clients.js';
import { mountReconfigureRoute } from './reconfigure-route.js';
import type { Relay } from './relay.js';
import type { Dependencies } from './stand-ins.js';
import { startDemoTelemetry } from './telemetry.js';

export { A2A_JSONRPC_PATH, A2A_REST_PATH } from './a2a-routes.js';
export { CHAOS_ACTIONS } from './chaos-routes.js';

export interface RunningAgent {
  readonly url: string;
  readonly adminToken: string;
  readonly registry: CircuitBreakerRegistry;
  readonly relay: Relay;
  /**
   * Stops gracefully: no new connections, requests in flight get `drainMs` (default 0) to finish, the
   * outbox commits what it accepted and closes, telemetry exporters flush.
   */
  stop(drainMs?: number): Promise<void>;
}

export async function startAgent(config: DemoConfig, deps: Dependencies): Promise<RunningAgent> {
  const telemetry = await startDemoTelemetry(config);
  const { registry } = telemetry;
  // Every breaker's calls, for phlow-tune (`pnpm demo:record`): off unless PHLOW_RECORD_DIR is set.
  const recorder = config.recordDir === undefined ? undefined : recordTraffic(registry, { dir: config.recordDir });
  const clients = createProtectedClients(config, deps, registry, metrics.getMeter('@phlow/demo-agent'));
  const { relay, outbox } = clients;
  const server = await startHttpServer(config);
  const { app } = server;

  const health = () => {
    const foreign = clients.foreignBreakers();
    return agentHealth(breakerHealth(registry.getStats(), (name) => foreign.has(name)), outbox.stats);
  };
  const chaos = { proxies: deps.proxies, breakerOf: breakerOfDependency(clients) };
  mountA2aRoutes(app, { url: server.url, relay });
  mountHttpRoutes(app, { relay, health, metricsHandler: telemetry.metricsHandler });
  const dashboard = mountDashboard(app, { registry, status: () => health().status, dependencies: () => chaosState(chaos), outbox, relay });
  mountChaosRoutes(app, { ...chaos, adminToken: config.adminToken, registry, changed: dashboard.broadcast });
  mountReconfigureRoute(app, { adminToken: config.adminToken, registry, changed: dashboard.broadcast });
  app.use(jsonNotFound(errorBodyFor));
  app.use(jsonErrors(errorBodyFor));

  await clients.warmUp(deps.peers);

  let stopped = false;
  return {
    url: server.url,
    adminToken: config.adminToken,
    registry,
    relay,
    stop: async (drainMs = 0) => {
      if (stopped) return;
      stopped = true;
      dashboard.stop();
      await server.close(drainMs);
      // After the requests: each one's exchange is accepted (on disk) before it is answered.
      await clients.close(Math.min(drainMs, 5_000));
      await recorder?.close();
      await telemetry.stop();
    },
  };
}
