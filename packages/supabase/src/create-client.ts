import {
  createClient as createSupabaseClient,
  type SupabaseClient,
  type SupabaseClientOptions,
} from '@supabase/supabase-js';
import type { CircuitBreaker } from '@phlow/circuit-breaker';
import { refuseProtectedFetch } from './layering.js';
import type { SupabaseCircuitOptions } from './options.js';
import { protectFetch, type ProtectedFetch } from './protect-fetch.js';
import type { SupabaseService } from './supabase-request.js';

/** supabase-js's client options plus the protection's own. */
export type ProtectedClientOptions<SchemaName> = SupabaseClientOptions<SchemaName> & {
  /** The breaker, timeout, classification and telemetry options; the guide's defaults when left out. */
  readonly circuitBreaker?: SupabaseCircuitOptions;
};

type Schemas<Database> = Omit<Database, '__InternalSupabase'>;

const fetches = new WeakMap<object, ProtectedFetch>();

/**
 * supabase-js's `createClient`, with every request of the client (PostgREST, auth, storage,
 * functions) going through a circuit breaker: a drop-in replacement, same generics, same client.
 * A `global.fetch` you pass is the one the protection calls; a protected one (`protectFetch`) is refused
 * with a `TypeError`, since two layers would count each failure twice.
 *
 * @example
 * import { createClient } from '@phlow/supabase'; // was: from '@supabase/supabase-js'
 * const supabase = createClient(url, key, { circuitBreaker: { timeoutMs: 5_000 } });
 */
export function createClient<
  Database = any,
  SchemaNameOrClientOptions extends (string & keyof Schemas<Database>) | { PostgrestVersion: string } = 'public' extends keyof Schemas<Database>
    ? 'public'
    : string & keyof Schemas<Database>,
  SchemaName extends string & keyof Schemas<Database> = SchemaNameOrClientOptions extends string & keyof Schemas<Database>
    ? SchemaNameOrClientOptions
    : 'public' extends keyof Schemas<Database>
      ? 'public'
      : string & keyof Schemas<Database>,
>(
  supabaseUrl: string,
  supabaseKey: string,
  options?: ProtectedClientOptions<SchemaName>,
): SupabaseClient<Database, SchemaNameOrClientOptions, SchemaName> {
  const { circuitBreaker, ...clientOptions } = options ?? {};
  const userFetch = clientOptions.global?.fetch;
  refuseProtectedFetch(
    'global.fetch',
    userFetch,
    "Use one: drop protectFetch and give its options here as circuitBreaker, or keep it and build the client with supabase-js's own createClient.",
  );
  const protectedFetch = protectFetch(
    supabaseUrl,
    userFetch === undefined || circuitBreaker?.fetch !== undefined ? circuitBreaker : { ...circuitBreaker, fetch: userFetch },
  );
  const client = createSupabaseClient<Database, SchemaNameOrClientOptions, SchemaName>(supabaseUrl, supabaseKey, {
    ...clientOptions,
    global: { ...clientOptions.global, fetch: protectedFetch },
  } as SupabaseClientOptions<SchemaName>);
  fetches.set(client, protectedFetch);
  return client;
}

/**
 * The breaker guarding a client made by this package's {@link createClient}, for `getStats()`,
 * `state`, `reset()` or events: `service`'s own (default `'rest'`), or the project's one with
 * `perService: false`.
 */
export function circuitBreakerOf(client: object, service: SupabaseService = 'rest'): CircuitBreaker {
  const protectedFetch = fetches.get(client);
  if (protectedFetch === undefined) {
    throw new TypeError('circuitBreakerOf: this client was not made by createClient from @phlow/supabase');
  }
  return protectedFetch.breakerFor(service);
}
