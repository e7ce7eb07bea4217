// Shared by this package's tests only (excluded from the build): a stand-in project behind a fault proxy.
import { CircuitBreakerRegistry, ManualClock } from '@phlow/circuit-breaker';
import { AGENTS_SQL } from '@phlow/test-helpers';
import { FaultProxy, SupabaseStandIn } from '@phlow/testkit';
import type { SupabaseClient } from '@supabase/supabase-js';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { createClient, type ProtectedClientOptions, type SupabaseProtectionOptions } from './index.js';

export const seedAgents = [
  { id: 'a1', name: 'Ada', role: 'planner', score: 7 },
  { id: 'a2', name: 'Bob', role: 'critic', score: 3 },
];

/** What supabase-js needs in these tests: no session to keep. */
export const testClientOptions = { auth: { persistSession: false, autoRefreshToken: false } };

/** One stand-in per test file (PGlite boots in ~3 s); a fresh proxy, registry and clock per client. */
export class Project {
  readonly standIn = new SupabaseStandIn({ schemaFile: AGENTS_SQL, apiKey: 'test-key' });
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

  /**
   * A protected client through a new proxy, with its own registry and (unless `breaker.clock` says
   * otherwise: `undefined` for the real one) a manual clock.
   */
  async client(
    protection: SupabaseProtectionOptions = {},
    clientOptions: Omit<ProtectedClientOptions<'public'>, 'protection'> = {},
  ): Promise<{ supabase: SupabaseClient; proxy: FaultProxy; registry: CircuitBreakerRegistry; clock: ManualClock }> {
    const proxy = await this.proxy();
    const registry = new CircuitBreakerRegistry({ logger: false });
    const clock = new ManualClock(Date.now());
    const supabase = createClient(proxy.url, 'test-key', {
      ...testClientOptions,
      ...clientOptions,
      protection: { registry, ...protection, breaker: { clock, ...protection.breaker } },
    });
    return { supabase, proxy, registry, clock };
  }
}

/** `project` for the test file calling this: started before its tests, reseeded before each, stopped after them. */
export function projectForFile<T extends Project>(project: T): T {
  beforeAll(() => project.start());
  afterAll(() => project.stop());
  beforeEach(() => project.reseed());
  return project;
}
