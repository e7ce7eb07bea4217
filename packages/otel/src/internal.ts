/**
 * `@phlow/otel/internal`: what the `@phlow/*` adapters share among themselves and users do not need.
 * No compatibility promise: the `@phlow/*` packages are released together, in lockstep.
 */
export { ADAPTER_TELEMETRY_OPTION_NAMES, adapterTracer } from './adapter-telemetry.js';
