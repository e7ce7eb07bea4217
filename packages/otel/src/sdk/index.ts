export { CircuitBreakerMetricProducer } from './circuit-breaker-metric-producer.js';
export { startTelemetry } from './start-telemetry.js';
export type {
  MetricsExporterName,
  PrometheusEndpointOptions,
  TelemetryHandle,
  TelemetryOptions,
  TracesExporterName,
} from './start-telemetry.js';
