import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { CircuitBreakerRegistry, ManualClock } from '@phlow/circuit-breaker';
import { startPrometheus, waitFor, type PrometheusServer } from '@phlow/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instrumentCircuitBreakers } from '../instrument-circuit-breakers.js';
import { settle } from '../test-support.test-util.js';
import { startTelemetry, type TelemetryHandle } from './start-telemetry.js';

const RULES = fileURLToPath(new URL('../../deploy/prometheus/alerts.yml', import.meta.url));
/** Every wait below gives up after this long: the whole test stays bounded. */
const DEADLINE_MS = 30_000;

/** How every wait below polls Prometheus: bounded, and not more often than its own evaluation needs. */
const PATIENCE = { timeoutMs: DEADLINE_MS, everyMs: 100 };

let prometheus: PrometheusServer | undefined;
let telemetry: TelemetryHandle;

beforeAll(async () => {
  telemetry = await startTelemetry({ prometheus: { host: '127.0.0.1', port: 0 } });
  prometheus = await startPrometheus({ target: new URL(telemetry.prometheusUrl!), ruleFiles: [RULES], readyTimeoutMs: DEADLINE_MS });
}, DEADLINE_MS + 5_000);

afterAll(async () => {
  await prometheus?.stop();
  await telemetry?.shutdown();
});

type Sample = { metric: Record<string, string>; value: [number, string] };
const query = (expr: string): Promise<Sample[]> => prometheus!.query<Sample>(expr);

describe('a real Prometheus server scraping a process whose breaker opens', () => {
  it('returns the CircuitBreakerOpen series while open and nothing once closed', { timeout: 3 * DEADLINE_MS }, async () => {
    const rules = await readFile(RULES, 'utf8');
    const openExpr = /- alert: CircuitBreakerOpen\n\s+expr: (.+)\n/.exec(rules)?.[1];
    expect(openExpr).toBe('phlow_circuit_breaker_state{state="open"} == 1');

    const clock = new ManualClock();
    const registry = new CircuitBreakerRegistry({ clock, logger: false, failureThreshold: 2, recoveryTimeoutMs: 30_000 });
    const instrumentation = instrumentCircuitBreakers(registry, { meterProvider: telemetry.meterProvider });
    try {
      const breaker = registry.getBreaker('external_api');
      await breaker.execute(() => 'ok');
      // scraped while closed: the series exist, the alert expression selects nothing
      await waitFor('the closed breaker to be scraped', async () => (await query('phlow_circuit_breaker_state{name="external_api",state="closed"}')).length === 1, PATIENCE);
      expect(await query(openExpr!)).toEqual([]);

      for (let i = 0; i < 2; i++) await settle(breaker.execute(() => Promise.reject(new Error('503'))));
      expect(breaker.state).toBe('open');
      const open = await waitFor('the open series', async () => {
        const result = await query(openExpr!);
        return result.length > 0 && result;
      }, PATIENCE);
      expect(open.map((series) => series.metric)).toEqual([
        expect.objectContaining({
          __name__: 'phlow_circuit_breaker_state',
          name: 'external_api',
          state: 'open',
          job: 'agent',
          otel_scope_name: '@phlow/otel',
        }),
      ]);
      expect(open[0]!.value[1]).toBe('1');
      // the shipped rule is loaded and evaluating: the alert is pending (its `for: 1m` has not passed)
      const alerts = await waitFor('the CircuitBreakerOpen alert to be pending', async () => {
        const result = await query('ALERTS{alertname="CircuitBreakerOpen"}');
        return result.length > 0 && result;
      }, PATIENCE);
      expect(alerts[0]!.metric).toMatchObject({ alertstate: 'pending', name: 'external_api', severity: 'warning' });
      expect((await query('phlow_circuit_breaker_failures_total{name="external_api"}'))[0]!.value[1]).toBe('2');

      // the recovery timeout passes, a probe succeeds: closed
      clock.advance(30_000);
      await breaker.execute(() => 'ok');
      expect(breaker.state).toBe('closed');
      await waitFor('the open series to be gone', async () => (await query(openExpr!)).length === 0, PATIENCE);
      await waitFor('the alert to be gone', async () => (await query('ALERTS{alertname="CircuitBreakerOpen"}')).length === 0, PATIENCE);
    } finally {
      instrumentation.dispose();
    }
  });
});
