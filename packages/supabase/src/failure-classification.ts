import type { Outcome } from '@phlow/circuit-breaker';
import type { SupabaseService } from './supabase-request.js';

/**
 * Judges an HTTP status for the breaker: `failure` counts toward opening, `success` is evidence the
 * project answers (it resets the consecutive count and closes a half-open breaker), `ignored` is neither.
 */
export type StatusClassifier = (status: number, service: SupabaseService) => Outcome;

/**
 * The default classification, the one a database user would agree with: the project is in trouble
 * when it answers 5xx (PostgREST's 503 for a lost database connection, 500 for an internal error,
 * 502/504 from the gateway), 429 (rate limited: hammering it more makes it worse) or 408. Every other
 * 4xx (constraint violations, bad columns, RLS denials, not found, a wrong API key) is the caller's
 * problem and proof that the project answers, so it counts as a success. Network errors and timeouts
 * never reach this function: they are always failures.
 */
export const classifyStatus: StatusClassifier = (status) =>
  status >= 500 || status === 429 || status === 408 ? 'failure' : 'success';
