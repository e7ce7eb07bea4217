import type { IncomingMessage, ServerResponse } from 'node:http';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { describeValue } from '../describe-value.js';
import { CircuitBreakerMetricProducer } from './circuit-breaker-metric-producer.js';

/**
 * A request handler serving the Prometheus text format, for `node:http` (`(request, response)`) and
 * Express (`app.get('/metrics', handler)`; it answers every request it is given and never calls `next`).
 */
export type MetricsRequestHandler = (request: IncomingMessage, response: ServerResponse) => void;

/** Options of {@link createPrometheusMetricsReader}. */
export interface PrometheusMetricsReaderOptions {
  /** Leave out the `target_info` series (default false). */
  readonly withoutTargetInfo?: boolean;
  /** Leave out the `otel_scope_*` labels (default false). */
  readonly withoutScopeInfo?: boolean;
}

/**
 * A Prometheus reader that opens no port of its own (`preventServerStart`), carrying a
 * `CircuitBreakerMetricProducer` so the call-duration histogram costs no SDK recording per call. Give
 * it to your SDK (`new NodeSDK({ metricReaders: [reader] })`) and serve it with
 * {@link prometheusMetricsHandler} on the app's own server.
 */
export function createPrometheusMetricsReader(options: PrometheusMetricsReaderOptions = {}): PrometheusExporter {
  return new PrometheusMetricsReader(options);
}

/** Disposes its producer on shutdown: a producer left live would claim instrumentations nothing collects. */
class PrometheusMetricsReader extends PrometheusExporter {
  private readonly durations: CircuitBreakerMetricProducer;

  constructor(options: PrometheusMetricsReaderOptions) {
    const durations = new CircuitBreakerMetricProducer();
    super({
      preventServerStart: true,
      metricProducers: [durations],
      withoutTargetInfo: options.withoutTargetInfo,
      withoutScopeInfo: options.withoutScopeInfo,
    });
    this.durations = durations;
  }

  override async onShutdown(): Promise<void> {
    this.durations.dispose();
    await super.onShutdown();
  }
}

/**
 * Serves `reader`'s metrics — the Prometheus text of the meter provider it is registered with — through
 * exporter-prometheus's own `getMetricsRequestHandler`, so an app needs no second port. GET and HEAD
 * only (405 otherwise); routing by path is the server's business.
 *
 * @example
 * const reader = createPrometheusMetricsReader();
 * new NodeSDK({ metricReaders: [reader], instrumentations: [new CircuitBreakerInstrumentation()] }).start();
 * app.get('/metrics', prometheusMetricsHandler(reader));
 */
export function prometheusMetricsHandler(reader: PrometheusExporter): MetricsRequestHandler {
  if (typeof (reader as PrometheusExporter | null)?.getMetricsRequestHandler !== 'function') {
    throw new TypeError(`prometheusMetricsHandler needs a PrometheusExporter (@opentelemetry/exporter-prometheus); got ${describeValue(reader)}`);
  }
  return (request, response) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    reader.getMetricsRequestHandler(request, response);
  };
}
