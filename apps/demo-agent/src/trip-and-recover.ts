/**
 * Watch a breaker trip on a real failing dependency and recover by itself, on one machine.
 *
 * A small HTTP service runs on loopback behind the testkit's fault proxy. A breaker (the guide's
 * Supabase settings, with a short recovery timeout so the demo is quick) protects every call. Midway
 * the proxy starts refusing connections: three failures open the breaker, later calls are rejected in
 * microseconds without touching the network, a probe after the recovery timeout fails while the
 * dependency is still down, and once the proxy heals the next probe closes the breaker.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CircuitBreakerError,
  CircuitBreakerRegistry,
  CircuitOpenError,
  type CircuitBreaker,
  type CircuitLogger,
} from '@phlow/circuit-breaker';
import { FaultProxy } from '@phlow/testkit';

const CALL_EVERY_MS = 150;
const BREAK_AT_MS = 1_500;
const HEAL_AT_MS = 5_000;
const STOP_AT_MS = 7_500;

export interface DemoOptions {
  /** Where the narration goes (the JSON state-change logs go to stderr). */
  readonly print?: (line: string) => void;
  /** Scales every delay of the script (tests run it faster). */
  readonly speed?: number;
  /** Where the breaker's JSON state-change logs go (default: JSON lines on stderr). */
  readonly logger?: CircuitLogger;
}

/** Runs the scenario; resolves with the registry's final stats in the guide's health shape. */
export async function runTripAndRecover({ print = console.log, speed = 1, logger }: DemoOptions = {}) {
  const service = await startService();
  const proxy = new FaultProxy({ target: service.url });
  await proxy.start();
  const registry = new CircuitBreakerRegistry(logger === undefined ? {} : { logger });
  const breaker = registry.getBreaker('supabase', {
    failureThreshold: 3,
    recoveryTimeoutMs: 1_500 / speed,
    timeoutMs: 10_000,
  });
  const started = Date.now();
  const elapsed = () => ((Date.now() - started) / 1000).toFixed(1).padStart(4);
  breaker.onStateChange((e) => print(`${elapsed()}s  ── state ${e.from} → ${e.to} (${e.reason})`));

  try {
    let broken = false;
    let healed = false;
    for (let n = 1; Date.now() - started < STOP_AT_MS / speed; n++) {
      const at = (Date.now() - started) * speed;
      if (!broken && at >= BREAK_AT_MS) {
        broken = true;
        await proxy.setFaults({ refuse: true });
        print(`${elapsed()}s  [chaos] the dependency goes down (the proxy refuses connections)`);
      }
      if (!healed && at >= HEAL_AT_MS) {
        healed = true;
        await proxy.clearFaults();
        print(`${elapsed()}s  [chaos] the dependency is back`);
      }
      print(`${elapsed()}s  call ${String(n).padStart(2)}  ${await describeCall(breaker, proxy.url)}`);
      await sleep(CALL_EVERY_MS / speed);
    }
    const stats = registry.getStats();
    const openBreakers = Object.keys(stats).filter((name) => stats[name]!.state === 'open');
    const health = { status: openBreakers.length === 0 ? 'healthy' : 'degraded', open_breakers: openBreakers, breaker_stats: stats };
    print(`\nGET /health/circuit-breakers would answer:\n${JSON.stringify(health, null, 2)}`);
    const { total_calls, total_rejections } = stats['supabase']!;
    print(`\n${total_calls} calls; ${total_rejections} rejected without touching the network; ${proxy.stats().requests.forwarded} reached the dependency.`);
    return health;
  } finally {
    await proxy.stop();
    await service.stop();
  }
}

async function describeCall(breaker: CircuitBreaker, url: string): Promise<string> {
  const t0 = process.hrtime.bigint();
  try {
    const body = await breaker.execute(async ({ signal }) => {
      const response = await fetch(`${url}/agents`, { signal });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      return (await response.json()) as { agents: string[] };
    });
    return `ok       ${micros(t0)}  ${breaker.state.padEnd(9)} ${body.agents.length} agents`;
  } catch (error) {
    if (CircuitOpenError.isInstance(error)) {
      return `rejected ${micros(t0)}  ${error.state.padEnd(9)} fail fast, retry in ${error.retryAfterMs} ms (fallback: cached data)`;
    }
    if (CircuitBreakerError.isInstance(error)) return `timeout  ${micros(t0)}  ${breaker.state}`;
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    return `failed   ${micros(t0)}  ${breaker.state.padEnd(9)} ${cause} (${breaker.getStats().failure_count}/3)`;
  }
}

function micros(t0: bigint): string {
  const us = Number(process.hrtime.bigint() - t0) / 1000;
  return (us >= 1000 ? `${(us / 1000).toFixed(1)} ms` : `${us.toFixed(0)} µs`).padStart(8);
}

/** The "dependency": a tiny JSON service on loopback. */
async function startService(): Promise<{ url: string; stop(): Promise<void> }> {
  const server: Server = createServer((_, response) => {
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ agents: ['planner', 'researcher', 'writer'] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log('Phlow for TypeScript: a breaker trips on a failing dependency and recovers by itself.\n');
  await runTripAndRecover();
}
