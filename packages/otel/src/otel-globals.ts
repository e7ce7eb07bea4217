/**
 * Whether `@opentelemetry/api` has a global of that kind registered (`context`, `trace`, `metrics`,
 * `propagation`), read from the API's own `Symbol.for` slot: the API answers a no-op object either way
 * and offers no other way to tell.
 */
export function isOtelGlobalRegistered(kind: 'context' | 'trace' | 'metrics' | 'propagation'): boolean {
  const slot = (globalThis as Record<symbol, Record<string, unknown> | undefined>)[Symbol.for('opentelemetry.js.api.1')];
  return slot?.[kind] !== undefined;
}
