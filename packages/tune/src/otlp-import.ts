import { constants } from 'node:buffer';
import { readFile, stat } from 'node:fs/promises';
import { describeValue } from '@phlow/circuit-breaker/internal';
import { MAX_DURATION_MS } from './read-recording.js';
import { RecordingError } from './recording-error.js';
import { TrafficBuilder } from './traffic-builder.js';
import { MAX_BREAKER_NAME, type CallOutcome, type Traffic } from './traffic.js';

/** Span attribute and event names our adapters write (see `@phlow/otel`'s `withBreakerSpan`). */
export const SPAN_NAMES = {
  breaker: 'phlow.circuit_breaker.name',
  rejected: 'phlow.circuit_breaker.rejected',
  timeout: 'phlow.circuit_breaker.timeout',
  errorType: 'error.type',
} as const;

/**
 * Span attributes holding the breaker's own verdict on a call (`success`, `failure`, `ignored`), which
 * beats the span status: `@phlow/supabase` marks every failed operation as an error on its client span,
 * whether or not the breaker counts it (a 404 is an error for the caller, not for the breaker).
 */
export const OUTCOME_ATTRIBUTES: readonly string[] = ['phlow.circuit_breaker.outcome', 'phlow.supabase.outcome'];

/** Limits of {@link importOtlpSpans}. */
export interface OtlpLimits {
  /** Largest file. Default 512 MiB (the file is read as one string, and V8's strings end near there). */
  readonly maxBytes?: number;
  /** Most spans. Default 50 M. */
  readonly maxSpans?: number;
}

/** What an import found besides the traffic. */
export interface OtlpImport {
  readonly traffic: Map<string, Traffic>;
  /** Spans skipped because they carry no breaker name (not a breaker call). */
  readonly skippedSpans: number;
}

/**
 * Reads an OTLP/JSON trace export — one `ExportTraceServiceRequest` (`{ resourceSpans: [...] }`), or a
 * file of them one per line as the collector's file exporter writes — and keeps the spans of breaker
 * calls: those with `phlow.circuit_breaker.name`. A span with a `phlow.circuit_breaker.rejected` event
 * (or `error.type` CircuitOpenError) was refused; with a `phlow.circuit_breaker.timeout` event (or
 * CircuitTimeoutError) it timed out; with status ERROR it failed (its `error.type` is the error class);
 * otherwise it succeeded — unless it carries the breaker's own verdict ({@link OUTCOME_ATTRIBUTES}).
 * Without a verdict, a span cannot tell an error the breaker ignored from a failure: both count as failures. The file is hostile until read: size caps, and a bad document or span fails with a
 * {@link RecordingError} saying where.
 */
export async function importOtlpSpans(path: string, limits: OtlpLimits = {}): Promise<OtlpImport> {
  const maxBytes = limits.maxBytes ?? 2 ** 29;
  const maxSpans = limits.maxSpans ?? 50_000_000;
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    throw new RecordingError(error.code === 'ENOENT' ? 'no such file' : `cannot read (${error.code ?? error.message})`, path);
  });
  if (!info.isFile()) throw new RecordingError('not a file', path);
  if (info.size > maxBytes) throw new RecordingError(`file larger than ${maxBytes} bytes (maxBytes)`, path);
  if (info.size > constants.MAX_STRING_LENGTH) {
    throw new RecordingError(`file of ${info.size} bytes is larger than one string can hold (${constants.MAX_STRING_LENGTH}); split the export`, path);
  }
  const text = await readFile(path, 'utf8');
  const documents = parseDocuments(text, path);
  const builder = new TrafficBuilder();
  let skipped = 0;
  let spans = 0;
  documents.forEach(({ document, line }) => {
    const where = (what: string) => new RecordingError(what, path, line);
    for (const [r, resourceSpans] of list(document, 'resourceSpans', where, 'the document').entries()) {
      for (const [s, scopeSpans] of list(resourceSpans, 'scopeSpans', where, `resourceSpans[${r}]`).entries()) {
        for (const [i, span] of list(scopeSpans, 'spans', where, `resourceSpans[${r}].scopeSpans[${s}]`).entries()) {
          if (++spans > maxSpans) throw where(`more than ${maxSpans} spans (maxSpans)`);
          const call = readSpan(span, where, `resourceSpans[${r}].scopeSpans[${s}].spans[${i}]`);
          if (call === undefined) skipped++;
          else builder.add(call.breaker, call.start, call.duration, call.outcome);
        }
      }
    }
  });
  if (builder.size === 0) throw new RecordingError(`no breaker spans (spans with ${SPAN_NAMES.breaker}) in the export`, path);
  return { traffic: builder.build(), skippedSpans: skipped };
}

function parseDocuments(text: string, path: string): { document: unknown; line: number | undefined }[] {
  try {
    return [{ document: JSON.parse(text), line: undefined }];
  } catch (whole) {
    const lines = text.split('\n');
    if (lines.filter((l) => l.trim() !== '').length < 2) throw new RecordingError(`not JSON (${(whole as Error).message})`, path);
    return lines.flatMap((l, i) => {
      if (l.trim() === '') return [];
      try {
        return [{ document: JSON.parse(l) as unknown, line: i + 1 }];
      } catch (error) {
        throw new RecordingError(`not JSON (${(error as Error).message})`, path, i + 1);
      }
    });
  }
}

function list(value: unknown, key: string, where: (what: string) => Error, at: string): unknown[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw where(`${at} must be an object; got ${short(value)}`);
  const items = Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
  if (items === undefined) return [];
  if (!Array.isArray(items)) throw where(`${at}.${key} must be an array; got ${short(items)}`);
  return items;
}

function readSpan(span: unknown, where: (what: string) => Error, at: string): { breaker: string; start: number; duration: number; outcome: CallOutcome } | undefined {
  if (typeof span !== 'object' || span === null || Array.isArray(span)) throw where(`${at} must be an object; got ${short(span)}`);
  const s = span as Record<string, unknown>;
  const attributes = attributeMap(Object.hasOwn(s, 'attributes') ? s.attributes : undefined, where, `${at}.attributes`);
  const breaker = attributes.get(SPAN_NAMES.breaker);
  if (breaker === undefined) return undefined;
  if (typeof breaker !== 'string' || breaker.length === 0 || breaker.length > MAX_BREAKER_NAME) throw where(`${at}: ${SPAN_NAMES.breaker} must be a string of 1 to ${MAX_BREAKER_NAME} characters; got ${short(breaker)}`);
  const startNs = nanos(s.startTimeUnixNano, where, `${at}.startTimeUnixNano`);
  const endNs = nanos(s.endTimeUnixNano, where, `${at}.endTimeUnixNano`);
  if (endNs < startNs) throw where(`${at}: endTimeUnixNano is before startTimeUnixNano`);
  const events = Object.hasOwn(s, 'events') ? s.events : undefined;
  if (events !== undefined && !Array.isArray(events)) throw where(`${at}.events must be an array; got ${short(events)}`);
  const eventNames = new Set((events ?? []).map((e) => (typeof e === 'object' && e !== null && typeof (e as { name?: unknown }).name === 'string' ? (e as { name: string }).name : '')));
  const errorType = attributes.get(SPAN_NAMES.errorType);
  const status = Object.hasOwn(s, 'status') ? (s.status as { code?: unknown } | null) : undefined;
  const code = typeof status === 'object' && status !== null ? status.code : undefined;
  const failed = code === 2 || code === 'STATUS_CODE_ERROR';
  let outcome: CallOutcome = failed ? 'failure' : 'success';
  for (const key of OUTCOME_ATTRIBUTES) {
    const verdict = attributes.get(key);
    if (verdict === 'success' || verdict === 'failure' || verdict === 'ignored') outcome = verdict;
  }
  if (eventNames.has(SPAN_NAMES.rejected) || errorType === 'CircuitOpenError') outcome = 'rejected';
  else if (eventNames.has(SPAN_NAMES.timeout) || errorType === 'CircuitTimeoutError') outcome = 'timeout';
  const start = Number(startNs / 1000n) / 1000;
  const duration = outcome === 'rejected' ? 0 : Number(endNs - startNs) / 1e6;
  if (duration > MAX_DURATION_MS) throw where(`${at}: a span of ${Math.round(duration / 86_400_000)} days is longer than a call can be (a year at most)`);
  return { breaker, start, duration, outcome };
}

function attributeMap(attributes: unknown, where: (what: string) => Error, at: string): Map<string, unknown> {
  const map = new Map<string, unknown>();
  if (attributes === undefined) return map;
  if (!Array.isArray(attributes)) throw where(`${at} must be an array; got ${short(attributes)}`);
  for (const attribute of attributes) {
    if (typeof attribute !== 'object' || attribute === null) continue;
    const { key, value } = attribute as { key?: unknown; value?: unknown };
    if (typeof key !== 'string' || typeof value !== 'object' || value === null) continue;
    const v = value as Record<string, unknown>;
    // Only string values are read as text: OTLP/JSON writes int64 values as strings too ({ intValue: "3" }).
    map.set(key, Object.hasOwn(v, 'stringValue') ? v.stringValue : v);
  }
  return map;
}

const MAX_NANOS = 8_640_000_000_000_000_000_000n;

function nanos(value: unknown, where: (what: string) => Error, at: string): bigint {
  if (typeof value === 'string' && /^\d{1,22}$/.test(value)) {
    const n = BigInt(value);
    if (n <= MAX_NANOS) return n;
  }
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 8.64e24) return BigInt(Math.round(value));
  throw where(`${at} must be unsigned nanoseconds since the epoch (a decimal string); got ${short(value)}`);
}

function short(value: unknown): string {
  const text = describeValue(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
