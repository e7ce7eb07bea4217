import { trace, type Attributes, type BatchObservableResult, type Counter, type Meter } from '@opentelemetry/api';
import type { CircuitBreakerRegistry, Disposable, PolicyEvent } from '@phlow/circuit-breaker';
import { toDisposable } from '@phlow/circuit-breaker/internal';
import {
  BULKHEAD_IN_FLIGHT_GAUGE,
  BULKHEAD_LIMIT_GAUGE,
  BULKHEAD_QUEUED_GAUGE,
  BULKHEAD_REJECTIONS_COUNTER,
  EVENT_BULKHEAD_REJECTED,
  EVENT_FALLBACK,
  EVENT_HEDGE,
  EVENT_POLICY_TIMEOUT,
  EVENT_RATE_LIMITED,
  EVENT_RETRY_ATTEMPT,
  EVENT_RETRY_BUDGET_EXHAUSTED,
  FALLBACK_ANSWERS_COUNTER,
  HEDGE_COUNTER,
  METRIC_ATTR_POLICY,
  OVERFLOW_SERIES_NAME,
  POLICY_TIMEOUTS_COUNTER,
  RATE_LIMITED_COUNTER,
  RETRY_ATTEMPTS_COUNTER,
  RETRY_BUDGET_EXHAUSTED_COUNTER,
  RETRY_GAVE_UP_COUNTER,
  SPAN_ATTR_POLICY,
  type InstrumentSpec,
} from './telemetry-names.js';

/**
 * Reports what resilience policies (`@phlow/resilience`, or any library reporting the core's
 * `PolicyEvent`s) do, from a registry's `onPolicyEvent`: counters and bulkhead gauges labelled with
 * the policy's name, and events on the span active where the policy acted. It imports nothing of the
 * policy library: both meet at the registry.
 *
 * Policy names become a metric label, and a policy built per peer has a name the network can
 * influence: at most `maxPolicyNames` distinct names are reported, later ones as `"_overflow"`.
 */
export function instrumentPolicyEvents(
  registry: CircuitBreakerRegistry,
  meter: Meter | undefined,
  spanEvents: boolean,
  maxPolicyNames: number,
): Disposable {
  // A registry from an older copy of the core has no policy events: nothing to report.
  if (typeof registry.onPolicyEvent !== 'function') return toDisposable(() => {});
  const names = new PolicyNames(maxPolicyNames);
  const instruments = meter === undefined ? undefined : new PolicyInstruments(meter, names);
  const subscription = registry.onPolicyEvent((event) => {
    instruments?.record(event);
    if (spanEvents) addSpanEvent(event);
  });
  return toDisposable(() => {
    subscription.dispose();
    instruments?.dispose();
  });
}

/** The label a policy's name reports under: itself, or `_overflow` past the cap. */
class PolicyNames {
  private readonly seen = new Set<string>();
  constructor(private readonly cap: number) {}

  labelFor(name: string): string {
    if (this.seen.has(name)) return name;
    if (this.seen.size >= this.cap) return OVERFLOW_SERIES_NAME;
    this.seen.add(name);
    return name;
  }
}

interface BulkheadLevels {
  inFlight: number;
  queued: number;
  limit: number;
}

class PolicyInstruments {
  private readonly attempts: Counter;
  private readonly budgetExhausted: Counter;
  private readonly gaveUp: Counter;
  private readonly fallbacks: Counter;
  private readonly bulkheadRejections: Counter;
  private readonly timeouts: Counter;
  private readonly rateLimited: Counter;
  private readonly hedges: Counter;
  /** Each bulkhead's last reported levels, read by the gauges at collection. */
  private readonly bulkheads = new Map<string, BulkheadLevels>();
  private readonly stopObserving: () => void;

  constructor(
    meter: Meter,
    private readonly names: PolicyNames,
  ) {
    const counter = (spec: InstrumentSpec) => meter.createCounter(spec.name, { unit: spec.unit, description: spec.description });
    this.attempts = counter(RETRY_ATTEMPTS_COUNTER);
    this.budgetExhausted = counter(RETRY_BUDGET_EXHAUSTED_COUNTER);
    this.gaveUp = counter(RETRY_GAVE_UP_COUNTER);
    this.fallbacks = counter(FALLBACK_ANSWERS_COUNTER);
    this.bulkheadRejections = counter(BULKHEAD_REJECTIONS_COUNTER);
    this.timeouts = counter(POLICY_TIMEOUTS_COUNTER);
    this.rateLimited = counter(RATE_LIMITED_COUNTER);
    this.hedges = counter(HEDGE_COUNTER);
    const gauge = (spec: InstrumentSpec) => meter.createObservableGauge(spec.name, { unit: spec.unit, description: spec.description });
    const inFlight = gauge(BULKHEAD_IN_FLIGHT_GAUGE);
    const queued = gauge(BULKHEAD_QUEUED_GAUGE);
    const limit = gauge(BULKHEAD_LIMIT_GAUGE);
    const observe = (result: BatchObservableResult) => {
      for (const [policy, levels] of this.bulkheads) {
        const attributes = { [METRIC_ATTR_POLICY]: policy };
        result.observe(inFlight, levels.inFlight, attributes);
        result.observe(queued, levels.queued, attributes);
        result.observe(limit, levels.limit, attributes);
      }
    };
    meter.addBatchObservableCallback(observe, [inFlight, queued, limit]);
    this.stopObserving = () => meter.removeBatchObservableCallback(observe, [inFlight, queued, limit]);
  }

  record(event: PolicyEvent): void {
    const policy = this.names.labelFor(event.policy);
    switch (event.type) {
      case 'retry_attempt':
        this.attempts.add(1, { [METRIC_ATTR_POLICY]: policy, retry: event.attempt > 1 });
        return;
      case 'retry_budget_exhausted':
        this.budgetExhausted.add(1, { [METRIC_ATTR_POLICY]: policy });
        return;
      case 'retry_gave_up':
        this.gaveUp.add(1, { [METRIC_ATTR_POLICY]: policy, reason: event.reason });
        return;
      case 'fallback':
        this.fallbacks.add(1, { [METRIC_ATTR_POLICY]: policy, tier: event.tier ?? 'none' });
        return;
      case 'bulkhead': {
        // An overflow label sums nothing meaningful for levels: the last reporter's levels stand for it.
        this.bulkheads.set(policy, { inFlight: event.inFlight, queued: event.queued, limit: event.limit });
        if (event.action === 'rejected' || event.action === 'queue_timeout') {
          this.bulkheadRejections.add(1, { [METRIC_ATTR_POLICY]: policy, reason: event.action === 'rejected' ? 'full' : 'queue_timeout' });
        }
        return;
      }
      case 'timeout':
        this.timeouts.add(1, { [METRIC_ATTR_POLICY]: policy });
        return;
      case 'rate_limited':
        this.rateLimited.add(1, { [METRIC_ATTR_POLICY]: policy });
        return;
      case 'hedge':
        this.hedges.add(1, { [METRIC_ATTR_POLICY]: policy, action: event.action });
        return;
    }
  }

  dispose(): void {
    this.stopObserving();
    this.bulkheads.clear();
  }
}

/** The event on the span active where the policy acted (the caller's span: listeners run in its context). */
function addSpanEvent(event: PolicyEvent): void {
  const span = trace.getActiveSpan();
  if (span === undefined || !span.isRecording()) return;
  const attributes: Attributes = { [SPAN_ATTR_POLICY]: event.policy };
  switch (event.type) {
    case 'retry_attempt':
      attributes['phlow.retry.attempt'] = event.attempt;
      attributes['phlow.retry.delay_ms'] = event.delayMs;
      if (event.previous !== undefined) attributes['error.type'] = errorType(event.previous);
      span.addEvent(EVENT_RETRY_ATTEMPT, attributes);
      return;
    case 'retry_budget_exhausted':
      attributes['phlow.retry.attempt'] = event.attempt;
      span.addEvent(EVENT_RETRY_BUDGET_EXHAUSTED, attributes);
      return;
    case 'fallback':
      if (event.tierIndex === 0) return; // the primary answered: nothing fell back
      attributes['phlow.fallback.tier'] = event.tier ?? 'none';
      attributes['phlow.fallback.skipped'] = event.skipped.map((s) => `${s.tier}: ${s.reason}`);
      span.addEvent(EVENT_FALLBACK, attributes);
      return;
    case 'bulkhead':
      if (event.action !== 'rejected' && event.action !== 'queue_timeout') return;
      attributes['phlow.bulkhead.reason'] = event.action === 'rejected' ? 'full' : 'queue_timeout';
      attributes['phlow.bulkhead.in_flight'] = event.inFlight;
      attributes['phlow.bulkhead.queued'] = event.queued;
      span.addEvent(EVENT_BULKHEAD_REJECTED, attributes);
      return;
    case 'timeout':
      attributes['phlow.timeout.timeout_ms'] = event.timeoutMs;
      span.addEvent(EVENT_POLICY_TIMEOUT, attributes);
      return;
    case 'rate_limited':
      attributes['phlow.rate_limiter.retry_after_ms'] = event.retryAfterMs;
      span.addEvent(EVENT_RATE_LIMITED, attributes);
      return;
    case 'hedge':
      attributes['phlow.hedge.action'] = event.action;
      attributes['phlow.hedge.attempt'] = event.attempt;
      span.addEvent(EVENT_HEDGE, attributes);
      return;
    case 'retry_gave_up':
      return; // the call's own error says it; the attempts before it are on the span already
  }
}

/** A low-cardinality type for what an attempt failed with (OTel's `error.type`). */
function errorType(previous: unknown): string {
  try {
    if (previous instanceof Error) return previous.name || 'Error';
    const status = (previous as { status?: unknown } | null)?.status;
    if (typeof status === 'number') return String(status);
  } catch {
    // a hostile object: say nothing of it
  }
  return '_OTHER';
}
