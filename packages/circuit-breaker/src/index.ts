export { CircuitBreaker } from './circuit-breaker.js';
export type { CircuitBreakerStats, FamilyMembership, ReconfigureReport } from './circuit-breaker.js';
export { CircuitBreakerFamily } from './circuit-breaker-family.js';
export { FAMILY_DEFAULTS } from './circuit-breaker-family.js';
export type { FamilyOptions, FamilyReconfigureReport } from './circuit-breaker-family.js';
export { CircuitBreakerRegistry, getCircuitBreakerRegistry } from './registry.js';
export { circuitBreaker } from './decorator.js';
export { CIRCUIT_STATES } from './circuit-state.js';
export type { CircuitSnapshot, CircuitState, TransitionReason } from './circuit-state.js';
export type {
  CallFailureEvent,
  CallIgnoredEvent,
  CallRejectedEvent,
  CallSuccessEvent,
  CallTimeoutEvent,
  ProbeAbandonedEvent,
  StateChangeEvent,
} from './circuit-events.js';
export type { CallContext, ExecuteOptions } from './call-context.js';
export { DURATION_SAMPLING_DEFAULTS } from './call-durations.js';
export type { CallDurationListener, CallDurationOptions, CallDurationOutcome, DurationSampling } from './call-durations.js';
export {
  CircuitBreakerError,
  CircuitFamilyFullError,
  CircuitOpenError,
  CircuitTimeoutError,
} from './errors.js';
export { DEFAULTS } from './options.js';
export { isTransient, markTransient, transientFailure } from './transient.js';
export type { TransientFailure } from './transient.js';
export type {
  BulkheadEvent,
  FallbackEvent,
  HedgeEvent,
  PolicyEvent,
  PolicyKind,
  RateLimitedEvent,
  RetryAttemptEvent,
  RetryBudgetExhaustedEvent,
  RetryGaveUpEvent,
  TimeoutEvent,
} from './policy-events.js';
export { withAdapterDefaults } from './adapter-defaults.js';
export type { AdapterOptions, KeyedAdapterOptions } from './adapter-options.js';
export type {
  CircuitBreakerInit,
  CircuitBreakerOptions,
  ErrorClass,
  ExpectedError,
  OpenBackoffOptions,
  Outcome,
  ResolvedOptions,
} from './options.js';
export type {
  ConsecutiveFailuresSpec,
  CountWindowSpec,
  FailurePolicy,
  FailurePolicySpec,
  TimeWindowSpec,
} from './failure-policy.js';
export { systemClock } from './clock.js';
export { ManualClock } from './manual-clock.js';
export type { Clock, TimerHandle } from './clock.js';
export type { Disposable, DisposableLike, Event, ListenerErrorHandler } from './event.js';
export { jsonLineLogger } from './json-logger.js';
export type { CircuitLogEntry, CircuitLogger } from './json-logger.js';
export { InMemoryStateStore } from './in-memory-state-store.js';
export type { CircuitStateStore, StoreBinding, StoreConnection } from './state-store.js';
