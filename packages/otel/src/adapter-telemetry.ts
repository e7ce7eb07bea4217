import { trace, type Tracer, type TracerProvider } from '@opentelemetry/api';
import { describeValue } from '@phlow/circuit-breaker/internal';

/** The telemetry option every adapter of ours takes (beside the core's `AdapterOptions`). */
export interface AdapterTelemetryOptions {
  /**
   * Where the adapter's spans go, as in OpenTelemetry's own instrumentations. Default: the global
   * tracer provider (spans start once an SDK registers one).
   */
  readonly tracerProvider?: TracerProvider;
}

/** The option names of {@link AdapterTelemetryOptions}, for `checkKnownKeys`. */
export const ADAPTER_TELEMETRY_OPTION_NAMES = Object.freeze(['tracerProvider'] as const);

/**
 * The adapter's tracer, named after its package (`scope`, `version`), from the user's `tracerProvider`
 * or the global one; a provider without `getTracer` is refused naming the option.
 */
export function adapterTracer(what: string, options: AdapterTelemetryOptions, scope: string, version: string): Tracer {
  const provider = options.tracerProvider;
  if (provider === undefined) return trace.getTracer(scope, version);
  if (typeof provider !== 'object' || provider === null || typeof (provider as Partial<TracerProvider>).getTracer !== 'function') {
    throw new TypeError(`${what}: tracerProvider must be an OpenTelemetry TracerProvider (with getTracer); got ${describeValue(provider)}`);
  }
  return provider.getTracer(scope, version);
}
