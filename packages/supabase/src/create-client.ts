import {
  createClient as createSupabaseClient,
  type SupabaseClient,
  type SupabaseClientOptions,
} from '@supabase/supabase-js';
import type { CircuitBreaker } from '@phlow/circuit-breaker';
import { refuseProtectedFetch } from './layering.js';
import type { SupabaseProtectionOptions } from './options.js';
import { protectFetch, type ProtectedFetch } from './protect-fetch.js';
import type { SupabaseService } from './supabase-request.js';

/**
 * supabase-js's client options plus the protection's own, under `protection` (formerly `circuitBreaker`:
 * that key is no longer read, and like any key supabase-js does not know it is passed on and ignored).
 */
export type ProtectedClientOptions<SchemaName> = SupabaseClientOptions<SchemaName> & {
  /** The breaker, timeout, classification and telemetry options; the guide's defaults when left out. */
  readonly protection?: SupabaseProtectionOptions;
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
 * const supabase = createClient(url, key, { protection: { breaker: { timeoutMs: 5_000 } } });
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
  const { protection, ...clientOptions } = options ?? {};
  const userFetch = clientOptions.global?.fetch;
  refuseProtectedFetch(
    'global.fetch',
    userFetch,
    "Use one: drop protectFetch and give its options here as protection, or keep it and build the client with supabase-js's own createClient.",
  );
  const protectedFetch = protectFetch(
    supabaseUrl,
    userFetch === undefined || protection?.fetch !== undefined ? protection : { ...protection, fetch: userFetch },
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
 * `state`, `reset()` or events: `service`'s own (default `'rest'`: `supabase/rest`), or the project's
 * one, `supabase/all`, with `perService: false`. Ask for it here rather than rebuild its name.
 *
 * @example
 * breakerFor(supabase, 'storage').getStats();
 */
export function breakerFor(client: object, service: SupabaseService = 'rest'): CircuitBreaker {
  const protectedFetch = fetches.get(client);
  if (protectedFetch === undefined) {
    throw new TypeError('breakerFor: this client was not made by createClient from @phlow/supabase');
  }
  return protectedFetch.breakerFor(service);
}
