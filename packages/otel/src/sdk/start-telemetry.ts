import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, metrics, propagation, trace, type Attributes, type ProxyTracerProvider } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { PeriodicExportingMetricReader, type IMetricReader, type MeterProvider, type PushMetricExporter, type ViewOptions } from '@opentelemetry/sdk-metrics';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, NoopSpanProcessor, type SpanExporter, type SpanProcessor, type TracerProvider } from '@opentelemetry/sdk-trace';
import { checkInteger, checkKnownKeys, checkOneOf } from '@phlow/circuit-breaker/internal';
import { checkBoolean, describeValue, orDefault } from '../describe-value.js';
import { isOtelGlobalRegistered } from '../otel-globals.js';
import { CircuitBreakerMetricProducer } from './circuit-breaker-metric-producer.js';
import { prometheusMetricsHandler, type MetricsRequestHandler } from './prometheus-metrics-handler.js';

/** Where metrics go. */
export type MetricsExporterName = 'prometheus' | 'otlp' | 'none';
/** Where spans go. */
export type TracesExporterName = 'otlp' | 'none';
/** OTLP transports, as `OTEL_EXPORTER_OTLP_PROTOCOL` names them. */
export type OtlpProtocol = 'http/protobuf' | 'http/json' | 'grpc';

const METRICS_EXPORTERS: readonly MetricsExporterName[] = ['prometheus', 'otlp', 'none'];
const TRACES_EXPORTERS: readonly TracesExporterName[] = ['otlp', 'none'];
const OTLP_PROTOCOLS: readonly OtlpProtocol[] = ['http/protobuf', 'http/json', 'grpc'];

/** The Prometheus scrape endpoint. */
export interface PrometheusEndpointOptions {
  /** Interface to listen on; `OTEL_EXPORTER_PROMETHEUS_HOST`, else `localhost`. */
  readonly host?: string;
  /**
   * Port; `OTEL_EXPORTER_PROMETHEUS_PORT`, else 9464. 0 picks a free port (see `prometheusUrl`).
   * `false` starts no server: serve {@link TelemetryHandle.metricsHandler} on your app's own server.
   */
  readonly port?: number | false;
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
  /**
   * More resource attributes. The SDK's resource detectors (`OTEL_RESOURCE_ATTRIBUTES`, host, process)
   * are merged over them, as NodeSDK does; `serviceName` wins over everything.
   */
  readonly resourceAttributes?: Attributes;
  /**
   * Metric exporters; else `OTEL_METRICS_EXPORTER` (comma-separated), else `['prometheus']`. `otlp` uses
   * `OTEL_EXPORTER_OTLP_[METRICS_]PROTOCOL` (`http/protobuf` by default, `http/json`, `grpc`) and the
   * exporter's own `OTEL_EXPORTER_OTLP_[METRICS_]ENDPOINT` / `_HEADERS`.
   */
  readonly metricsExporters?: readonly MetricsExporterName[];
  /**
   * Span exporters; else `OTEL_TRACES_EXPORTER`, else `['none']` (spans are made, not sent). `otlp`
   * as for metrics, with the `TRACES` variables.
   */
  readonly tracesExporters?: readonly TracesExporterName[];
  readonly prometheus?: PrometheusEndpointOptions;
  /** OTLP metric export interval (ms); else `OTEL_METRIC_EXPORT_INTERVAL`, else 60000. */
  readonly metricExportIntervalMs?: number;
  /** Most series per instrument (the SDK's aggregation cardinality limit, default 2000). */
  readonly cardinalityLimit?: number;
  /**
   * Extra readers (e.g. an in-memory one in tests). Give each its own
   * `metricProducers: [new CircuitBreakerMetricProducer()]`: the readers made here carry one, and while one
   * does, the breaker metrics reach readers only through producers (so a retired member's series leaves the
   * export); a reader without one gets none of them.
   */
  readonly metricReaders?: readonly IMetricReader[];
  /** Extra span processors. */
  readonly spanProcessors?: readonly SpanProcessor[];
  /**
   * Instrumentations for NodeSDK to register: `new CircuitBreakerInstrumentation()` and the
   * auto-instrumentations (http, express, undici, ...).
   */
  readonly instrumentations?: readonly Instrumentation[];
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
  'instrumentations',
] as const;
const PROMETHEUS_OPTION_NAMES = ['host', 'port', 'path', 'withoutTargetInfo', 'withoutScopeInfo'] as const;

/**
 * What {@link startTelemetry} started. `await using telemetry = await startTelemetry()` shuts it down
 * when the scope ends.
 */
export interface TelemetryHandle extends AsyncDisposable {
  /** The NodeSDK underneath. */
  readonly sdk: NodeSDK;
  /** The SDK's meter provider; undefined when no metric reader was asked for (NodeSDK then starts none). */
  readonly meterProvider: MeterProvider | undefined;
  readonly tracerProvider: TracerProvider;
  /** The scrape URL actually listened on (with the real port when 0 was asked), if a scrape server runs. */
  readonly prometheusUrl: string | undefined;
  /**
   * Serves the Prometheus text on a server of your own (`node:http` or Express), if Prometheus is on:
   * `app.get('/metrics', telemetry.metricsHandler)`.
   */
  readonly metricsHandler: MetricsRequestHandler | undefined;
  /** Disables the instrumentations given, exports what is pending, closes the scrape endpoint and unregisters the globals. Idempotent. */
  shutdown(): Promise<void>;
  /** The same as {@link TelemetryHandle.shutdown}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts OpenTelemetry for an app on `@opentelemetry/sdk-node`'s NodeSDK: metrics to a Prometheus scrape
 * endpoint and/or OTLP, spans to OTLP, the instrumentations you pass, all registered globally (with
 * an AsyncLocalStorage context manager and W3C propagators, NodeSDK's defaults). Configured by the
 * standard `OTEL_*` variables; options win over them. Resolves once the scrape endpoint listens.
 *
 * Two things differ from a bare NodeSDK, because NodeSDK cannot be configured to do them:
 * - The metric readers are built here, not from the environment: NodeSDK's env readers take no metric
 *   producers (and its Prometheus reader opens 0.0.0.0:9464 with no way to learn a free port), so they
 *   could not carry the `CircuitBreakerMetricProducer` that exports call durations at no per-call SDK
 *   cost. The OTLP transport still follows `OTEL_EXPORTER_OTLP_[METRICS_]PROTOCOL` like NodeSDK's.
 * - Leaving `OTEL_METRICS_EXPORTER` / `OTEL_TRACES_EXPORTER` unset means Prometheus only, spans made but
 *   not sent, so an app without a collector logs no export errors (NodeSDK's default is OTLP for both).
 *
 * @example
 * const telemetry = await startTelemetry({
 *   serviceName: 'demo-agent',
 *   instrumentations: [new CircuitBreakerInstrumentation()],
 * });
 * process.once('SIGTERM', () => telemetry.shutdown());
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
  const cardinalityLimit =
    options.cardinalityLimit === undefined ? undefined : checkInteger('cardinalityLimit', options.cardinalityLimit, 1);
  if (options.serviceName !== undefined && (typeof options.serviceName !== 'string' || options.serviceName === '')) {
    throw new TypeError(`serviceName must be a non-empty string; got ${describeValue(options.serviceName)}`);
  }
  if (options.instrumentations !== undefined && !Array.isArray(options.instrumentations)) {
    throw new TypeError(`instrumentations must be an array of OpenTelemetry Instrumentations; got ${describeValue(options.instrumentations)}`);
  }
  const prometheusOptions = metricsExporters.includes('prometheus') ? checkPrometheus(orDefault(options.prometheus, {})) : undefined;
  const metricsProtocol = metricsExporters.includes('otlp') ? otlpProtocol('METRICS') : undefined;
  const tracesProtocol = tracesExporters.includes('otlp') ? otlpProtocol('TRACES') : undefined;
  if (otelGlobalsRegistered()) throw alreadyRegistered();

  const readers: IMetricReader[] = [...(options.metricReaders ?? [])];
  // Exports the durations instrumentCircuitBreakers aggregates itself (see its callDurations option).
  // Only with a reader of ours to carry it: a live producer no reader collects would hide the histogram.
  const withOwnReader = prometheusOptions !== undefined || metricsProtocol !== undefined;
  const durationProducer = withOwnReader ? new CircuitBreakerMetricProducer() : undefined;
  const ownProducers = durationProducer === undefined ? [] : [durationProducer];
  let server: Server | undefined;
  let sdk: NodeSDK | undefined;
  const instrumentations = [...(options.instrumentations ?? [])];
  const shutdownAll = async () => {
    // The SDK first: its last export still holds the durations and the instruments' final values.
    await Promise.allSettled([server === undefined ? Promise.resolve() : closeServer(server), sdk?.shutdown()]);
    durationProducer?.dispose();
    // NodeSDK.shutdown leaves instrumentations enabled, still feeding the providers it shut down.
    for (const instrumentation of instrumentations) instrumentation.disable();
    // It leaves its globals registered too: unregister them so the app can start again.
    if (sdk !== undefined) {
      metrics.disable();
      trace.disable();
      context.disable();
      propagation.disable();
    }
  };
  try {
    let metricsHandler: MetricsRequestHandler | undefined;
    let prometheusUrl: string | undefined;
    if (prometheusOptions !== undefined) {
      const prometheus = new PrometheusExporter({
        preventServerStart: true,
        metricProducers: ownProducers,
        withoutTargetInfo: prometheusOptions.withoutTargetInfo,
        withoutScopeInfo: prometheusOptions.withoutScopeInfo,
      });
      readers.push(prometheus);
      metricsHandler = prometheusMetricsHandler(prometheus);
      if (prometheusOptions.port !== false) {
        const handler = metricsHandler;
        const path = prometheusOptions.path;
        server = createServer((request, response) => {
          // Node accepts request lines whose target is no valid URL (`GET http://a:99999/metrics`): answer 400.
          // A parse error thrown here would escape the handler and end the process.
          const url = URL.parse(request.url ?? '/', 'http://x');
          if (url === null) response.writeHead(400).end();
          else if (url.pathname === path) handler(request, response);
          else response.writeHead(404).end();
        });
        const address = await listen(server, prometheusOptions.host, prometheusOptions.port);
        const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
        prometheusUrl = `http://${host}:${address.port}${path}`;
      }
    }
    if (metricsProtocol !== undefined) {
      readers.push(
        new PeriodicExportingMetricReader({
          exporter: await otlpMetricExporter(metricsProtocol),
          metricProducers: ownProducers,
          exportIntervalMillis: intervalMs,
          exportTimeoutMillis: timeoutMs,
        }),
      );
    }
    const spanProcessors: SpanProcessor[] = [...(options.spanProcessors ?? [])];
    if (tracesProtocol !== undefined) spanProcessors.push(new BatchSpanProcessor({ exporter: await otlpTraceExporter(tracesProtocol) }));
    // NodeSDK registers no tracer provider without a processor; spans are still wanted (trace ids in logs).
    if (spanProcessors.length === 0) spanProcessors.push(new NoopSpanProcessor());
    const views: ViewOptions[] =
      cardinalityLimit === undefined ? [] : [{ instrumentName: '*', aggregationCardinalityLimit: cardinalityLimit }];

    sdk = new NodeSDK({
      serviceName: options.serviceName,
      resource: defaultResource().merge(resourceFromAttributes(options.resourceAttributes ?? {})),
      metricReaders: readers, // none: NodeSDK registers no meter provider (metrics stay the API's no-ops)
      views,
      spanProcessors,
      // Logs are not ours to start: NodeSDK's default would export them over OTLP, erroring without a collector.
      logRecordProcessors: [],
      instrumentations,
    });
    sdk.start();
    const meterProvider = readers.length === 0 ? undefined : (metrics.getMeterProvider() as MeterProvider);
    const tracerProvider = (trace.getTracerProvider() as ProxyTracerProvider).getDelegate() as TracerProvider;
    if (meterProvider !== undefined) durationProducer?.scopeTo(meterProvider);

    let stopped: Promise<void> | undefined;
    const shutdown = () => (stopped ??= shutdownAll());
    return { sdk, meterProvider, tracerProvider, prometheusUrl, metricsHandler, shutdown, [Symbol.asyncDispose]: shutdown };
  } catch (error) {
    await shutdownAll();
    throw error;
  }
}

/** NodeSDK would only log a diag error over an existing global and leave our providers unused. */
function otelGlobalsRegistered(): boolean {
  return (['context', 'trace', 'metrics', 'propagation'] as const).some(isOtelGlobalRegistered);
}

function otlpProtocol(signal: 'METRICS' | 'TRACES'): OtlpProtocol {
  const specific = `OTEL_EXPORTER_OTLP_${signal}_PROTOCOL`;
  for (const variable of [specific, 'OTEL_EXPORTER_OTLP_PROTOCOL']) {
    const raw = process.env[variable]?.trim();
    if (raw) return checkOneOf(variable, raw, OTLP_PROTOCOLS);
  }
  return 'http/protobuf'; // the spec's default, as NodeSDK's
}

// Loaded on demand: the gRPC exporters bring @grpc/grpc-js, which an app on HTTP need not load.
async function otlpMetricExporter(protocol: OtlpProtocol): Promise<PushMetricExporter> {
  switch (protocol) {
    case 'grpc':
      return new (await import('@opentelemetry/exporter-metrics-otlp-grpc')).OTLPMetricExporter();
    case 'http/json':
      return new (await import('@opentelemetry/exporter-metrics-otlp-http')).OTLPMetricExporter();
    case 'http/protobuf':
      return new (await import('@opentelemetry/exporter-metrics-otlp-proto')).OTLPMetricExporter();
  }
}

async function otlpTraceExporter(protocol: OtlpProtocol): Promise<SpanExporter> {
  switch (protocol) {
    case 'grpc':
      return new (await import('@opentelemetry/exporter-trace-otlp-grpc')).OTLPTraceExporter();
    case 'http/json':
      return new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter();
    case 'http/protobuf':
      return new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter();
  }
}

function alreadyRegistered(): Error {
  return new Error(
    'startTelemetry: an OpenTelemetry global (context manager, tracer or meter provider, propagator) is already registered ' +
      '(another SDK, or startTelemetry called twice); shut that one down first',
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
    options.port === false
      ? false
      : options.port !== undefined
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
    // A scrape in progress gets a moment to finish; a client that never completes its request must not hold
    // shutdown until Node's requestTimeout (5 minutes).
    setTimeout(() => server.closeAllConnections(), 1_000).unref();
  });
}
