/**
 * The operator's controls: chaos actions on the embedded dependencies' fault proxies (`GET /chaos`,
 * `POST /chaos/:dependency/:action`, same-origin or with the admin token) and the admin reset of every
 * breaker (`POST /admin/reset`, admin token only).
 */
import type { CircuitBreakerRegistry } from '@phlow/circuit-breaker';
import type { FaultProxy, Faults } from '@phlow/testkit';
import type { Express, Request, Response } from 'express';
import { adminOnly, operatorOnly } from './operator-requests.js';
import { OPERATOR_PEERS } from './peer-identity.js';
import type { ProtectedClients } from './protected-clients.js';

/** The chaos actions the dashboard offers, as FaultProxy faults. */
export const CHAOS_ACTIONS: Readonly<Record<string, Faults | null>> = {
  down: { refuse: true },
  hang: { blackHole: true },
  error503: { errorStatus: { status: 503 } },
  slow: { latency: { ms: 1_500 } },
  heal: null,
};

/** A chaos target as the dashboard shows it: its proxy's faults and traffic, and the breaker in front of it. */
export interface DependencyState {
  readonly name: string;
  readonly mode: FaultProxy['mode'];
  readonly breaker: string | undefined;
  readonly faults: FaultProxy['faults'];
  readonly forwarded: number;
  readonly received: number;
}

/** The breaker in front of a chaos target (`supabase`, `did-host`, `peer-<id>`), when the agent has one. */
export function breakerOfDependency(clients: Pick<ProtectedClients, 'supabaseBreaker' | 'didHostBreaker' | 'relay'>): (dependency: string) => string | undefined {
  return (dependency) => {
    if (dependency === 'supabase') return clients.supabaseBreaker().name;
    if (dependency === 'did-host') return clients.didHostBreaker()?.name;
    if (dependency.startsWith('peer-')) return clients.relay.breakerOf({ family: OPERATOR_PEERS, key: dependency.slice('peer-'.length) })?.name;
    return undefined;
  };
}

export interface ChaosRoutesOptions {
  readonly adminToken: string;
  readonly registry: CircuitBreakerRegistry;
  /** Chaos targets by name (the embedded dependencies' proxies). */
  readonly proxies: ReadonlyMap<string, FaultProxy>;
  readonly breakerOf: (dependency: string) => string | undefined;
  /** Called after every change (to push the new state to dashboards). */
  readonly changed: () => void;
}

export function chaosState({ proxies, breakerOf }: Pick<ChaosRoutesOptions, 'proxies' | 'breakerOf'>): DependencyState[] {
  return [...proxies].map(([name, proxy]) => ({
    name,
    mode: proxy.mode,
    breaker: breakerOf(name),
    faults: proxy.faults,
    forwarded: proxy.mode === 'tcp' ? proxy.stats().connections.accepted : proxy.stats().requests.forwarded,
    received: proxy.stats().requests.received,
  }));
}

export function mountChaosRoutes(app: Express, options: ChaosRoutesOptions): void {
  const { adminToken, registry, proxies, changed } = options;
  app.get('/chaos', (_req, res) => void res.json({ actions: Object.keys(CHAOS_ACTIONS), dependencies: chaosState(options) }));
  app.post('/chaos/:dependency/:action', operatorOnly(adminToken), async (req: Request, res: Response) => {
    const dependency = String(req.params['dependency']);
    const action = String(req.params['action']);
    const proxy = proxies.get(dependency);
    if (proxy === undefined) {
      res.status(404).json({ detail: `no chaos control for ${dependency}; known: ${[...proxies.keys()].join(', ')} (dependencies from the environment have none)` });
      return;
    }
    if (!Object.hasOwn(CHAOS_ACTIONS, action)) {
      res.status(400).json({ detail: `unknown action ${action}; allowed: ${Object.keys(CHAOS_ACTIONS).join(', ')}` });
      return;
    }
    const faults = CHAOS_ACTIONS[action];
    try {
      if (faults === null || faults === undefined) await proxy.clearFaults();
      else await proxy.setFaults(faults);
    } catch (error) {
      // e.g. an HTTP status on a TCP proxy (the DID host's: TLS passes through it unread).
      res.status(400).json({ detail: `${dependency} cannot ${action}: ${(error as Error).message}` });
      return;
    }
    process.stderr.write(`${JSON.stringify({ timestamp: Date.now() / 1000, level: 'info', message: `chaos: ${dependency} ${action}`, dependency, action, faults: proxy.faults })}\n`);
    changed();
    res.json({ dependency, action, faults: proxy.faults });
  });
  app.post('/admin/reset', adminOnly(adminToken), (_req: Request, res: Response) => {
    registry.resetAll();
    changed();
    res.json({ reset: Object.keys(registry.getStats()) });
  });
}
