// Every published entry loaded through require(): Node >= 22.12 loads an ES module this way unless it (or a
// module it imports) has top-level await, which would throw ERR_REQUIRE_ASYNC_MODULE here.
'use strict';
const entries = {
  '@phlow/circuit-breaker': 'CircuitBreaker',
  '@phlow/otel': 'instrumentCircuitBreakers',
  '@phlow/otel/sdk': 'CircuitBreakerMetricProducer',
  '@phlow/supabase': 'createClient',
  '@phlow/address-policy': 'createGuardedFetch',
  '@phlow/did-resolver': 'CircuitBreakerResolver',
  '@phlow/a2a': 'createA2aClient',
  '@phlow/circuit-breaker-redis': 'RedisStateStore',
  '@phlow/testkit': 'SupabaseStandIn',
  '@phlow/resilience': 'pipeline',
  '@phlow/supabase-outbox': 'SupabaseOutbox',
  '@phlow/tune': 'tune',
};
let failed = false;
for (const [entry, name] of Object.entries(entries)) {
  try {
    const loaded = require(entry);
    if (typeof loaded[name] !== 'function') throw new Error(`${name} is ${typeof loaded[name]}, expected a function`);
    console.log(`  ok  require('${entry}').${name}`);
  } catch (error) {
    failed = true;
    console.error(`  FAIL require('${entry}'): ${error.code ?? ''} ${error.message}`);
  }
}
// The adapter's breaker is an instance of the core's class: one copy of the core, also through require().
const { CircuitBreaker } = require('@phlow/circuit-breaker');
const { breakerFor, createClient } = require('@phlow/supabase');
const breaker = breakerFor(createClient('http://127.0.0.1:1', 'key'));
if (!(breaker instanceof CircuitBreaker) || breaker.state !== 'closed') {
  failed = true;
  console.error(`  FAIL ${breaker.name} is not a closed CircuitBreaker of the required core: two copies of @phlow/circuit-breaker?`);
} else console.log(`  ok  the supabase adapter's breaker ${breaker.name} is a CircuitBreaker of the required core`);
if (failed) process.exit(1);
