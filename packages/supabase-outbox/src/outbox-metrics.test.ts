// The outbox's metrics through the real OpenTelemetry SDK (a MeterProvider with an in-memory reader).
import { join } from 'node:path';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { waitFor } from '@phlow/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SupabaseOutbox } from './supabase-outbox.js';
import { startTestProject, type TestProject } from './test-database.test-util.js';

let project: TestProject;
beforeAll(async () => {
  project = await startTestProject();
});
afterAll(async () => {
  await project?.stop();
});

async function collect(reader: PeriodicExportingMetricReader): Promise<Map<string, { attributes: Record<string, unknown>; value: unknown }[]>> {
  const { resourceMetrics } = await reader.collect();
  const out = new Map<string, { attributes: Record<string, unknown>; value: unknown }[]>();
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) out.set(metric.descriptor.name, metric.dataPoints.map((p) => ({ attributes: p.attributes, value: p.value })));
  }
  return out;
}

describe('outbox metrics', () => {
  it('pending, bytes, dead letters, caps as gauges; delivered, replayed, dead-lettered, refused as counters', async () => {
    const reader = new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 3_600_000 });
    const provider = new MeterProvider({ readers: [reader] });
    const outbox = new SupabaseOutbox({ supabase: project.client, path: join(project.dir, 'metrics.sqlite'), name: 'messages', meter: provider.getMeter('test'), retryIntervalMs: 20, maxRows: 10, maxBytes: 1_048_576 });
    await project.proxy.setFaults({ refuse: true });
    await outbox.insert('messages', { conversation_id: 'c', body: 'one' });
    await outbox.insert('messages', { conversation_id: 'c', body: 'two' });
    await outbox.insert('messages', { conversation_id: 'c', body: 'x'.repeat(10_001) }); // breaks the check constraint
    await expect(outbox.insert('messages', { conversation_id: 'c', body: '\u0000' })).rejects.toThrow(/NUL/);
    let metrics = await collect(reader);
    const messages = { outbox: 'messages' };
    expect(metrics.get('phlow.outbox.pending')).toEqual([{ attributes: messages, value: 3 }]);
    expect(metrics.get('phlow.outbox.pending_bytes')![0]!.value).toBe(outbox.stats.pendingBytes);
    expect(metrics.get('phlow.outbox.max_rows')).toEqual([{ attributes: messages, value: 10 }]);
    expect(metrics.get('phlow.outbox.max_bytes')).toEqual([{ attributes: messages, value: 1_048_576 }]);
    expect(metrics.get('phlow.outbox.refused')).toEqual([{ attributes: { outbox: 'messages', reason: 'unstorable' }, value: 1 }]);
    // Supabase away: its breaker tells; the outbox is not "stalled".
    expect(metrics.get('phlow.outbox.stalled')).toEqual([{ attributes: messages, value: 0 }]);

    await project.proxy.clearFaults();
    await waitFor('the replay', () => outbox.stats.pending === 0);
    metrics = await collect(reader);
    expect(metrics.get('phlow.outbox.pending')).toEqual([{ attributes: messages, value: 0 }]);
    expect(metrics.get('phlow.outbox.dead_letters')).toEqual([{ attributes: messages, value: 1 }]);
    expect(metrics.get('phlow.outbox.dead_lettered')).toEqual([{ attributes: messages, value: 1 }]);
    expect(metrics.get('phlow.outbox.delivered')).toEqual([{ attributes: messages, value: 2 }]);
    expect(metrics.get('phlow.outbox.replayed')).toEqual([{ attributes: messages, value: 2 }]);

    // A write Supabase answers but does not take (a column the table lacks): stalled until migrated.
    await outbox.insert('messages', { conversation_id: 'm', body: 'needs migration', priority: 1 }, { conversation: 'm' });
    metrics = await collect(reader);
    expect(metrics.get('phlow.outbox.stalled')).toEqual([{ attributes: messages, value: 1 }]);

    await outbox.close();
    // Closed: its callback is removed, a collection still works.
    await expect(collect(reader)).resolves.toBeInstanceOf(Map);
    await provider.shutdown();
  });
});
