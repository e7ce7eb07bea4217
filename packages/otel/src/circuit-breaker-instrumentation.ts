import { metrics, type MeterProvider, type TracerProvider } from '@opentelemetry/api';
// Types only: the interface is all an SDK needs, so `@opentelemetry/instrumentation` is not loaded at run time.
import type { Instrumentation, InstrumentationConfig } from '@opentelemetry/instrumentation';
import { getCircuitBreakerRegistry, type CircuitBreakerRegistry } from '@phlow/circuit-breaker';
import { checkKnownKeys } from '@phlow/circuit-breaker/internal';
import {
  instrumentCircuitBreakers,
  type CallDurationMode,
  type RegistryInstrumentation,
  type RegistryInstrumentationOptions,
} from './instrument-circuit-breakers.js';
import { INSTRUMENTATION_SCOPE } from './telemetry-names.js';
import { VERSION } from './version.js';
import { checkBoolean, describeValue } from './describe-value.js';
import { isOtelGlobalRegistered } from './otel-globals.js';

/**
 * Configuration of {@link CircuitBreakerInstrumentation}: OTel's shared `enabled`, the registry to watch,
 * and the options of {@link instrumentCircuitBreakers} (the meter provider comes from the SDK, through
 * `setMeterProvider`).
 */
export interface CircuitBreakerInstrumentationConfig extends InstrumentationConfig, Omit<RegistryInstrumentationOptions, 'meterProvider'> {
  /** The registry whose breakers (now and later) are instrumented; the process-wide one by default. */
  readonly registry?: CircuitBreakerRegistry;
}

const CONFIG_NAMES = ['enabled', 'registry', 'metrics', 'callDurations', 'callDurationSampling', 'spanEvents', 'maxSeriesNames', 'maxSeriesPerFamily', 'policyEvents', 'maxPolicyNames'] as const;

/**
 * The circuit breakers' telemetry as an OpenTelemetry `Instrumentation`, for an app that sets up the SDK
 * itself: give it to `new NodeSDK({ instrumentations: [...] })` or `registerInstrumentations`, beside the
 * auto-instrumentations. It watches a registry (the process-wide one unless `registry` says otherwise),
 * including breakers created later, and reports the `phlow.circuit_breaker.*` metrics through the meter
 * provider the SDK hands it, plus span events on the active span.
 *
 * It implements the interface rather than extending `InstrumentationBase`: the base class exists to
 * patch modules as they load (require/import hooks, module definitions, shimmer), and this library
 * patches nothing — it emits its own telemetry from the breakers' events. Not extending it keeps
 * `@opentelemetry/instrumentation` (and its loader hooks) out of the app at run time; only its types are used.
 * The behaviour follows the base class: enabled from construction unless `enabled: false`, on the global
 * meter provider until the SDK hands it another (metrics wait for one when no global is registered yet);
 * `getConfig().enabled` is the configured flag, not the state.
 *
 * @example
 * const sdk = new NodeSDK({ instrumentations: [new CircuitBreakerInstrumentation()] });
 * sdk.start();
 */
export class CircuitBreakerInstrumentation implements Instrumentation<CircuitBreakerInstrumentationConfig> {
  readonly instrumentationName = INSTRUMENTATION_SCOPE;
  readonly instrumentationVersion = VERSION;
  private config: CircuitBreakerInstrumentationConfig;
  /** Undefined until the SDK hands one over: the global one, read when instrumenting. */
  private meterProvider: MeterProvider | undefined;
  private tracerProvider: TracerProvider | undefined;
  private active: RegistryInstrumentation | undefined;

  constructor(config: CircuitBreakerInstrumentationConfig = {}) {
    this.config = checkConfig(config);
    if (this.config.enabled !== false) this.enable();
  }

  /** Starts instrumenting the registry's breakers (a no-op when already on). */
  enable(): void {
    if (this.active !== undefined) return;
    const { enabled: _enabled, registry = getCircuitBreakerRegistry(), ...options } = this.config;
    const meterProvider = this.meterProvider ?? (isOtelGlobalRegistered('metrics') ? metrics.getMeterProvider() : undefined);
    // Made before the SDK starts (as `new NodeSDK({ instrumentations })` does), there is no meter provider
    // yet: span events start now, metrics when the SDK hands one over, rather than instruments on the
    // API's no-op provider (and a warning about its missing duration producer) thrown away a moment later.
    this.active = instrumentCircuitBreakers(
      registry,
      meterProvider === undefined ? { ...options, metrics: false } : { ...options, meterProvider },
    );
  }

  /**
   * Stops: listeners are removed and the instruments stop counting (a no-op when already off); the SDK
   * goes on exporting the last values it collected. Calls made meanwhile are not seen; after
   * {@link enable} the counts start again from zero, which Prometheus' `rate()` reads as a counter reset.
   */
  disable(): void {
    this.active?.dispose();
    this.active = undefined;
  }

  /** The same as {@link disable}, for `using`. */
  [Symbol.dispose](): void {
    this.disable();
  }

  /** Whether the breakers are being instrumented now. */
  isEnabled(): boolean {
    return this.active !== undefined;
  }

  /** How call durations are recorded while enabled (see `callDurations`); `'off'` when disabled. */
  get callDurations(): CallDurationMode {
    return this.active?.callDurations ?? 'off';
  }

  /** Switches to `meterProvider`'s instruments (the old provider's stop counting; the new one's start from zero). */
  setMeterProvider(meterProvider: MeterProvider): void {
    if (typeof meterProvider?.getMeter !== 'function') {
      throw new TypeError(`setMeterProvider needs an OpenTelemetry MeterProvider (with getMeter); got ${describeValue(meterProvider)}`);
    }
    this.meterProvider = meterProvider;
    this.restart();
  }

  /**
   * Kept for the interface. The instrumentation makes no spans of its own: its span events go on the
   * span active where a rejection, timeout or state change happens, whichever provider made it.
   */
  setTracerProvider(tracerProvider: TracerProvider): void {
    this.tracerProvider = tracerProvider;
  }

  /** The tracer provider the SDK handed over, if any (see {@link setTracerProvider}). */
  getTracerProvider(): TracerProvider | undefined {
    return this.tracerProvider;
  }

  /** Replaces the configuration; applied at once when enabled. `enabled` is read only at construction, as in OTel's base class. */
  setConfig(config: CircuitBreakerInstrumentationConfig): void {
    this.config = checkConfig(config);
    this.restart();
  }

  /** A copy of the configuration, with `enabled` defaulted to true as OTel's instrumentations report it. */
  getConfig(): CircuitBreakerInstrumentationConfig {
    return { ...this.config };
  }

  private restart(): void {
    if (this.active === undefined) return;
    this.disable();
    this.enable();
  }
}

function checkConfig(config: CircuitBreakerInstrumentationConfig): CircuitBreakerInstrumentationConfig {
  if (typeof config !== 'object' || config === null) {
    throw new TypeError(`CircuitBreakerInstrumentation config must be an object; got ${describeValue(config)}`);
  }
  if ('meterProvider' in config) {
    throw new TypeError(
      'CircuitBreakerInstrumentation config has no meterProvider: the SDK hands it over (setMeterProvider, registerInstrumentations({ meterProvider }))',
    );
  }
  checkKnownKeys('CircuitBreakerInstrumentation config', config, CONFIG_NAMES);
  const registry = config.registry;
  if (registry !== undefined && (typeof registry?.observe !== 'function' || typeof registry.getBreaker !== 'function')) {
    throw new TypeError(`registry must be a CircuitBreakerRegistry; got ${describeValue(registry)}`);
  }
  return { ...config, enabled: checkBoolean('enabled', config.enabled ?? true) };
}
