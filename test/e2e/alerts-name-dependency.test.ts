/**
 * The shipped alert rules, loaded by a real Prometheus server scraping the demo agent's `/metrics`:
 * with two peers down, `CircuitBreakerOpen` fires twice, once per peer, and each alert's summary names
 * its peer (`a2a/alpha`, `a2a/beta`), not the family. The rules file is the shipped one with every
 * `for:` rewritten to `0s` (in a temp dir), so the alerts fire on the first evaluation instead of after
 * a minute. Waits are bounded polls (`waitFor`), never sleeps.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClientFactory, JsonRpcTransportFactory, type Client } from '@a2a-js/sdk/client';
import { startPrometheus, waitFor, type PrometheusServer } from '@phlow/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type DemoProcess } from './demo-process.js';
import { chaos, getJson, relay, type Health } from './helpers.js';

const RULES = fileURLToPath(new URL('../../packages/otel/deploy/prometheus/alerts.yml', import.meta.url));
const PATIENCE = { timeoutMs: 30_000, everyMs: 200 };

let demo: DemoProcess;
let client: Client;
let prometheus: PrometheusServer | undefined;
let dir = '';
let api = '';

beforeAll(async () => {
  // Breakers stay open for the whole test (a recovery timeout of 10 minutes): the alert must not flicker.
  demo = await startDemo({ PHLOW_RECOVERY_MS: '600000', PHLOW_PEER_TIMEOUT_MS: '5000' });
  client = await new ClientFactory({ transports: [new JsonRpcTransportFactory()] }).createFromUrl(demo.url);

  dir = await mkdtemp(join(tmpdir(), 'phlow-alerts-'));
  const rules = await readFile(RULES, 'utf8');
  const immediate = rules.replace(/^(\s+)for: \S+$/gm, '$1for: 0s');
  expect(immediate).not.toBe(rules); // the rewrite took: the rules do have `for:` clauses
  await writeFile(join(dir, 'alerts.yml'), immediate);
  prometheus = await startPrometheus({ target: new URL(`${demo.url}/metrics`), ruleFiles: [join(dir, 'alerts.yml')] });
  api = prometheus.api;
}, 90_000);

afterAll(async () => {
  await prometheus?.stop();
  await demo?.stop();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

interface Alert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing' | 'inactive';
}

async function alerts(): Promise<Alert[]> {
  const body = (await (await fetch(`${api}/api/v1/alerts`)).json()) as { status: string; data: { alerts: Alert[] } };
  if (body.status !== 'success') throw new Error(`alerts query failed: ${JSON.stringify(body)}`);
  return body.data.alerts;
}

const health = () => getJson<Health>(`${demo.url}/health/circuit-breakers`);

describe('a real Prometheus with the shipped rules, scraping the demo with two peers down', () => {
  it('fires CircuitBreakerOpen once per open peer, each summary naming it', { timeout: 90_000 }, async () => {
    // scraped while every peer is up: the members are series of their own, and nothing fires
    expect((await relay(client, 'alpha', 'hello')).relay).toMatchObject({ ok: true });
    await waitFor('a2a/alpha to be scraped', async () => (await prometheus!.query('phlow_circuit_breaker_state{name="a2a/alpha"}')).length > 0, PATIENCE);
    expect((await alerts()).filter((a) => a.labels.alertname === 'CircuitBreakerOpen')).toEqual([]);

    for (const peer of ['alpha', 'beta']) {
      await chaos(demo.url, `peer-${peer}`, 'error503');
      await waitFor(`a2a/${peer} to open`, async () => {
        await relay(client, peer, 'are you there?');
        return (await health()).breaker_stats[`a2a/${peer}`]?.state === 'open';
      }, PATIENCE);
    }
    expect((await health()).open_breakers.sort()).toEqual(['a2a/alpha', 'a2a/beta']);

    const firing = await waitFor('two CircuitBreakerOpen alerts to fire', async () => {
      const open = (await alerts()).filter((a) => a.labels.alertname === 'CircuitBreakerOpen' && a.state === 'firing');
      return open.length >= 2 && open;
    }, PATIENCE);
    const byName = firing.map((a) => ({ name: a.labels.name, summary: a.annotations.summary })).sort((a, b) => a.name!.localeCompare(b.name!));
    expect(byName).toEqual([
      { name: 'a2a/alpha', summary: 'Circuit breaker a2a/alpha is open' },
      { name: 'a2a/beta', summary: 'Circuit breaker a2a/beta is open' },
    ]);
    // the healthy peer raises nothing, and no member went to the family's overflow
    expect(firing.map((a) => a.labels.name)).not.toContain('a2a/gamma');
    expect((await alerts()).filter((a) => a.labels.alertname === 'CircuitBreakerSeriesOverflow')).toEqual([]);
  });
});
