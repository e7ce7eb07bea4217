import { CircuitBreaker, ManualClock, type CircuitBreakerOptions } from '@phlow/circuit-breaker';
import { checkKnownKeys, describeValue } from '@phlow/circuit-breaker/internal';

/** The options a candidate configuration may set: the ones that decide when a breaker opens and closes. */
export type CandidateOptions = Pick<
  CircuitBreakerOptions,
  'failureThreshold' | 'failurePolicy' | 'recoveryTimeoutMs' | 'openBackoff' | 'halfOpenMaxCalls' | 'successThreshold' | 'halfOpenMaxWaitMs'
>;

/** A configuration to score: the breaker options and a short label for tables and charts. */
export interface Candidate {
  readonly label: string;
  readonly options: CandidateOptions;
}

/** Option names a candidate may carry. */
export const CANDIDATE_OPTION_NAMES: readonly string[] = [
  'failureThreshold',
  'failurePolicy',
  'recoveryTimeoutMs',
  'openBackoff',
  'halfOpenMaxCalls',
  'successThreshold',
  'halfOpenMaxWaitMs',
];

/** The guide's defaults (5 failures in a row, 60 s recovery): always scored, for comparison. */
export const GUIDE_DEFAULTS: Candidate = Object.freeze({
  label: 'guide defaults: 5 in a row, 60 s',
  options: Object.freeze({ failureThreshold: 5, recoveryTimeoutMs: 60_000 }),
});

/**
 * Checks a candidate by building a real breaker with it (the core validates every option, naming the
 * option, the value and what is allowed), after refusing options a candidate may not set.
 */
export function checkCandidate(candidate: unknown, where = 'candidate'): Candidate {
  if (typeof candidate !== 'object' || candidate === null || Array.isArray(candidate)) {
    throw new TypeError(`${where} must be an object { label?, options } or breaker options; got ${describeValue(candidate)}`);
  }
  const record = candidate as Record<string, unknown>;
  const wrapped = Object.hasOwn(record, 'options');
  if (wrapped) checkKnownKeys(where, record, ['label', 'options']);
  const options = (wrapped ? record.options : record) as Record<string, unknown>;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`${where}.options must be an object of breaker options; got ${describeValue(options)}`);
  }
  checkKnownKeys(wrapped ? `${where}.options` : where, options, CANDIDATE_OPTION_NAMES);
  try {
    new CircuitBreaker('candidate', { ...(options as CandidateOptions), clock: new ManualClock(0), logger: false, timeoutMs: 0 });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw error instanceof RangeError ? new RangeError(`${where}: ${message}`) : new TypeError(`${where}: ${message}`);
  }
  const label = wrapped && record.label !== undefined ? record.label : describeCandidate(options as CandidateOptions);
  if (typeof label !== 'string' || label.length === 0 || label.length > 200) {
    throw new TypeError(`${where}.label must be a non-empty string of at most 200 characters; got ${describeValue(label)}`);
  }
  return { label, options: structuredClone(options) as CandidateOptions };
}

/** A short human label: `5 in a row, 60 s`, `50% of last 100 (min 20), 30 s`, … */
export function describeCandidate(options: CandidateOptions): string {
  const policy = options.failurePolicy;
  let rule: string;
  if (policy === undefined || policy.type === 'consecutive') {
    rule = `${policy?.threshold ?? options.failureThreshold ?? 5} in a row`;
  } else {
    const over = policy.type === 'count-window' ? `last ${policy.size}` : `${seconds(policy.windowMs)}`;
    rule = `${percent(policy.failureRateThreshold)} of ${over} (min ${policy.minimumCalls})`;
    if (policy.slowCallDurationMs !== undefined && policy.slowCallRateThreshold !== undefined) {
      rule += ` or ${percent(policy.slowCallRateThreshold)} slower than ${seconds(policy.slowCallDurationMs)}`;
    }
  }
  const parts = [rule, seconds(options.recoveryTimeoutMs ?? 60_000)];
  if (options.openBackoff) parts.push(`backoff to ${seconds(options.openBackoff.maxMs)}`);
  if ((options.successThreshold ?? 1) > 1) parts.push(`${options.successThreshold} probes to close`);
  if ((options.halfOpenMaxCalls ?? 1) > 1) parts.push(`${options.halfOpenMaxCalls} probes at once`);
  return parts.join(', ');
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

function percent(fraction: number): string {
  return `${Math.round(fraction * 1000) / 10}%`;
}
