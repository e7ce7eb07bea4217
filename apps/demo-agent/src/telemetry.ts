/**
 * The demo's telemetry: the OpenTelemetry SDK (Prometheus always, for `/metrics`; OTLP too when an
 * endpoint is configured), the breaker registry every dependency's breakers live in, and the breaker
 * instruments on it. State changes are logged as JSON lines on stderr, with the trace id inside a span.
 */
import { CircuitBreakerRegistry, jsonLineLogger } from '@phlow/circuit-breaker';
import { CircuitBreakerInstrumentation, traceContextLogger } from '@phlow/otel';
import { startTelemetry } from '@phlow/otel/sdk';
import type { DemoConfig } from './config.js';

export interface DemoTelemetry {
  readonly registry: CircuitBreakerRegistry;
  /** Where the Prometheus exporter answers (on loopback; `/metrics` relays it); none when OTEL_METRICS_EXPORTER leaves it out. */
  readonly prometheusUrl: string | undefined;
  /** Shuts the SDK down (flushing OTLP exports) and stops instrumenting the breakers. */
  stop(): Promise<void>;
}

export async function startDemoTelemetry(config: Pick<DemoConfig, 'otlpEndpoint'>, env: NodeJS.ProcessEnv = process.env): Promise<DemoTelemetry> {
  const otlp = config.otlpEndpoint !== undefined;
  const registry = new CircuitBreakerRegistry({ logger: traceContextLogger(jsonLineLogger()) });
  const telemetry = await startTelemetry({
    serviceName: env['OTEL_SERVICE_NAME'] ?? 'phlow-demo-agent',
    prometheus: { host: '127.0.0.1', port: 0 },
    // The standard OTEL_*_EXPORTER variables win over the demo's choice.
    ...(otlp && env['OTEL_METRICS_EXPORTER'] === undefined ? { metricsExporters: ['prometheus', 'otlp'] as const } : {}),
    ...(otlp && env['OTEL_TRACES_EXPORTER'] === undefined ? { tracesExporters: ['otlp'] as const } : {}),
    instrumentations: [new CircuitBreakerInstrumentation({ registry })],
  });
  return {
    registry,
    prometheusUrl: telemetry.prometheusUrl,
    // Shutting the SDK down disables the instrumentation too.
    stop: () => telemetry.shutdown(),
  };
}
