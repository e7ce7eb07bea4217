import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRecording } from './read-recording.js';
import { recordScenario } from './record-scenario.test-util.js';
import { renderHtml } from './report-html.js';
import { scenarios } from './scenarios.js';
import { tune } from './tune.js';

describe('estimates are labelled wherever they reach', () => {
  it('a configuration admitting imputed calls has every figure marked: cost in the HTML, each figure in the reasons, the defaults beside them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'phlow-tune-est-'));
    try {
      const day = scenarios.flapping(2, 5, 2 * 3_600_000);
      await recordScenario(day, dir, { failureThreshold: 2, recoveryTimeoutMs: 30_000 });
      const traffic = (await loadRecording(dir)).get(day.traffic.name)!;
      // Refusing healthy calls is made so costly that the most permissive configuration wins: it lets
      // through calls the recording breaker refused, so all of its figures rest on imputed outcomes.
      const report = await tune(traffic, { workers: 1, grid: [{ failureThreshold: 50, recoveryTimeoutMs: 1_000 }], weights: { healthyRefused: 1e6 } });
      const best = report.results[report.recommended]!;
      expect(best.metrics.imputedCallsAdmitted).toBeGreaterThan(0);
      const rows = renderHtml([report]).match(/<tr class="[^"]*">[\s\S]*?<\/tr>/g)!.slice(0); // data rows only (the head row has no class)
      expect(rows).toHaveLength(report.results.length);
      report.results.forEach((result, i) => {
        const lastCell = /<td( class="est")?>[^<]*<\/td><\/tr>$/.exec(rows[i]!)!;
        const estimated = result.metrics.estimated.some((key) => key === 'deadCalls' || key === 'healthyRefused' || key === 'flaps');
        expect(lastCell[1] !== undefined).toBe(estimated);
      });
      const [cost, trips, outages] = report.reasons;
      expect(cost).toMatch(/flaps \(estimate\) = [\d.]+ \(estimate\)/);
      expect(trips).toMatch(/flaps: [\d.]+ per hour \(estimate\)/);
      expect(trips).toMatch(/guide defaults: [\d.]+ \(estimate\)\)/);
      expect(outages).toMatch(/closed [^(]+ after the dependency recovered \(estimate\)/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
