/**
 * What resilience policies (retry, fallback, bulkhead, timeout, rate limit, hedging) report about
 * themselves. The types live in the core so telemetry (`@phlow/otel`) can report them without importing
 * the package that implements the policies: both meet at a registry's `onPolicyEvent`.
 *
 * Every event names its policy (`policy`, the name given when the policy was built, e.g.
 * `"registry-lookup"`) and the kind of policy (`policyKind`).
 */
export type PolicyEvent =
  | RetryAttemptEvent
  | RetryBudgetExhaustedEvent
  | RetryGaveUpEvent
  | FallbackEvent
  | BulkheadEvent
  | TimeoutEvent
  | RateLimitedEvent
  | HedgeEvent;

/** The kinds of policy that report events. */
export type PolicyKind = 'retry' | 'fallback' | 'bulkhead' | 'timeout' | 'rate_limiter' | 'hedge';

interface PolicyEventBase {
  /** The policy's name. */
  readonly policy: string;
  /** Epoch ms (the policy's clock). */
  readonly time: number;
}

/** A retry policy starts an attempt (`attempt` 1 is the first call, not a retry). */
export interface RetryAttemptEvent extends PolicyEventBase {
  readonly type: 'retry_attempt';
  readonly policyKind: 'retry';
  readonly attempt: number;
  /** How long the policy waited before this attempt (0 for the first). */
  readonly delayMs: number;
  /** What the previous attempt failed with (an error, or a failed result), absent for the first. */
  readonly previous?: unknown;
}

/** A retry was due but the dependency's retry budget had none left: the failure went to the caller. */
export interface RetryBudgetExhaustedEvent extends PolicyEventBase {
  readonly type: 'retry_budget_exhausted';
  readonly policyKind: 'retry';
  readonly attempt: number;
}

/** A retry policy stopped and handed the last failure to the caller. */
export interface RetryGaveUpEvent extends PolicyEventBase {
  readonly type: 'retry_gave_up';
  readonly policyKind: 'retry';
  readonly attempts: number;
  /**
   * Why it stopped: attempts or the deadline used up, the budget spent, a failure not worth a retry, the
   * caller's abort, or a dependency asking to wait longer than the policy allows (`retry_after`).
   */
  readonly reason: 'max_attempts' | 'deadline' | 'budget' | 'not_retryable' | 'aborted' | 'retry_after';
}

/** A fallback chain answered from `tier` (0 is the primary) after the tiers before it failed. */
export interface FallbackEvent extends PolicyEventBase {
  readonly type: 'fallback';
  readonly policyKind: 'fallback';
  /** The name of the tier that answered, or null when none did. */
  readonly tier: string | null;
  readonly tierIndex: number | null;
  /** Each tier tried before, with why it did not answer. */
  readonly skipped: readonly { readonly tier: string; readonly reason: string }[];
}

/** A bulkhead admitted, queued or rejected a call, or a call left it; counts are after the change. */
export interface BulkheadEvent extends PolicyEventBase {
  readonly type: 'bulkhead';
  readonly policyKind: 'bulkhead';
  readonly action: 'admitted' | 'queued' | 'rejected' | 'released' | 'queue_timeout';
  readonly inFlight: number;
  readonly queued: number;
  /** The concurrency limit now (it moves when the limit is adaptive). */
  readonly limit: number;
}

/** A timeout policy gave up on a call. */
export interface TimeoutEvent extends PolicyEventBase {
  readonly type: 'timeout';
  readonly policyKind: 'timeout';
  readonly timeoutMs: number;
}

/** A rate limiter refused a call. */
export interface RateLimitedEvent extends PolicyEventBase {
  readonly type: 'rate_limited';
  readonly policyKind: 'rate_limiter';
  /** When a token is next available, in ms from now. */
  readonly retryAfterMs: number;
}

/** A hedging policy started another attempt, or one attempt won. */
export interface HedgeEvent extends PolicyEventBase {
  readonly type: 'hedge';
  readonly policyKind: 'hedge';
  readonly action: 'hedged' | 'won';
  /** Which attempt (1 is the first call). */
  readonly attempt: number;
}
