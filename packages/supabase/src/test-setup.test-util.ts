// Shared by this package's tests only (excluded from the build): a stand-in project behind a fault proxy.
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { CircuitBreakerRegistry, ManualClock } from '@phlow/circuit-breaker';
import { FaultProxy, SupabaseStandIn } from '@phlow/testkit';
import type { SupabaseClient } from '@supabase/supabase-js';
import WebSocket from 'ws';
import { createClient, type ProtectedClientOptions } from './index.js';
import type { SupabaseCircuitOptions } from './options.js';

export const schemaFile = fileURLToPath(new URL('../test-fixtures/agents.sql', import.meta.url));

export const seedAgents = [
  { id: 'a1', name: 'Ada', role: 'planner', score: 7 },
  { id: 'a2', name: 'Bob', role: 'critic', score: 3 },
];

/** One stand-in per test file (PGlite boots in ~3 s); a fresh proxy, registry and clock per client. */
export class Project {
  readonly standIn = new SupabaseStandIn({ schemaFile, apiKey: 'test-key' });
  readonly proxies: FaultProxy[] = [];

  start(): Promise<void> {
    return this.standIn.start();
  }

  async stop(): Promise<void> {
    for (const proxy of this.proxies.splice(0)) await proxy.stop();
    await this.standIn.stop();
  }

  async reseed(): Promise<void> {
    await this.standIn.query('truncate events, agents restart identity cascade');
    await this.standIn.query(
      'insert into agents (id, name, role, score) select id, name, role, score from json_populate_recordset(null::agents, $1::json)',
      [JSON.stringify(seedAgents)],
    );
  }

  async proxy(): Promise<FaultProxy> {
    const proxy = new FaultProxy({ target: this.standIn.url });
    await proxy.start();
    this.proxies.push(proxy);
    return proxy;
  }

  /** A protected client through a new proxy, with its own registry and (unless told) a manual clock. */
  async client(
    circuitBreaker: SupabaseCircuitOptions = {},
    clientOptions: Omit<ProtectedClientOptions<'public'>, 'circuitBreaker'> = {},
  ): Promise<{ supabase: SupabaseClient; proxy: FaultProxy; registry: CircuitBreakerRegistry; clock: ManualClock }> {
    const proxy = await this.proxy();
    const registry = new CircuitBreakerRegistry({ logger: false });
    const clock = new ManualClock(Date.now());
    const supabase = createClient(proxy.url, 'test-key', {
      realtime: { transport: WebSocket as never },
      auth: { persistSession: false, autoRefreshToken: false },
      ...clientOptions,
      circuitBreaker: { registry, clock, ...circuitBreaker },
    });
    return { supabase, proxy, registry, clock };
  }
}

/** Polls until `condition` holds; the test's own timeout bounds the wait (no timed assertion). */
export async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await sleep(5);
}
