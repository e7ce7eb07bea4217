import { checkNonNegative, rangeError, typeError } from './option-errors.js';

/** Added delay; `jitterMs` spreads it uniformly over `[ms - jitterMs, ms + jitterMs]` (never below 0). */
export interface LatencyFault {
  /** Mean delay in milliseconds. */
  readonly ms: number;
  /** Half-width of the uniform jitter in milliseconds; 0 when omitted. */
  readonly jitterMs?: number;
}

/** Answer requests with an HTTP error instead of forwarding them (HTTP mode only). */
export interface ErrorStatusFault {
  /** Status code to answer with, 400..599. */
  readonly status: number;
  /** Share of requests that get it, 0..1; 1 when omitted. */
  readonly rate?: number;
  /** Response body; a small JSON error naming the proxy when omitted. */
  readonly body?: string;
  /** Extra response headers, e.g. `{ 'retry-after': '1' }`. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** Deliver data towards the client in slices of `bytesPerChunk` every `intervalMs`. */
export interface SlowBodyFault {
  /** Bytes per slice, an integer >= 1. */
  readonly bytesPerChunk: number;
  /** Pause between slices in milliseconds. */
  readonly intervalMs: number;
}

/**
 * The faults a {@link FaultProxy} applies. All are off when absent; several may be on at once and then
 * apply in this order: refuse, reset, blackHole, latency, errorStatus, slowBody.
 * See the README's fault table for which traffic (new or in-flight) each one affects.
 */
export interface Faults {
  /** Delay traffic. */
  readonly latency?: LatencyFault;
  /** Accept connections and requests but never answer them and never forward them. */
  readonly blackHole?: boolean;
  /** Reset (TCP RST) every open connection now and every new one as soon as it is accepted. */
  readonly reset?: boolean;
  /** Stop listening and close every open connection: new connections are refused (ECONNREFUSED). */
  readonly refuse?: boolean;
  /** Answer requests with an HTTP error status at a given rate (HTTP mode only). */
  readonly errorStatus?: ErrorStatusFault;
  /** Trickle data towards the client. */
  readonly slowBody?: SlowBodyFault;
}

const COMPONENT = 'FaultProxy';
const FAULT_KEYS = new Set(['latency', 'blackHole', 'reset', 'refuse', 'errorStatus', 'slowBody']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkKeys(option: string, value: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw typeError(COMPONENT, `${option}.${key}`, value[key], `absent: allowed keys of "${option}" are ${allowed.join(', ')}`);
    }
  }
}

function checkBoolean(option: string, value: unknown): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw typeError(COMPONENT, option, value, 'a boolean');
  return value;
}

function checkLatency(value: unknown): LatencyFault | undefined {
  if (value === undefined) return undefined;
  if (!isRecord(value)) throw typeError(COMPONENT, 'latency', value, 'an object { ms, jitterMs? }');
  checkKeys('latency', value, ['ms', 'jitterMs']);
  const ms = checkNonNegative(COMPONENT, 'latency.ms', value['ms']);
  const jitterMs = value['jitterMs'] === undefined ? 0 : checkNonNegative(COMPONENT, 'latency.jitterMs', value['jitterMs']);
  return { ms, jitterMs };
}

function checkErrorStatus(value: unknown): ErrorStatusFault | undefined {
  if (value === undefined) return undefined;
  if (!isRecord(value)) throw typeError(COMPONENT, 'errorStatus', value, 'an object { status, rate?, body?, headers? }');
  checkKeys('errorStatus', value, ['status', 'rate', 'body', 'headers']);
  const status = value['status'];
  if (typeof status !== 'number') throw typeError(COMPONENT, 'errorStatus.status', status, 'an HTTP status code from 400 to 599');
  if (!Number.isInteger(status) || status < 400 || status > 599) {
    throw rangeError(COMPONENT, 'errorStatus.status', status, 'an HTTP status code from 400 to 599');
  }
  const rate = value['rate'] ?? 1;
  if (typeof rate !== 'number') throw typeError(COMPONENT, 'errorStatus.rate', rate, 'a number from 0 to 1');
  if (!(rate >= 0 && rate <= 1)) throw rangeError(COMPONENT, 'errorStatus.rate', rate, 'a number from 0 to 1');
  const body = value['body'];
  if (body !== undefined && typeof body !== 'string') throw typeError(COMPONENT, 'errorStatus.body', body, 'a string');
  const headers = value['headers'];
  if (headers !== undefined) {
    if (!isRecord(headers) || !Object.values(headers).every((v) => typeof v === 'string')) {
      throw typeError(COMPONENT, 'errorStatus.headers', headers, 'an object of string header values');
    }
  }
  return {
    status,
    rate,
    ...(body === undefined ? {} : { body }),
    ...(headers === undefined ? {} : { headers: { ...(headers as Record<string, string>) } }),
  };
}

function checkSlowBody(value: unknown): SlowBodyFault | undefined {
  if (value === undefined) return undefined;
  if (!isRecord(value)) throw typeError(COMPONENT, 'slowBody', value, 'an object { bytesPerChunk, intervalMs }');
  checkKeys('slowBody', value, ['bytesPerChunk', 'intervalMs']);
  const bytesPerChunk = value['bytesPerChunk'];
  if (typeof bytesPerChunk !== 'number') throw typeError(COMPONENT, 'slowBody.bytesPerChunk', bytesPerChunk, 'an integer >= 1');
  if (!Number.isInteger(bytesPerChunk) || bytesPerChunk < 1) {
    throw rangeError(COMPONENT, 'slowBody.bytesPerChunk', bytesPerChunk, 'an integer >= 1');
  }
  const intervalMs = checkNonNegative(COMPONENT, 'slowBody.intervalMs', value['intervalMs']);
  return { bytesPerChunk, intervalMs };
}

/**
 * Validates a fault set (from code or from the control endpoint's JSON) and returns a normalised copy
 * without absent or switched-off entries. Throws TypeError/RangeError naming the offending option.
 */
export function normalizeFaults(value: unknown, mode: 'http' | 'tcp'): Faults {
  if (!isRecord(value)) throw typeError(COMPONENT, 'faults', value, 'an object such as { latency: { ms: 100 } }');
  for (const key of Object.keys(value)) {
    if (!FAULT_KEYS.has(key)) throw typeError(COMPONENT, key, value[key], `absent: known faults are ${[...FAULT_KEYS].join(', ')}`);
  }
  const latency = checkLatency(value['latency']);
  const blackHole = checkBoolean('blackHole', value['blackHole']);
  const reset = checkBoolean('reset', value['reset']);
  const refuse = checkBoolean('refuse', value['refuse']);
  const errorStatus = checkErrorStatus(value['errorStatus']);
  const slowBody = checkSlowBody(value['slowBody']);
  if (errorStatus !== undefined && mode !== 'http') {
    throw typeError(COMPONENT, 'errorStatus', value['errorStatus'], 'absent in mode "tcp": status injection needs mode "http"');
  }
  return {
    ...(latency === undefined ? {} : { latency }),
    ...(blackHole === true ? { blackHole } : {}),
    ...(reset === true ? { reset } : {}),
    ...(refuse === true ? { refuse } : {}),
    ...(errorStatus === undefined ? {} : { errorStatus }),
    ...(slowBody === undefined ? {} : { slowBody }),
  };
}

/** Draws one delay for `latency` with `random` in [0, 1). */
export function drawLatency(latency: LatencyFault | undefined, random: () => number): number {
  if (latency === undefined) return 0;
  const jitter = latency.jitterMs ?? 0;
  return Math.max(0, latency.ms + (random() * 2 - 1) * jitter);
}
