/**
 * `@phlow/circuit-breaker/internal`: what the `@phlow/*` packages share among themselves and users do
 * not need. No compatibility promise: the `@phlow/*` packages are released together, in lockstep, so a
 * sibling always meets the version of this entry it was built with.
 */
export { ADAPTER_OPTION_NAMES, KEYED_ADAPTER_OPTION_NAMES, checkFamilyName, resolveAdapterOptions, resolveFamilyBounds } from './adapter-options.js';
export type { AdapterDefaults, ResolvedAdapterOptions } from './adapter-options.js';
export { resolveDurationSampling } from './call-durations.js';
export { errorMarker } from './error-marker.js';
export type { ErrorMarker } from './error-marker.js';
export { combineDisposables, Emitter, toDisposable } from './event.js';
export { CIRCUIT_BREAKER_OPTION_NAMES } from './options.js';
export { readAtMost } from './read-at-most.js';
export { seededRandom } from './seeded-random.js';
export type { BodyRead } from './read-at-most.js';
export { checkDurationMs, checkFunction, checkInteger, checkKnownKeys, checkNumber, checkOneOf, describeValue } from './validate.js';
export { untilAborted } from './until-aborted.js';
