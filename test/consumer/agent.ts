// A small agent that uses every published @phlow package the way a user's project does: installed from the
// packed tarballs, imported through the public entries only. Each step does real work against a real thing
// (testkit's stand-ins on loopback, the Redis at REDIS_URL, a real MeterProvider and PrometheusExporter) and
// the process exits non-zero on the first wrong answer.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { metrics } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { breakerFor as a2aBreakerFor, createA2aClient, messageText, textMessageRequest } from '@phlow/a2a';
import { AddressNotAllowedError, createGuardedFetch } from '@phlow/address-policy';
import { CircuitBreaker, CircuitOpenError, ManualClock, getCircuitBreakerRegistry } from '@phlow/circuit-breaker';
import { RedisStateStore } from '@phlow/circuit-breaker-redis';
import { CircuitBreakerResolver, getWebResolver } from '@phlow/did-resolver';
import { instrumentCircuitBreakers } from '@phlow/otel';
import { CircuitBreakerMetricProducer } from '@phlow/otel/sdk';
import { breakerFor as supabaseBreakerFor, createClient } from '@phlow/supabase';
import { A2aPeer, DidWebHost, FaultProxy, SupabaseStandIn, basicDidDocument } from '@phlow/testkit';
import { bulkhead, pipeline, retry, retryBudget } from '@phlow/resilience';
import { SupabaseOutbox } from '@phlow/supabase-outbox';
import { scenarios, tune } from '@phlow/tune';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const LOOPBACK = ['127.0.0.1', '::1', 'localhost'];

function expect(what: string, actual: unknown, expected: unknown): void {
  const [a, e] = [JSON.stringify(actual), JSON.stringify(expected)];
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
  console.log(`  ok  ${what}: ${a}`);
}

async function step(name: string, run: () => Promise<void>): Promise<void> {
  const started = performance.now();
  console.log(`- ${name}`);
  await run();
  console.log(`  (${Math.round(performance.now() - started)} ms)`);
}

async function until(what: string, condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Prometheus text → the value of the one sample of `metric` whose labels include `labels`. */
function sample(text: string, metric: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)\{(.*)\} (\S+)$/.exec(line);
    if (match?.[1] !== metric) continue;
    const found = Object.fromEntries([...match[2]!.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match[3]);
  }
  return undefined;
}

// Telemetry first, as an app starts it: every breaker created afterwards (ours and the adapters') is measured.
const exporter = new PrometheusExporter({ preventServerStart: true, metricProducers: [new CircuitBreakerMetricProducer()] });
const meterProvider = new MeterProvider({ readers: [exporter] });
metrics.setGlobalMeterProvider(meterProvider);
const instrumentation = instrumentCircuitBreakers(getCircuitBreakerRegistry());
const cleanups: (() => Promise<unknown> | unknown)[] = [];
/** The adapters' breakers (family members), named by the steps that use them, for the metrics step. */
const memberNames = { did: 'did/?', a2a: 'a2a/?' };

try {
  await step('@phlow/circuit-breaker: a breaker trips and recovers', async () => {
    const clock = new ManualClock();
    const breaker = getCircuitBreakerRegistry().getBreaker('consumer_core', { failureThreshold: 2, recoveryTimeoutMs: 1_000, clock, logger: false });
    const transitions: string[] = [];
    breaker.onStateChange(({ from, to }) => transitions.push(`${from}->${to}`));
    for (let i = 0; i < 2; i++) {
      const error = await breaker.execute(() => Promise.reject(new Error('upstream down'))).catch((e: unknown) => e);
      expect(`failure ${i + 1} passes the error through`, (error as Error).message, 'upstream down');
    }
    expect('state after 2 failures', breaker.state, 'open');
    let ran = false;
    const rejected = await breaker.execute(async () => { ran = true; }).catch((e: unknown) => e);
    expect('an open breaker rejects without running the call', [CircuitOpenError.isInstance(rejected), ran], [true, false]);
    clock.advance(1_000);
    expect('after the recovery timeout the probe answers', await breaker.execute(async () => 'recovered'), 'recovered');
    expect('state after a successful probe', breaker.state, 'closed');
    expect('transitions', transitions, ['closed->open', 'open->half_open', 'half_open->closed']);
  });

  await step('@phlow/supabase: supabase-js against testkit\'s Supabase stand-in', async () => {
    const standIn = new SupabaseStandIn({ schemaSql: 'create table agents (id text primary key, skill text not null)' });
    await standIn.start();
    cleanups.push(() => standIn.stop());
    const db = createClient(standIn.url, 'consumer-anon-key');
    const inserted = await db.from('agents').insert({ id: 'planner', skill: 'plan trips' });
    expect('insert status', [inserted.status, inserted.error], [201, null]);
    const { data, error } = await db.from('agents').select('id, skill').eq('id', 'planner');
    expect('select returns the row', [data, error], [[{ id: 'planner', skill: 'plan trips' }], null]);
    expect('rows really in the database', await standIn.query('select id from agents'), [{ id: 'planner' }]);
    const breaker = supabaseBreakerFor(db);
    expect('the database breaker', [breaker.name, breaker.state, breaker.getStats().total_successes], ['supabase/rest', 'closed', 2]);
  });

  await step('@phlow/did-resolver: did:web resolution against testkit\'s DidWebHost (HTTPS)', async () => {
    const host = new DidWebHost({ documents: { '': (did) => basicDidDocument(did) } });
    await host.start();
    cleanups.push(() => host.stop());
    const resolver = new CircuitBreakerResolver({ ...getWebResolver({ allowPrivateAddresses: LOOPBACK, ca: host.ca }) });
    const { didDocument, didResolutionMetadata } = await resolver.resolve(host.did);
    expect(`resolve ${host.did}`, [didResolutionMetadata.error ?? 'no error', didDocument?.id], ['no error', host.did]);
    expect('the host breaker', resolver.breakerFor(host.did).state, 'closed');
    memberNames.did = resolver.breakerFor(host.did).name;
    const refusing = new CircuitBreakerResolver({ ...getWebResolver({ ca: host.ca }) }, { name: 'did_strict' });
    const refused = await refusing.resolve(host.did);
    const { error, reason } = refused.didResolutionMetadata as { error?: string; reason?: string };
    expect('without allowPrivateAddresses the loopback host is refused', [refused.didDocument, error, reason], [null, 'notAllowed', 'address']);
  });

  await step('@phlow/a2a + @phlow/address-policy: a message to testkit\'s A2A peer; a private address refused', async () => {
    const peer = new A2aPeer({ behavior: { kind: 'echo' } });
    await peer.start();
    cleanups.push(() => peer.stop());
    const client = await createA2aClient(peer.url, { allowPrivateAddresses: LOOPBACK });
    const reply = await client.sendMessage(textMessageRequest('hello from a consumer'));
    expect('the peer answers with a message', 'messageId' in reply ? messageText(reply) : 'a task', 'echo: hello from a consumer');
    // The agent card download goes through the peer's breaker too: two successful calls.
    expect('the peer breaker', [a2aBreakerFor(client).state, a2aBreakerFor(client).getStats().total_successes], ['closed', 2]);
    memberNames.a2a = a2aBreakerFor(client).name;

    const seen = peer.requests.length;
    const error = await createGuardedFetch()(`${peer.url}/.well-known/agent-card.json`).catch((e: unknown) => e);
    expect('the default policy refuses a loopback address', AddressNotAllowedError.isInstance(error), true);
    expect('and the peer never saw the request', peer.requests.length, seen);
  });

  await step(`@phlow/circuit-breaker-redis: two replicas share one breaker on ${REDIS_URL}`, async () => {
    const keyPrefix = `phlow-consumer-${process.pid}-${Date.now()}:cb`;
    const storeOptions = { redis: REDIS_URL, keyPrefix, flushIntervalMs: 10, stateTtlMs: 60_000 };
    const stores = [new RedisStateStore(storeOptions), new RedisStateStore(storeOptions)] as const;
    const breakers = stores.map((stateStore) => new CircuitBreaker('payments', { failureThreshold: 2, recoveryTimeoutMs: 200, stateStore, logger: false }));
    cleanups.push(async () => { for (const b of breakers) b.dispose(); await Promise.all(stores.map((s) => s.close())); });
    await Promise.all(stores.map((s) => s.ready()));
    const [a, b] = breakers as [CircuitBreaker, CircuitBreaker];
    // One failure on each replica: neither reaches the threshold of 2 alone, the fleet does.
    await a.execute(() => Promise.reject(new Error('card declined'))).catch(() => undefined);
    await b.execute(() => Promise.reject(new Error('card declined'))).catch(() => undefined);
    await until('both replicas open', () => a.state === 'open' && b.state === 'open');
    expect('fleet-wide failures open both replicas', [a.state, b.state], ['open', 'open']);
    await new Promise((resolve) => setTimeout(resolve, 250)); // past recoveryTimeoutMs: the next call is a probe
    expect('a probe on replica A succeeds', await a.execute(async () => 'charged'), 'charged');
    await until('replica B learns the recovery', () => b.state === 'closed');
    expect('both replicas closed again', [a.state, b.state], ['closed', 'closed']);
  });

  await step('@phlow/resilience: a bulkhead, a budgeted retry and a breaker in one pipeline, over HTTP', async () => {
    let hits = 0;
    const server = createServer((_request, response) => {
      hits++;
      response.writeHead(hits <= 2 ? 503 : 200).end(hits <= 2 ? 'busy' : 'ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const policy = pipeline(
      bulkhead({ name: 'consumer-bulkhead', maxConcurrent: 2 }),
      retry({ name: 'consumer-retry', maxAttempts: 3, backoff: { initialDelayMs: 1, maxDelayMs: 5 }, budget: retryBudget({ minRetriesPerSecond: 5 }) }),
      getCircuitBreakerRegistry().getBreaker('consumer_resilience', { logger: false }),
    );
    const response = await policy.execute(({ signal }) => fetch(url, { signal }));
    expect('two 503s retried, then the answer', [response.status, await response.text(), hits], [200, 'ok', 3]);
  });

  await step('@phlow/supabase-outbox: writes land once; while the project is away they wait on disk, then replay', async () => {
    const standIn = new SupabaseStandIn({
      schemaSql: 'create table notes (id bigint generated always as identity primary key, body text not null, idempotency_key text unique, outbox_seq bigint)',
    });
    await standIn.start();
    cleanups.push(() => standIn.stop());
    const network = new FaultProxy({ target: standIn.url }); // to take the project away and bring it back
    await network.start();
    cleanups.push(() => network.stop());
    const db = createClient(network.url, 'consumer-anon-key', { protection: { name: 'notes', breaker: { recoveryTimeoutMs: 1_000 } } });
    const dir = await mkdtemp(join(tmpdir(), 'phlow-consumer-outbox-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const outbox = new SupabaseOutbox({ supabase: db, path: join(dir, 'outbox.sqlite'), breaker: () => supabaseBreakerFor(db), retryIntervalMs: 50 });
    expect('a write while the project is up is stored', (await outbox.insert('notes', { body: 'first' })).state, 'stored');
    await network.setFaults({ refuse: true });
    expect('a write while it is away is accepted and queued', (await outbox.insert('notes', { body: 'second' })).state, 'queued');
    const refused = await outbox.insert('notes', { body: 'nul \u0000 byte' }).catch((e: unknown) => e);
    expect('text PostgreSQL cannot store is refused before it is queued', (refused as { code?: string }).code, 'OUTBOX_UNSTORABLE');
    await network.clearFaults();
    const deadline = Date.now() + 20_000; // if the breaker opened, the replay waits for its recovery timeout (1 s)
    while ((await standIn.query('select count(*)::int as n from notes'))[0]?.n !== 2) {
      if (Date.now() > deadline) throw new Error('the queued write was not replayed within 20 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect('each write once, in order', await standIn.query('select body from notes order by outbox_seq nulls first, id'), [{ body: 'first' }, { body: 'second' }]);
    await outbox.close();
  });

  await step('@phlow/tune: phlow-tune advice on a generated outage, and the bin as installed', async () => {
    const day = scenarios.hardOutage(7, 5, 6 * 3_600_000);
    const report = await tune(day.traffic, { health: day.truth, workers: 1, grid: [{ failureThreshold: 3, recoveryTimeoutMs: 5_000 }, { failureThreshold: 50, recoveryTimeoutMs: 60_000 }] });
    const best = report.results[report.recommended]!;
    expect('the recommendation opens on every outage', best.metrics.outagesOpened, best.metrics.outages);
    expect('the guide defaults were scored beside it', report.results.some((r) => r.candidate.label.startsWith('guide defaults')), true);
    const help = await promisify(execFile)('npx', ['phlow-tune', '--help']);
    expect('npx phlow-tune --help prints the usage', help.stdout.startsWith('Usage: phlow-tune'), true);
  });

  await step('@phlow/otel: the breakers\' metrics through a MeterProvider and PrometheusExporter', async () => {
    const server = createServer((request, response) => exporter.getMetricsRequestHandler(request, response));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const text = await (await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`)).text();
    expect('consumer_core is closed', sample(text, 'phlow_circuit_breaker_state', { name: 'consumer_core', state: 'closed' }), 1);
    expect('consumer_core opened once', sample(text, 'phlow_circuit_breaker_transitions_total', { name: 'consumer_core', from: 'closed', to: 'open' }), 1);
    expect('consumer_core counted 2 failures', sample(text, 'phlow_circuit_breaker_failures_total', { name: 'consumer_core' }), 2);
    expect('consumer_core rejected 1 call', sample(text, 'phlow_circuit_breaker_calls_total', { name: 'consumer_core', outcome: 'rejected' }), 1);
    // Adapters' breakers are family members: each reports under its full name (family/key).
    expect('supabase/rest counted 2 successes', sample(text, 'phlow_circuit_breaker_calls_total', { name: 'supabase/rest', outcome: 'success' }), 2);
    expect(`${memberNames.did} counted 1 success`, sample(text, 'phlow_circuit_breaker_calls_total', { name: memberNames.did, outcome: 'success' }), 1);
    expect(`${memberNames.a2a} counted 2 successes`, sample(text, 'phlow_circuit_breaker_calls_total', { name: memberNames.a2a, outcome: 'success' }), 2);
    expect('call durations through the SDK producer', sample(text, 'phlow_circuit_breaker_call_duration_count', { name: 'consumer_core', outcome: 'success' }), 1);
  });
  console.log('consumer agent: every check passed');
} catch (error) {
  console.error('consumer agent: FAILED:', error);
  process.exitCode = 1;
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup();
  instrumentation.dispose();
  await meterProvider.shutdown();
}
