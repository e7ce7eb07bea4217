import { checkDurationMs, checkNumber, checkOneOf } from '@phlow/circuit-breaker/internal';
import { checkOptionsObject } from './policy-options.js';

/** How long `retry` waits between attempts. */
export interface BackoffOptions {
  /** The first wait's scale, ms. Default 100. */
  readonly initialDelayMs?: number | undefined;
  /** No wait is longer than this (before a dependency's Retry-After, which may lengthen it), ms. Default 10 000. */
  readonly maxDelayMs?: number | undefined;
  /** Growth per retry. Default 2. */
  readonly multiplier?: number | undefined;
  /**
   * `'full'` (default): a uniform wait in [0, min(max, initial × multiplier^(n−1))] — AWS's "full
   * jitter", which spreads a crowd of callers best. `'decorrelated'`: min(max, a uniform wait in
   * [initial, 3 × the previous wait]). `'none'`: the exponential wait itself (callers retry in lockstep:
   * for tests and single callers).
   */
  readonly jitter?: 'full' | 'decorrelated' | 'none' | undefined;
}

export interface Backoff {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly multiplier: number;
  readonly jitter: 'full' | 'decorrelated' | 'none';
}

export function resolveBackoff(value: unknown): Backoff {
  const o = checkOptionsObject<BackoffOptions>('retry: backoff', value, ['initialDelayMs', 'maxDelayMs', 'multiplier', 'jitter'], false);
  const initialDelayMs = o.initialDelayMs === undefined ? 100 : checkDurationMs('retry: backoff.initialDelayMs', o.initialDelayMs);
  const maxDelayMs = o.maxDelayMs === undefined ? Math.max(10_000, initialDelayMs) : checkDurationMs('retry: backoff.maxDelayMs', o.maxDelayMs);
  if (maxDelayMs < initialDelayMs) {
    throw new RangeError(`retry: backoff.maxDelayMs must be >= backoff.initialDelayMs (${initialDelayMs}); got ${maxDelayMs}`);
  }
  const multiplier = o.multiplier === undefined ? 2 : checkNumber('retry: backoff.multiplier', o.multiplier, 1, 100);
  const jitter = o.jitter === undefined ? 'full' : checkOneOf('retry: backoff.jitter', o.jitter, ['full', 'decorrelated', 'none']);
  return { initialDelayMs, maxDelayMs, multiplier, jitter };
}

/**
 * The wait before retry number `retry` (1 for the first retry), given the previous wait. A huge
 * `retry` overflows the exponential to Infinity, which the cap turns into `maxDelayMs`.
 */
export function backoffDelay(backoff: Backoff, retry: number, previousMs: number, random: () => number): number {
  const { initialDelayMs, maxDelayMs, multiplier, jitter } = backoff;
  if (jitter === 'decorrelated') {
    const upper = Math.max(initialDelayMs, previousMs * 3);
    return Math.min(maxDelayMs, initialDelayMs + unit(random) * (upper - initialDelayMs));
  }
  const exponential = Math.min(maxDelayMs, initialDelayMs * multiplier ** (retry - 1));
  return jitter === 'full' ? unit(random) * exponential : exponential;
}

/** A draw of `random` checked to be in [0, 1): an injected source that misbehaves must not make a wait NaN or negative. */
function unit(random: () => number): number {
  const value = random();
  return typeof value === 'number' && value >= 0 && value < 1 ? value : 0.5;
}
