// The built package, through its public entry, as an agent on Node, Bun or Deno imports it: no vitest,
// no TypeScript transform, no node: imports and no node:assert, so the same file runs as it is on all
// three (`node smoke.mjs`, `bun smoke.mjs`, `deno run smoke.mjs`). The vitest suite proves the
// sources; this proves the published ESM loads and behaves on the runtime itself.
import {
  CircuitBreaker,
  CircuitBreakerError,
  CircuitBreakerRegistry,
  CircuitFamilyFullError,
  CircuitOpenError,
  CircuitTimeoutError,
  ManualClock,
} from '../dist/index.js';

// Its own tiny helpers, not @phlow/test-helpers': this file imports nothing but the package under test.
let checks = 0;
function check(condition, what) {
  if (!condition) throw new Error(`smoke check failed: ${what}`);
  checks += 1;
}
function equal(actual, expected, what) {
  check(Object.is(actual, expected), `${what}: expected ${String(expected)}, got ${String(actual)}`);
}
async function rejection(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('smoke check failed: expected a rejection, the call succeeded');
}
/** Resolves once `probe()` is true; a bound on a hung wait, not a timed assertion. */
async function until(what, probe, timeoutMs = 10_000) {
  const started = Date.now();
  while (!probe()) {
    if (Date.now() - started > timeoutMs) throw new Error(`smoke check failed: ${what} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  checks += 1;
}
const succeed = () => 'ok';
const fail = () => Promise.reject(new Error('boom'));
const hang = ({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));

async function onManualClock() {
  const clock = new ManualClock();
  const breaker = new CircuitBreaker('smoke-manual', { failureThreshold: 2, recoveryTimeoutMs: 1_000, timeoutMs: 0, clock, logger: false });
  const changes = [];
  const subscription = breaker.onStateChange((event) => changes.push(`${event.from}>${event.to}`));
  await rejection(breaker.execute(fail));
  equal(breaker.state, 'closed', 'one failure of two keeps it closed');
  await rejection(breaker.execute(fail));
  equal(breaker.state, 'open', 'the second failure opens it');

  const open = await rejection(breaker.execute(succeed));
  check(open instanceof CircuitOpenError && open instanceof CircuitBreakerError, 'an open rejection is a CircuitOpenError and a CircuitBreakerError');
  check(CircuitOpenError.isInstance(open) && CircuitBreakerError.isInstance(open), 'isInstance recognises it');
  check(!CircuitTimeoutError.isInstance(open), 'and tells it from a timeout');
  check(!CircuitBreakerError.isInstance(new Error('boom')), 'isInstance refuses a plain Error');
  check(CircuitBreakerError.isInstance(Object.assign(new Error('x'), { [Symbol.for('phlow.circuit-breaker.error')]: true })), 'isInstance recognises another copy of the package by its marker');
  equal(open.breakerName, 'smoke-manual', 'the rejection names its breaker');
  equal(open.retryAfterMs, 1_000, 'retryAfterMs on the manual clock');
  equal(open.stack, 'CircuitOpenError: Circuit breaker smoke-manual is open', 'the stackless rejection keeps its one-line stack');

  clock.advance(1_000);
  await breaker.execute(succeed);
  equal(breaker.state, 'closed', 'a successful probe after the recovery timeout closes it');
  equal(changes.join(' '), 'closed>open open>half_open half_open>closed', 'state changes on the manual clock');
  subscription.dispose();
}

async function onRealTimers() {
  const breaker = new CircuitBreaker('smoke-real', { failureThreshold: 1, recoveryTimeoutMs: 50, timeoutMs: 30, logger: false });
  const changes = [];
  breaker.onStateChange((event) => changes.push(`${event.from}>${event.to}`));
  let seen;
  const timedOut = await rejection(breaker.execute((context) => ((seen = context.signal), hang(context))));
  check(CircuitTimeoutError.isInstance(timedOut) && timedOut instanceof CircuitTimeoutError, 'a hung call rejects with CircuitTimeoutError');
  equal(timedOut.timeoutMs, 30, 'the timeout error carries timeoutMs');
  equal(seen.aborted, true, "the call's AbortSignal aborted on the timeout");
  equal(breaker.state, 'open', 'the timeout counts as a failure and opens it');
  check(CircuitOpenError.isInstance(await rejection(breaker.execute(succeed))), 'execute rejects with CircuitOpenError while open');

  // The caller's own signal aborts the call's signal too.
  const caller = new AbortController();
  const own = new CircuitBreaker('smoke-caller-abort', { timeoutMs: 0, logger: false });
  let inner;
  const pending = rejection(own.execute((context) => ((inner = context.signal), hang(context)), { signal: caller.signal }));
  caller.abort(new Error('caller gave up'));
  await pending;
  equal(inner.aborted, true, "the caller's abort reaches the call's signal");

  await until('the breaker admits a probe after its real recovery timeout', () => breaker.state !== 'open');
  await breaker.execute(succeed);
  equal(breaker.state, 'closed', 'a successful probe on real timers closes it');
  equal(changes.join(' '), 'closed>open open>half_open half_open>closed', 'state changes on real timers');
}

async function keyedFamilyAndRegistry() {
  const clock = new ManualClock();
  const registry = new CircuitBreakerRegistry({ logger: false, clock });
  const db = registry.getBreaker('db', { failureThreshold: 3 });
  equal(registry.getBreaker('db', { failureThreshold: 3 }), db, 'the registry hands out one breaker per name');
  equal(registry.getBreaker('db'), db, 'and without options, the existing one');
  let mismatch;
  try {
    registry.getBreaker('db', { failureThreshold: 4 });
  } catch (error) {
    mismatch = error;
  }
  check(mismatch instanceof TypeError && /different failureThreshold \(existing: 3, requested: 4\)/.test(mismatch.message), `getBreaker refuses other options for an existing name (${mismatch?.message})`);
  equal(registry.getStats().db.state, 'closed', 'getStats reports the breaker');

  const hosts = registry.getFamily('hosts', { failureThreshold: 1, timeoutMs: 0 }, { maxKeys: 2 });
  const a = hosts.get('a.example');
  equal(a.name, 'hosts/a.example', 'a family member is named family/key');
  equal(hosts.get('a.example'), a, 'one breaker per key');
  await rejection(hosts.execute('a.example', fail));
  equal(a.state, 'open', 'a failing key opens its own breaker');
  check(CircuitOpenError.isInstance(await rejection(hosts.execute('a.example', succeed))), 'and its next call is rejected');
  equal(await hosts.execute('b.example', succeed), 'ok', 'another key still runs');
  await rejection(hosts.execute('b.example', fail));
  // Both members were called twice (regulars) and are open (in use): only then is a new key refused.
  const full = await rejection(hosts.execute('c.example', succeed));
  check(CircuitFamilyFullError.isInstance(full) && CircuitBreakerError.isInstance(full), `a family whose members are all in use refuses a new key with CircuitFamilyFullError (got ${full})`);
  equal(registry.getStats()['hosts/a.example'].state, 'open', 'family members appear in the registry stats');
  registry.resetAll();
  equal(a.state, 'closed', 'resetAll closes them');
}

const runtime =
  'Bun' in globalThis ? `bun ${globalThis.Bun.version}` : 'Deno' in globalThis ? `deno ${globalThis.Deno.version.deno}` : `node ${globalThis.process.versions.node}`;
// Breaker timers are unref'd (a breaker never keeps a process alive), so while a call waits on one
// nothing else would keep this script's event loop running: Node would exit mid-await.
const keepAlive = setInterval(() => {}, 1_000);
try {
  await onManualClock();
  await onRealTimers();
  await keyedFamilyAndRegistry();
} finally {
  clearInterval(keepAlive);
}
console.log(`smoke (${runtime}): ${checks} checks passed on the built package`);
