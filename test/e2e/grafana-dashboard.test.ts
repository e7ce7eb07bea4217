/**
 * Every query of the shipped Grafana dashboard returns data from a real Prometheus that scrapes the demo
 * agent while `demo:load` drives relay traffic and the chaos controls break peers: one peer fails and
 * recovers (its breaker opens, probes, closes), another keeps failing (failures and rejections go on).
 * Grafana itself cannot run here, so its template variables are substituted as Grafana would for the
 * "All" selection, and each target goes to Prometheus' HTTP API as an instant query.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { startPrometheus, waitFor, type PrometheusServer } from '@phlow/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type DemoProcess } from './demo-process.js';
import { chaos, getJson, type ChaosState } from './helpers.js';

const DASHBOARD = fileURLToPath(new URL('../../packages/otel/deploy/grafana/phlow-circuit-breakers.json', import.meta.url));
const LOAD = fileURLToPath(new URL('../../apps/demo-agent/dist/load.js', import.meta.url));
/** Every wait gives up after this long (a loaded 2-core machine runs three suites at once). */
const PATIENCE = { timeoutMs: 45_000, everyMs: 250 };

/**
 * What Grafana puts in place of each variable: "All" breakers (the variable's allValue), and for
 * `$__rate_interval` at least four scrape intervals (the scrape interval here is 1 s).
 */
const VARIABLES: Record<string, string> = {
  name: '.*',
  __rate_interval: '30s',
  __interval: '2s',
  __range: '5m',
};

interface Target {
  readonly refId: string;
  readonly expr: string;
}
interface DashboardJson {
  readonly panels: { readonly title: string; readonly type: string; readonly targets: Target[] }[];
  readonly templating: { readonly list: { readonly name: string; readonly type: string; readonly query?: { query: string } }[] };
}

type Sample = { metric: Record<string, string>; value: [number, string] };

let demo: DemoProcess;
let load: ChildProcess | undefined;
let loadOutput = '';
let prometheus: PrometheusServer | undefined;
let api = '';

async function stop(child: ChildProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

beforeAll(async () => {
  demo = await startDemo({ PHLOW_RECOVERY_MS: '1000', PHLOW_PEER_TIMEOUT_MS: '2000' });
  prometheus = await startPrometheus({ target: new URL('/metrics', demo.url), intervalMs: 1_000, jobName: 'demo', readyTimeoutMs: PATIENCE.timeoutMs });
  api = prometheus.api;
  // `pnpm demo:load` as a user runs it (the demo is already built): relays to every peer until stopped.
  load = spawn(process.execPath, [LOAD], {
    env: { ...process.env, AGENT_URL: demo.url, PEERS: 'alpha,beta,gamma', CONCURRENCY: '4', RATE: '30', DURATION: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  load.stdout!.setEncoding('utf8').on('data', (chunk: string) => (loadOutput = (loadOutput + chunk).slice(-4_000)));
  load.stderr!.setEncoding('utf8').on('data', (chunk: string) => (loadOutput = (loadOutput + chunk).slice(-4_000)));
}, 120_000);

afterAll(async () => {
  await stop(load, 'SIGINT');
  await prometheus?.stop();
  await demo?.stop();
});

async function query(expr: string): Promise<Sample[]> {
  const response = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(expr)}`, { signal: AbortSignal.timeout(10_000) });
  const body = (await response.json()) as { status: string; error?: string; data: { resultType: string; result: Sample[] | [number, string] } };
  if (body.status !== 'success') throw new Error(`query failed: ${body.error ?? JSON.stringify(body)}\n${expr}`);
  // a scalar answer (no series at all) is no panel data
  return body.data.resultType === 'vector' ? (body.data.result as Sample[]) : [];
}

/** `expr` with Grafana's variables replaced; an unknown variable fails the test rather than reaching Prometheus. */
function substitute(expr: string): string {
  return expr.replace(/\$(\w+)|\$\{(\w+)(?::\w+)?\}/g, (whole, plain: string | undefined, braced: string | undefined) => {
    const value = VARIABLES[plain ?? braced!];
    if (value === undefined) throw new Error(`the dashboard uses ${whole}, which this test does not know how to fill in:\n${expr}`);
    return value;
  });
}

const finite = (samples: Sample[]) => samples.filter((sample) => Number.isFinite(Number(sample.value[1])));

/** The breaker in front of a chaos target, as the agent reports it. */
async function breakerOf(dependency: string): Promise<string> {
  const state = await getJson<ChaosState>(`${demo.url}/chaos`);
  const breaker = state.dependencies.find((entry) => entry.name === dependency)?.breaker;
  if (breaker === undefined) throw new Error(`no breaker in front of ${dependency}: ${JSON.stringify(state)}`);
  return breaker;
}

describe('the Grafana dashboard against a real Prometheus scraping the demo under load and chaos', () => {
  it('every panel query returns data', { timeout: 240_000 }, async () => {
    const dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as DashboardJson;
    await waitFor('load to reach the peers', async () => {
      if (load?.exitCode !== null) throw new Error(`demo:load exited:\n${loadOutput}`);
      return (await query('sum(phlow_circuit_breaker_calls_total{outcome="success"}) > 20')).length > 0;
    }, PATIENCE);

    // beta fails and recovers: its breaker opens, probes after 1 s, and closes once beta answers again
    const beta = await breakerOf('peer-beta');
    await chaos(demo.url, 'peer-beta', 'error503');
    await waitFor(`${beta} to open`, async () => (await query('phlow_circuit_breaker_transitions_total{to="open"}')).length > 0, PATIENCE);
    await chaos(demo.url, 'peer-beta', 'heal');
    await waitFor(`${beta} to close again`, async () => (await query('phlow_circuit_breaker_transitions_total{from="half_open", to="closed"}')).length > 0, PATIENCE);
    // alpha keeps failing while the panels are read: failures and rejections are happening now
    await chaos(demo.url, 'peer-alpha', 'error503');
    await waitFor('rejections to be scraped', async () => (await query('sum(increase(phlow_circuit_breaker_calls_total{outcome="rejected"}[30s])) > 0')).length > 0, PATIENCE);

    // the breaker variable lists the demo's breakers
    const variable = dashboard.templating.list.find((entry) => entry.name === 'name');
    const metric = /^label_values\((\w+), name\)$/.exec(variable?.query?.query ?? '')?.[1];
    expect(metric).toBe('phlow_circuit_breaker_state');
    const names = await getJson<{ data: string[] }>(`${api}/api/v1/label/name/values?match[]=${metric}`);
    expect(names.data.length).toBeGreaterThan(0);
    expect(names.data.some((name) => name === beta || beta.startsWith(`${name}/`))).toBe(true);

    const targets = dashboard.panels.flatMap((panel) => panel.targets.map((target) => ({ panel: panel.title, type: panel.type, ...target })));
    expect(targets.length).toBeGreaterThanOrEqual(dashboard.panels.length);
    const answers = new Map<string, Sample[]>();
    for (const target of targets) {
      const expr = substitute(target.expr);
      const samples = await waitFor(`data for "${target.panel}" ${target.refId}: ${expr}`, async () => {
        const result = finite(await query(expr));
        return result.length > 0 && result;
      }, PATIENCE);
      answers.set(`${target.panel} ${target.refId}`, samples);
    }
    expect([...answers.keys()]).toHaveLength(targets.length);

    // the state timeline's values are the states its value mappings name
    const timeline = dashboard.panels.find((panel) => panel.type === 'state-timeline')!;
    const states = answers.get(`${timeline.title} A`)!;
    for (const sample of states) expect(['0', '1', '2', '3', '4']).toContain(sample.value[1]);
    expect(states.map((sample) => sample.metric['name'])).toEqual(expect.arrayContaining([beta]));
    // the recovery panel names the breaker that recovered
    const recovery = dashboard.panels.find((panel) => /recovery/i.test(panel.title))!;
    for (const target of recovery.targets) expect(answers.get(`${recovery.title} ${target.refId}`)!.map((sample) => sample.metric['name'])).toContain(beta);
  });
});
