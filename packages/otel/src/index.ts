export { CircuitBreakerInstrumentation } from './circuit-breaker-instrumentation.js';
export type { CircuitBreakerInstrumentationConfig } from './circuit-breaker-instrumentation.js';
export { instrumentCircuitBreakers, DEFAULT_MAX_SERIES_NAMES, DEFAULT_MAX_SERIES_PER_FAMILY } from './instrument-circuit-breakers.js';
export type {
  CallDurationMode,
  RegistryInstrumentation,
  RegistryInstrumentationOptions,
} from './instrument-circuit-breakers.js';
export type { CallDurationPoint } from './call-duration-aggregate.js';
export { withBreakerSpan, recordBreakerError } from './breaker-span.js';
export type { BreakerSpanOptions } from './breaker-span.js';
export { traceContextLogger } from './trace-context-logger.js';
export type { TracedCircuitLogEntry } from './trace-context-logger.js';
export {
  CALL_DURATION_BUCKETS,
  CALL_DURATION_HISTOGRAM,
  CALL_OUTCOMES,
  CALLS_COUNTER,
  EVENT_REJECTED,
  EVENT_STATE_CHANGE,
  EVENT_TIMEOUT,
  FAILURES_COUNTER,
  INSTRUMENTATION_SCOPE,
  METRIC_ATTR_FROM,
  METRIC_ATTR_NAME,
  METRIC_ATTR_OUTCOME,
  METRIC_ATTR_STATE,
  METRIC_ATTR_TO,
  OVERFLOW_SERIES_NAME,
  RECOVERY_BUCKETS,
  RECOVERY_HISTOGRAM,
  SPAN_ATTR_FROM,
  SPAN_ATTR_NAME,
  SPAN_ATTR_REASON,
  SPAN_ATTR_RETRY_AFTER_MS,
  SPAN_ATTR_STATE,
  SPAN_ATTR_TIMEOUT_MS,
  SPAN_ATTR_TO,
  STATE_GAUGE,
  STATE_TIME_COUNTER,
  TRANSITIONS_COUNTER,
} from './telemetry-names.js';
export type { CallOutcome, InstrumentSpec } from './telemetry-names.js';
export type { AdapterTelemetryOptions } from './adapter-telemetry.js';
export { VERSION } from './version.js';
