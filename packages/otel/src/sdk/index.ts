export { CircuitBreakerMetricProducer } from './circuit-breaker-metric-producer.js';
export { startTelemetry } from './start-telemetry.js';
export type {
  MetricsExporterName,
  OtlpProtocol,
  PrometheusEndpointOptions,
  TelemetryHandle,
  TelemetryOptions,
  TracesExporterName,
} from './start-telemetry.js';
export { createPrometheusMetricsReader, prometheusMetricsHandler } from './prometheus-metrics-handler.js';
export type { MetricsRequestHandler, PrometheusMetricsReaderOptions } from './prometheus-metrics-handler.js';
