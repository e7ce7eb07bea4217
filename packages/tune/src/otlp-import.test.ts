import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trace } from '@opentelemetry/api';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { CircuitBreaker, ManualClock } from '@phlow/circuit-breaker';
import { withBreakerSpan } from '@phlow/otel';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importOtlpSpans } from './otlp-import.js';
import { OUTCOME_CODE } from './traffic.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'phlow-tune-otlp-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string | Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

describe('importOtlpSpans', () => {
  it('reads the breaker spans @phlow/otel writes, serialised as OTLP/JSON by the OpenTelemetry SDK', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    const tracer = provider.getTracer('test');
    const clock = new ManualClock(Date.now());
    const breaker = new CircuitBreaker('payments', { clock, logger: false, failureThreshold: 2, recoveryTimeoutMs: 60_000, timeoutMs: 50 });
    const call = (fn: () => unknown) => withBreakerSpan(tracer, breaker, 'charge payments', () => fn()).catch(() => {});
    await call(() => 'ok');
    await call(() => Promise.reject(new TypeError('fetch failed')));
    const hung = call(() => new Promise(() => {}));
    clock.advance(200);
    await hung; // timed out: two failures, open
    await call(() => 'never runs');
    trace.getTracer('other').startSpan('unrelated').end();
    provider.getTracer('plain').startSpan('not a breaker call').end();
    const body = JsonTraceSerializer.serializeRequest(exporter.getFinishedSpans())!;
    const path = await file('spans.json', body);
    const imported = await importOtlpSpans(path);
    expect(imported.skippedSpans).toBe(1);
    const traffic = imported.traffic.get('payments')!;
    expect(Array.from(traffic.outcome)).toEqual([OUTCOME_CODE.success, OUTCOME_CODE.failure, OUTCOME_CODE.timeout, OUTCOME_CODE.rejected]);
    // The same spans as a collector's file exporter writes them: one request per line.
    const lines = await file('spans.jsonl.json', `${new TextDecoder().decode(body)}\n${new TextDecoder().decode(body)}\n`);
    expect((await importOtlpSpans(lines)).traffic.get('payments')!.start.length).toBe(8);
    await provider.shutdown();
  });

  const span = (extra: object) => JSON.stringify({
    resourceSpans: [{ scopeSpans: [{ spans: [{ name: 's', startTimeUnixNano: '1700000000000000000', endTimeUnixNano: '1700000000005000000', attributes: [{ key: 'phlow.circuit_breaker.name', value: { stringValue: 'api' } }], ...extra }] }] }],
  });

  it('takes durations from the span times and the failure from status ERROR', async () => {
    const imported = await importOtlpSpans(await file('one.json', span({ status: { code: 2 } })));
    const traffic = imported.traffic.get('api')!;
    expect(traffic.start[0]).toBe(1_700_000_000_000);
    expect(traffic.duration[0]).toBe(5);
    expect(traffic.outcome[0]).toBe(OUTCOME_CODE.failure);
  });

  it("prefers the breaker's own verdict (phlow.supabase.outcome) to the span status", async () => {
    const attributes = [
      { key: 'phlow.circuit_breaker.name', value: { stringValue: 'supabase/rest' } },
      { key: 'phlow.supabase.outcome', value: { stringValue: 'ignored' } },
      { key: 'http.response.status_code', value: { intValue: '404' } },
    ];
    const imported = await importOtlpSpans(await file('verdict.json', span({ attributes, status: { code: 2 } })));
    expect(imported.traffic.get('supabase/rest')!.outcome[0]).toBe(OUTCOME_CODE.ignored);
  });

  it.each([
    ['not JSON', '{"resourceSpans": [', /not JSON/],
    ['resourceSpans not an array', '{"resourceSpans": 5}', /resourceSpans must be an array; got 5/],
    ['a span that is not an object', '{"resourceSpans":[{"scopeSpans":[{"spans":[7]}]}]}', /spans\[0\] must be an object/],
    ['a missing start time', span({ startTimeUnixNano: undefined }), /startTimeUnixNano must be unsigned nanoseconds/],
    ['a negative start time', span({ startTimeUnixNano: '-5' }), /startTimeUnixNano must be unsigned nanoseconds/],
    ['an end before the start', span({ endTimeUnixNano: '1' }), /endTimeUnixNano is before startTimeUnixNano/],
    ['a breaker name that is not a string', span({ attributes: [{ key: 'phlow.circuit_breaker.name', value: { intValue: '3' } }] }), /must be a string/],
    ['no breaker span at all', '{"resourceSpans":[{"scopeSpans":[{"spans":[]}]}]}', /no breaker spans/],
    ['a prototype-polluting document', '{"__proto__":{"resourceSpans":[1]},"constructor":{"prototype":{"x":1}}}', /no breaker spans/],
  ])('refuses %s, saying where', async (_, text, message) => {
    await expect(importOtlpSpans(await file('bad.json', text))).rejects.toThrow(message);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('refuses a file over the size cap before reading it, and too many spans', async () => {
    const path = await file('big.json', span({}));
    await expect(importOtlpSpans(path, { maxBytes: 100 })).rejects.toThrow(/larger than 100 bytes/);
    await expect(importOtlpSpans(path, { maxSpans: 0 })).rejects.toThrow(/more than 0 spans/);
  });
});

describe('importOtlpSpans, attacked', () => {
  const span = (extra: Record<string, unknown>) => ({
    startTimeUnixNano: '1767225600000000000',
    endTimeUnixNano: '1767225600050000000',
    attributes: [{ key: 'phlow.circuit_breaker.name', value: { stringValue: 'api' } }],
    ...extra,
  });
  const doc = (...spans: unknown[]) => JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans }] }] });

  it('refuses a span whose end lies years after its start, naming it, instead of replaying a call that never ends', async () => {
    const path = await file('bogus-end.json', doc(span({}), span({ endTimeUnixNano: '8000000000000000000000' })));
    await expect(importOtlpSpans(path)).rejects.toThrow(/spans\[1\]: a span of \d+ days is longer than a call can be/);
  });

  it('keeps prototype keys and markup inert: a __proto__ attribute, a breaker named with a script', async () => {
    const name = '<script>alert(1)</script>';
    const path = await file(
      'hostile-attributes.json',
      doc(
        span({
          attributes: [
            { key: '__proto__', value: { stringValue: 'polluted' } },
            { key: 'constructor', value: { arrayValue: {} } },
            { key: 'phlow.circuit_breaker.name', value: { stringValue: name } },
            { key: 'phlow.supabase.outcome', value: { stringValue: '__proto__' } },
          ],
          status: { code: 2 },
          events: [null, { name: 7 }, { name: 'phlow.circuit_breaker.timeout' }],
        }),
      ),
    );
    const { traffic } = await importOtlpSpans(path);
    expect([...traffic.keys()]).toEqual([name]);
    expect(traffic.get(name)!.outcome[0]).toBe(OUTCOME_CODE.timeout);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
  });
});

describe('importOtlpSpans, too large for one string', () => {
  it('refuses by its size cap, naming it, an export larger than one JavaScript string can hold (a sparse file: nothing is read)', async () => {
    const { truncate } = await import('node:fs/promises');
    const path = await file('huge.json', '');
    await truncate(path, 600 * 2 ** 20);
    await expect(importOtlpSpans(path)).rejects.toThrow(/huge\.json: file larger than \d+ bytes \(maxBytes\)/);
    await expect(importOtlpSpans(path, { maxBytes: 2 ** 31 })).rejects.toThrow(/huge\.json: .*larger than one string can hold/);
  });
});
