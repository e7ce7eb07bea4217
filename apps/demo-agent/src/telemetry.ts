/**
 * The demo's telemetry: OpenTelemetry's NodeSDK through `startTelemetry` (Prometheus always, for
 * `/metrics`; OTLP too when an endpoint is configured), the breaker registry every dependency's breakers
 * live in, the breaker Instrumentation on it, and the http, express and undici instrumentations, so one
 * relay is one trace: the inbound request, Supabase, DID resolution, the outbound A2A call and the peer's
 * server (the embedded peers run in this process, under the same SDK). State changes are logged as JSON
 * lines on stderr, with the trace id inside a span.
 */
import { trace } from '@opentelemetry/api';
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { CircuitBreakerRegistry, jsonLineLogger } from '@phlow/circuit-breaker';
import { CircuitBreakerInstrumentation, traceContextLogger } from '@phlow/otel';
import { startTelemetry, type MetricsRequestHandler } from '@phlow/otel/sdk';
import type { DemoConfig } from './config.js';

export interface DemoTelemetry {
  readonly registry: CircuitBreakerRegistry;
  /** Serves the Prometheus text on the agent's own server (`/metrics`); none when OTEL_METRICS_EXPORTER leaves Prometheus out. */
  readonly metricsHandler: MetricsRequestHandler | undefined;
  /** Shuts the SDK down (flushing OTLP exports) and stops instrumenting the breakers. */
  stop(): Promise<void>;
}

let preloaded: Promise<DemoTelemetry> | undefined;

/**
 * Starts the telemetry before the app's modules load (from `instrument.ts`, run with `node --import`):
 * the http and express instrumentations patch those modules as they load, so they must be enabled first.
 * The next {@link startDemoTelemetry} hands this one out instead of starting a second SDK.
 */
export function preloadDemoTelemetry(config: Pick<DemoConfig, 'otlpEndpoint'>, env: NodeJS.ProcessEnv = process.env): Promise<DemoTelemetry> {
  preloaded ??= launch(config, env);
  return preloaded;
}

/**
 * The telemetry `preloadDemoTelemetry` started, or a new one. Without the preload (the app's modules
 * already loaded), breaker metrics and the adapters' spans still work; the http and express
 * server spans are missing.
 */
export async function startDemoTelemetry(config: Pick<DemoConfig, 'otlpEndpoint'>, env: NodeJS.ProcessEnv = process.env): Promise<DemoTelemetry> {
  const ready = preloaded;
  preloaded = undefined;
  return ready ?? launch(config, env);
}

const TRACE_CONTEXT_HEADERS = new Set(['traceparent', 'tracestate']);

/**
 * @phlow/a2a puts the trace context on its calls itself (for apps without an HTTP client instrumentation),
 * and the undici instrumentation appends its own: two `traceparent` headers, which the peer's server joins
 * into one value no propagator parses, so the peer would start a trace of its own. The hook runs before the
 * instrumentation injects, so the context that reaches the peer is undici's client span, a child of the
 * adapter's.
 */
function dropTraceContext(request: { headers: unknown }): void {
  const headers = request.headers;
  if (!Array.isArray(headers)) return; // undici 8 keeps a flat [name, value, ...] list
  for (let i = headers.length - 2; i >= 0; i -= 2) {
    if (TRACE_CONTEXT_HEADERS.has(String(headers[i]).toLowerCase())) headers.splice(i, 2);
  }
}

async function launch(config: Pick<DemoConfig, 'otlpEndpoint'>, env: NodeJS.ProcessEnv): Promise<DemoTelemetry> {
  const otlp = config.otlpEndpoint !== undefined;
  const registry = new CircuitBreakerRegistry({ logger: traceContextLogger(jsonLineLogger()) });
  const telemetry = await startTelemetry({
    serviceName: env['OTEL_SERVICE_NAME'] ?? 'phlow-demo-agent',
    // No scrape server of its own: the agent serves /metrics through the exporter's handler.
    prometheus: { port: false },
    // The standard OTEL_*_EXPORTER variables win over the demo's choice.
    ...(otlp && env['OTEL_METRICS_EXPORTER'] === undefined ? { metricsExporters: ['prometheus', 'otlp'] as const } : {}),
    ...(otlp && env['OTEL_TRACES_EXPORTER'] === undefined ? { tracesExporters: ['otlp'] as const } : {}),
    instrumentations: [
      new CircuitBreakerInstrumentation({ registry }),
      new HttpInstrumentation(),
      new ExpressInstrumentation(),
      // The DID resolver and the A2A client use npm undici 8's fetch: it publishes on the same diagnostics channels as Node's own.
      // Only when the instrumentation's span will carry a context of its own: otherwise (no parent with
      // requireParentforSpans, a non-recording set-up) the headers already there are the only trace context.
      new UndiciInstrumentation({
        requestHook: (span, request) => {
          if (trace.isSpanContextValid(span.spanContext())) dropTraceContext(request);
        },
      }),
    ],
  });
  return {
    registry,
    metricsHandler: telemetry.metricsHandler,
    // Shutting the SDK down disables the instrumentations too.
    stop: () => telemetry.shutdown(),
  };
}
