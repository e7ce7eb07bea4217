/**
 * Every name this package emits, in one place: the README's telemetry table, the Prometheus alert
 * rules and the tests all read from here.
 */

/** Instrumentation scope (meter and tracer name). */
export const INSTRUMENTATION_SCOPE = '@phlow/otel';

/** Metric attribute: the breaker's full name (family members: `family/key`), or an overflow series' name. */
export const METRIC_ATTR_NAME = 'name';
/** Metric attribute on the state gauge: one of the five circuit states. */
export const METRIC_ATTR_STATE = 'state';
/** Metric attribute on the calls counter and the duration histogram. */
export const METRIC_ATTR_OUTCOME = 'outcome';
/** Metric attributes on the transitions counter. */
export const METRIC_ATTR_FROM = 'from';
export const METRIC_ATTR_TO = 'to';

/** How a call through a breaker ended, as the `outcome` metric attribute says it. Mutually exclusive. */
export type CallOutcome = 'success' | 'failure' | 'timeout' | 'rejected' | 'ignored';

/** Every outcome, in a stable order. */
export const CALL_OUTCOMES: readonly CallOutcome[] = ['success', 'failure', 'timeout', 'rejected', 'ignored'];

/**
 * The `name` value that standalone breakers beyond the `maxSeriesNames` cap report under; members of a
 * family beyond `maxSeriesPerFamily` report under `<family>/_overflow`.
 */
export const OVERFLOW_SERIES_NAME = '_overflow';

/** What an instrument is called, measured in and described as. */
export interface InstrumentSpec {
  readonly name: string;
  readonly unit: string;
  readonly description: string;
}

/** Frozen: every reader (SDK set-up, alert rules, tests) sees the same spec. */
function instrument(name: string, unit: string, description: string): InstrumentSpec {
  return Object.freeze({ name, unit, description });
}

/** `phlow_circuit_breaker_state{name, state}` in Prometheus: 1 for the current state, 0 for the others. */
export const STATE_GAUGE: InstrumentSpec = instrument('phlow.circuit_breaker.state', '1', 'Circuit breaker state: 1 for the current state, 0 for the others (for an overflow series: 1 when any of its breakers is in that state).');

/** `phlow_circuit_breaker_failures_total{name}` in Prometheus. */
export const FAILURES_COUNTER: InstrumentSpec = instrument('phlow.circuit_breaker.failures', '{failure}', 'Calls the circuit breaker counted as failures (errors, failing results and timeouts).');

/** `phlow_circuit_breaker_calls_total{name, outcome}` in Prometheus. */
export const CALLS_COUNTER: InstrumentSpec = instrument('phlow.circuit_breaker.calls', '{call}', 'Calls through the circuit breaker by outcome: success, failure, timeout, rejected or ignored.');

/** `phlow_circuit_breaker_transitions_total{name, from, to}` in Prometheus. */
export const TRANSITIONS_COUNTER: InstrumentSpec = instrument('phlow.circuit_breaker.transitions', '{transition}', 'Circuit breaker state changes, by the state left and the state entered.');

/** `phlow_circuit_breaker_call_duration{name, outcome}` (`_bucket`, `_sum`, `_count`) in Prometheus. */
export const CALL_DURATION_HISTOGRAM: InstrumentSpec = instrument('phlow.circuit_breaker.call.duration', 's', 'Duration of calls the circuit breaker admitted, from admission to outcome.');

/** Bucket boundaries (seconds) of the duration histogram: OTel's advice for HTTP client durations. */
export const CALL_DURATION_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];

/** `phlow_circuit_breaker_recovery_duration{name}` (`_bucket`, `_sum`, `_count`) in Prometheus: one point per open episode. */
export const RECOVERY_HISTOGRAM: InstrumentSpec = instrument('phlow.circuit_breaker.recovery.duration', 's', 'How long the circuit breaker took to recover: from leaving closed to closed again, one point per episode.');

/** Bucket boundaries (seconds) of the recovery histogram: recovery timeouts are seconds to minutes. */
export const RECOVERY_BUCKETS: readonly number[] = [1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

/** `phlow_circuit_breaker_state_time_total{name, state}` in Prometheus. */
export const STATE_TIME_COUNTER: InstrumentSpec = instrument('phlow.circuit_breaker.state.time', 's', 'Time the circuit breaker spent in each state (for an overflow series: summed over its breakers).');

/** Span attribute: the breaker's full name (family members: `family/key`). */
export const SPAN_ATTR_NAME = 'phlow.circuit_breaker.name';
/** Span attribute: the breaker's state when the call was admitted or rejected. */
export const SPAN_ATTR_STATE = 'phlow.circuit_breaker.state';
/** Span event attributes of a state change. */
export const SPAN_ATTR_FROM = 'phlow.circuit_breaker.from';
export const SPAN_ATTR_TO = 'phlow.circuit_breaker.to';
export const SPAN_ATTR_REASON = 'phlow.circuit_breaker.reason';
/** Span event attribute: milliseconds until an open breaker admits a probe (absent when unknown). */
export const SPAN_ATTR_RETRY_AFTER_MS = 'phlow.circuit_breaker.retry_after_ms';
/** Span event attribute: the breaker's timeout (ms). */
export const SPAN_ATTR_TIMEOUT_MS = 'phlow.circuit_breaker.timeout_ms';

/** Span event: the breaker rejected the call without running it. */
export const EVENT_REJECTED = 'phlow.circuit_breaker.rejected';
/** Span event: the call outlived the breaker's timeout. */
export const EVENT_TIMEOUT = 'phlow.circuit_breaker.timeout';
/** Span event: the breaker changed state during the span. */
export const EVENT_STATE_CHANGE = 'phlow.circuit_breaker.state_change';

// --- resilience policies (retry, fallback, bulkhead, timeout, rate limiter, hedge) -------------

/** Metric attribute: the policy's name, as given when it was built. */
export const METRIC_ATTR_POLICY = 'policy';
/** `phlow_retry_attempts_total{policy, retry}`: attempts a retry policy started (`retry="false"` for first calls). */
export const RETRY_ATTEMPTS_COUNTER: InstrumentSpec = instrument('phlow.retry.attempts', '{attempt}', 'Attempts a retry policy started; retry="true" for the repeats, "false" for first calls.');
/** `phlow_retry_budget_exhausted_total{policy}`. */
export const RETRY_BUDGET_EXHAUSTED_COUNTER: InstrumentSpec = instrument('phlow.retry.budget_exhausted', '{retry}', 'Retries a retry policy did not make because the dependency’s retry budget was spent.');
/** `phlow_retry_gave_up_total{policy, reason}`. */
export const RETRY_GAVE_UP_COUNTER: InstrumentSpec = instrument('phlow.retry.gave_up', '{call}', 'Calls a retry policy handed back failed, by why it stopped: max_attempts, deadline, budget, not_retryable, aborted, retry_after.');
/** `phlow_fallback_answers_total{policy, tier}`: which tier of a fallback chain answered (`tier="none"`: none did). */
export const FALLBACK_ANSWERS_COUNTER: InstrumentSpec = instrument('phlow.fallback.answers', '{call}', 'Calls a fallback chain answered, by the tier that answered ("none" when every tier failed).');
/** `phlow_bulkhead_in_flight{policy}`. */
export const BULKHEAD_IN_FLIGHT_GAUGE: InstrumentSpec = instrument('phlow.bulkhead.in_flight', '{call}', 'Calls running inside a bulkhead.');
/** `phlow_bulkhead_queued{policy}`. */
export const BULKHEAD_QUEUED_GAUGE: InstrumentSpec = instrument('phlow.bulkhead.queued', '{call}', 'Calls waiting in a bulkhead’s queue.');
/** `phlow_bulkhead_limit{policy}`: the concurrency limit (it moves when adaptive). */
export const BULKHEAD_LIMIT_GAUGE: InstrumentSpec = instrument('phlow.bulkhead.limit', '{call}', 'A bulkhead’s concurrency limit (it moves when the limit is adaptive).');
/** `phlow_bulkhead_rejections_total{policy, reason}`: `reason` is `full` or `queue_timeout`. */
export const BULKHEAD_REJECTIONS_COUNTER: InstrumentSpec = instrument('phlow.bulkhead.rejections', '{call}', 'Calls a bulkhead refused: full (no slot, no queue room) or queue_timeout.');
/** `phlow_timeout_timeouts_total{policy}`. */
export const POLICY_TIMEOUTS_COUNTER: InstrumentSpec = instrument('phlow.timeout.timeouts', '{call}', 'Calls a timeout policy gave up on.');
/** `phlow_rate_limiter_rejections_total{policy}`. */
export const RATE_LIMITED_COUNTER: InstrumentSpec = instrument('phlow.rate_limiter.rejections', '{call}', 'Calls a rate limiter refused.');
/** `phlow_hedge_attempts_total{policy, action}`: `hedged` (another attempt started) or `won` (by attempt > 1). */
export const HEDGE_COUNTER: InstrumentSpec = instrument('phlow.hedge.attempts', '{attempt}', 'Hedged attempts started, and hedges that won.');

/** Span event: a retry policy starts an attempt (`phlow.retry.attempt`, `phlow.retry.delay_ms`). */
export const EVENT_RETRY_ATTEMPT = 'phlow.retry.attempt';
/** Span event: a retry was due but the budget was spent. */
export const EVENT_RETRY_BUDGET_EXHAUSTED = 'phlow.retry.budget_exhausted';
/** Span event: a fallback chain answered from a tier other than the first, or from none. */
export const EVENT_FALLBACK = 'phlow.fallback';
/** Span event: a bulkhead refused the call. */
export const EVENT_BULKHEAD_REJECTED = 'phlow.bulkhead.rejected';
/** Span event: a timeout policy gave up. */
export const EVENT_POLICY_TIMEOUT = 'phlow.timeout';
/** Span event: a rate limiter refused the call. */
export const EVENT_RATE_LIMITED = 'phlow.rate_limiter.rejected';
/** Span event: a hedging policy started another attempt, or a hedge won. */
export const EVENT_HEDGE = 'phlow.hedge';
/** Span attribute on every policy event: the policy's name. */
export const SPAN_ATTR_POLICY = 'phlow.policy.name';
