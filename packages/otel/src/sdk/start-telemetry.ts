import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, metrics, propagation, trace, type Attributes } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type IMetricReader, type ViewOptions } from '@opentelemetry/sdk-metrics';
import { TracerProvider, BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace';
import { checkInteger, checkKnownKeys, checkOneOf } from '@phlow/circuit-breaker/internal';
import { checkBoolean, describeValue, orDefault } from '../describe-value.js';
import { CircuitBreakerMetricProducer } from './circuit-breaker-metric-producer.js';

/** Where metrics go. */
export type MetricsExporterName = 'prometheus' | 'otlp' | 'none';
/** Where spans go. */
export type TracesExporterName = 'otlp' | 'none';

const METRICS_EXPORTERS: readonly MetricsExporterName[] = ['prometheus', 'otlp', 'none'];
const TRACES_EXPORTERS: readonly TracesExporterName[] = ['otlp', 'none'];

/** The Prometheus scrape endpoint. */
export interface PrometheusEndpointOptions {
  /** Interface to listen on; `OTEL_EXPORTER_PROMETHEUS_HOST`, else `localhost`. */
  readonly host?: string;
  /** Port; `OTEL_EXPORTER_PROMETHEUS_PORT`, else 9464. 0 picks a free port (see `prometheusUrl`). */
  readonly port?: number;
  /** Path served (default `/metrics`); every other path answers 404. */
  readonly path?: string;
  /** Leave out the `target_info` series (default false). */
  readonly withoutTargetInfo?: boolean;
  /** Leave out the `otel_scope_*` labels (default false). */
  readonly withoutScopeInfo?: boolean;
}

/** Options of {@link startTelemetry}. Each one left out falls back to its standard `OTEL_*` variable. */
export interface TelemetryOptions {
  /** `service.name`; else `OTEL_SERVICE_NAME` / `OTEL_RESOURCE_ATTRIBUTES`, else the SDK's default. */
  readonly serviceName?: string;
  /** More resource attributes (they win over `OTEL_RESOURCE_ATTRIBUTES`). */
  readonly resourceAttributes?: Attributes;
  /**
   * Metric exporters; else `OTEL_METRICS_EXPORTER` (comma-separated), else `['prometheus']`.
   * `otlp` is OTLP/HTTP JSON, configured by `OTEL_EXPORTER_OTLP_[METRICS_]ENDPOINT` / `_HEADERS`.
   */
  readonly metricsExporters?: readonly MetricsExporterName[];
  /** Span exporters; else `OTEL_TRACES_EXPORTER`, else `['none']` (spans are made, not sent). */
  readonly tracesExporters?: readonly TracesExporterName[];
  readonly prometheus?: PrometheusEndpointOptions;
  /** OTLP metric export interval (ms); else `OTEL_METRIC_EXPORT_INTERVAL`, else 60000. */
  readonly metricExportIntervalMs?: number;
  /** Most series per instrument (the SDK's aggregation cardinality limit, default 2000). */
  readonly cardinalityLimit?: number;
  /**
   * Extra readers (e.g. an in-memory one in tests). To get the call-duration histogram on one, give it
   * its own `metricProducers: [new CircuitBreakerMetricProducer()]`: the readers made here get one already.
   */
  readonly metricReaders?: readonly IMetricReader[];
  /** Extra span processors. */
  readonly spanProcessors?: readonly SpanProcessor[];
  /**
   * Register the providers, an AsyncLocalStorage context manager and W3C propagators as the global
   * ones (default true). Fails if another provider is already registered.
   */
  readonly registerGlobal?: boolean;
}

const OPTION_NAMES = [
  'serviceName',
  'resourceAttributes',
  'metricsExporters',
  'tracesExporters',
  'prometheus',
  'metricExportIntervalMs',
  'cardinalityLimit',
  'metricReaders',
  'spanProcessors',
  'registerGlobal',
] as const;
const PROMETHEUS_OPTION_NAMES = ['host', 'port', 'path', 'withoutTargetInfo', 'withoutScopeInfo'] as const;

/**
 * What {@link startTelemetry} started. `await using telemetry = await startTelemetry()` shuts it down
 * when the scope ends.
 */
export interface TelemetryHandle extends AsyncDisposable {
  readonly meterProvider: MeterProvider;
  readonly tracerProvider: TracerProvider;
  /** The scrape URL actually listened on (with the real port when 0 was asked), if Prometheus is on. */
  readonly prometheusUrl: string | undefined;
  /** Exports what is pending, closes the scrape endpoint and unregisters the globals. Idempotent. */
  shutdown(): Promise<void>;
  /** The same as {@link TelemetryHandle.shutdown}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts OpenTelemetry for an app: a meter provider with a Prometheus scrape endpoint and/or OTLP/HTTP
 * export, a tracer provider with OTLP/HTTP span export, both registered globally. Configured by the
 * standard `OTEL_*` variables; options win over them. Resolves once the scrape endpoint listens.
 *
 * Unlike `@opentelemetry/sdk-node`, leaving `OTEL_METRICS_EXPORTER` / `OTEL_TRACES_EXPORTER` unset means
 * Prometheus only, so an app without a collector logs no export errors.
 *
 * @example
 * const telemetry = await startTelemetry({ serviceName: 'demo-agent' });
 * const instrumentation = instrumentCircuitBreakers(getCircuitBreakerRegistry());
 * process.once('SIGTERM', async () => { instrumentation.dispose(); await telemetry.shutdown(); });
 */
export async function startTelemetry(options: TelemetryOptions = {}): Promise<TelemetryHandle> {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`startTelemetry options must be an object; got ${describeValue(options)}`);
  }
  checkKnownKeys('startTelemetry options', options, OPTION_NAMES);
  const env = process.env;
  const metricsExporters = exporterList('metricsExporters', 'OTEL_METRICS_EXPORTER', options.metricsExporters, METRICS_EXPORTERS, [
    'prometheus',
  ]);
  const tracesExporters = exporterList('tracesExporters', 'OTEL_TRACES_EXPORTER', options.tracesExporters, TRACES_EXPORTERS, ['none']);
  const intervalMs =
    options.metricExportIntervalMs !== undefined
      ? checkInteger('metricExportIntervalMs', options.metricExportIntervalMs, 1)
      : envInteger('OTEL_METRIC_EXPORT_INTERVAL', env.OTEL_METRIC_EXPORT_INTERVAL, 60_000);
  const timeoutMs = Math.min(intervalMs, envInteger('OTEL_METRIC_EXPORT_TIMEOUT', env.OTEL_METRIC_EXPORT_TIMEOUT, 30_000));
  const registerGlobal = checkBoolean('registerGlobal', orDefault(options.registerGlobal, true));
  const cardinalityLimit =
    options.cardinalityLimit === undefined ? undefined : checkInteger('cardinalityLimit', options.cardinalityLimit, 1);
  if (options.serviceName !== undefined && (typeof options.serviceName !== 'string' || options.serviceName === '')) {
    throw new TypeError(`serviceName must be a non-empty string; got ${describeValue(options.serviceName)}`);
  }
  const prometheusOptions = metricsExporters.includes('prometheus') ? checkPrometheus(orDefault(options.prometheus, {})) : undefined;

  let resource = defaultResource().merge(detectResources({ detectors: [envDetector] }));
  if (options.resourceAttributes !== undefined) resource = resource.merge(resourceFromAttributes(options.resourceAttributes));
  if (options.serviceName !== undefined) resource = resource.merge(resourceFromAttributes({ 'service.name': options.serviceName }));

  const readers: IMetricReader[] = [...(options.metricReaders ?? [])];
  // Exports the durations instrumentCircuitBreakers aggregates itself (see its callDurations option).
  // Only with a reader of ours to carry it: a live producer no reader collects would hide the histogram.
  const withOwnReader = prometheusOptions !== undefined || metricsExporters.includes('otlp');
  const durationProducer = withOwnReader ? new CircuitBreakerMetricProducer() : undefined;
  const ownProducers = durationProducer === undefined ? [] : [durationProducer];
  let prometheus: PrometheusExporter | undefined;
  let meterProvider: MeterProvider;
  try {
    if (prometheusOptions !== undefined) {
      prometheus = new PrometheusExporter({
        preventServerStart: true,
        metricProducers: ownProducers,
        withoutTargetInfo: prometheusOptions.withoutTargetInfo,
        withoutScopeInfo: prometheusOptions.withoutScopeInfo,
      });
      readers.push(prometheus);
    }
    if (metricsExporters.includes('otlp')) {
      readers.push(
        new PeriodicExportingMetricReader({
          exporter: new OTLPMetricExporter(),
          metricProducers: ownProducers,
          exportIntervalMillis: intervalMs,
          exportTimeoutMillis: timeoutMs,
        }),
      );
    }
    const views: ViewOptions[] =
      cardinalityLimit === undefined ? [] : [{ instrumentName: '*', aggregationCardinalityLimit: cardinalityLimit }];
    meterProvider = new MeterProvider({ resource, readers, views });
  } catch (error) {
    durationProducer?.dispose(); // an unscoped producer left behind would claim every later instrumentation
    throw error;
  }
  durationProducer?.scopeTo(meterProvider);

  const spanProcessors: SpanProcessor[] = [...(options.spanProcessors ?? [])];
  if (tracesExporters.includes('otlp')) spanProcessors.push(new BatchSpanProcessor({ exporter: new OTLPTraceExporter() }));
  const tracerProvider = new TracerProvider({ resource, spanProcessors });

  let server: Server | undefined;
  let prometheusUrl: string | undefined;
  const registered: Array<() => void> = [];
  const shutdownProviders = async () => {
    durationProducer?.dispose();
    for (const unregister of registered.splice(0).reverse()) unregister();
    await Promise.allSettled([
      server === undefined ? Promise.resolve() : closeServer(server),
      meterProvider.shutdown(),
      tracerProvider.shutdown(),
    ]);
  };
  try {
    if (prometheus !== undefined && prometheusOptions !== undefined) {
      const exporter = prometheus;
      const path = prometheusOptions.path;
      server = createServer((request, response) => {
        if (request.method === 'GET' && new URL(request.url ?? '/', 'http://x').pathname === path) {
          exporter.getMetricsRequestHandler(request, response);
        } else {
          response.writeHead(404).end();
        }
      });
      const address = await listen(server, prometheusOptions.host, prometheusOptions.port);
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      prometheusUrl = `http://${host}:${address.port}${path}`;
    }
    if (registerGlobal) {
      const contextManager = new AsyncLocalStorageContextManager().enable();
      if (!context.setGlobalContextManager(contextManager)) throw alreadyRegistered('context manager');
      registered.push(() => context.disable());
      if (!trace.setGlobalTracerProvider(tracerProvider)) throw alreadyRegistered('tracer provider');
      registered.push(() => trace.disable());
      if (!metrics.setGlobalMeterProvider(meterProvider)) throw alreadyRegistered('meter provider');
      registered.push(() => metrics.disable());
      const propagator = new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] });
      if (!propagation.setGlobalPropagator(propagator)) throw alreadyRegistered('propagator');
      registered.push(() => propagation.disable());
    }
  } catch (error) {
    await shutdownProviders();
    throw error;
  }

  let stopped: Promise<void> | undefined;
  const shutdown = () => (stopped ??= shutdownProviders());
  return { meterProvider, tracerProvider, prometheusUrl, shutdown, [Symbol.asyncDispose]: shutdown };
}

function alreadyRegistered(what: string): Error {
  return new Error(
    `startTelemetry: a global OpenTelemetry ${what} is already registered (another SDK, or startTelemetry called twice); ` +
      'shut that one down first, or pass registerGlobal: false',
  );
}

function exporterList<T extends string>(
  option: string,
  variable: string,
  given: readonly T[] | undefined,
  allowed: readonly T[],
  fallback: readonly T[],
): readonly T[] {
  if (given !== undefined) {
    if (!Array.isArray(given)) throw new TypeError(`${option} must be an array of ${allowed.join(', ')}; got ${describeValue(given)}`);
    return given.map((name, i) => checkOneOf(`${option}[${i}]`, name, allowed));
  }
  const raw = process.env[variable]?.trim();
  if (raw === undefined || raw === '') return fallback;
  return raw.split(',').map((name) => checkOneOf(variable, name.trim(), allowed));
}

function envInteger(variable: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw.trim() === '') return fallback;
  return checkInteger(variable, Number(raw), 1);
}

function checkPrometheus(options: PrometheusEndpointOptions): Required<Omit<PrometheusEndpointOptions, 'withoutTargetInfo' | 'withoutScopeInfo'>> &
  PrometheusEndpointOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`prometheus must be an object; got ${describeValue(options)}`);
  }
  checkKnownKeys('startTelemetry prometheus options', options, PROMETHEUS_OPTION_NAMES);
  const env = process.env;
  const host = orDefault(options.host, env.OTEL_EXPORTER_PROMETHEUS_HOST?.trim() || 'localhost');
  if (typeof host !== 'string' || host === '') throw new TypeError(`prometheus.host must be a non-empty string; got ${describeValue(host)}`);
  const port =
    options.port !== undefined
      ? checkInteger('prometheus.port', options.port, 0, 65_535)
      : env.OTEL_EXPORTER_PROMETHEUS_PORT?.trim()
        ? checkInteger('OTEL_EXPORTER_PROMETHEUS_PORT', Number(env.OTEL_EXPORTER_PROMETHEUS_PORT), 0, 65_535)
        : 9464;
  const path = orDefault(options.path, '/metrics');
  if (typeof path !== 'string' || !path.startsWith('/')) throw new TypeError(`prometheus.path must be a string starting with "/"; got ${describeValue(path)}`);
  return {
    host,
    port,
    path,
    withoutTargetInfo: checkBoolean('prometheus.withoutTargetInfo', orDefault(options.withoutTargetInfo, false)),
    withoutScopeInfo: checkBoolean('prometheus.withoutScopeInfo', orDefault(options.withoutScopeInfo, false)),
  };
}

function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}
