// Benchmarks for @phlow/did-resolver (`pnpm bench`). Prints figures; asserts nothing (STYLE rule 14).
//   1. A cached resolution (fresh hit), and a stale answer while the host's breaker is open.
//   2. An uncached resolution against a local HTTPS did:web host, with the address guard ON (an
//      allow-list naming the loopback addresses, not `allowPrivateAddresses: true`): the same host
//      again (a kept-alive, already checked connection), a new host each time (lookup, check, TCP and
//      TLS handshake), through the resolver (breaker + span), and web-did-resolver, interleaved.
//   3. A refused private-address DID (name lookup + policy check, no connection).
import { CircuitBreakerRegistry } from '@phlow/circuit-breaker';
import { DidWebHost, basicDidDocument, generateLoopbackCertificate } from '@phlow/testkit';
import { Resolver } from 'did-resolver';
import { getResolver as webDidResolver } from 'web-did-resolver';
import { CircuitBreakerResolver, WebDidDriver } from '../dist/index.js';

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function usPerCall(fn, calls) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) await fn();
  return Number(process.hrtime.bigint() - start) / calls / 1000;
}

async function interleaved(subjects, calls, rounds) {
  for (const [, fn] of subjects) await usPerCall(fn, Math.ceil(calls / 4)); // warm up
  const samples = subjects.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < subjects.length; i++) samples[i].push(await usPerCall(subjects[i][1], calls));
  }
  subjects.forEach(([label], i) => console.log(`${label.padEnd(58)} ${median(samples[i]).toFixed(1).padStart(8)} µs`));
}

const certificate = await generateLoopbackCertificate();
const host = new DidWebHost({ documents: { '': (did) => basicDidDocument(did) }, certificate });
await host.start();
// A second host with the same certificate: alternating between the two with a pool of one host
// makes every resolution a new host's (its connection is closed when the other host's opens).
const other = new DidWebHost({ documents: { '': (did) => basicDidDocument(did) }, certificate });
await other.start();
const trust = host.trustGlobalAgent();
const did = host.did;
const allowLoopback = ['127.0.0.1', '::1'];
const driver = new WebDidDriver({ ca: host.ca, allowPrivateAddresses: allowLoopback });
const newHostDriver = new WebDidDriver({ ca: host.ca, allowPrivateAddresses: allowLoopback, maxPooledHosts: 1 });
let flip = 0;
const newHostResolver = new Resolver({ web: newHostDriver.resolve });
const registry = new CircuitBreakerRegistry({ logger: false });

console.log(`Node ${process.version}; medians of 7 interleaved rounds\n`);

// 1. Cache
const cached = new CircuitBreakerResolver({ web: driver.resolve }, { registry, name: 'cached' });
await cached.resolve(did);
await interleaved([['cache hit (fresh): resolve() from the cache', () => cached.resolve(did)]], 20_000, 7);
const staleRegistry = new CircuitBreakerRegistry({ logger: false });
const stale = new CircuitBreakerResolver({ web: driver.resolve }, { registry: staleRegistry, name: 'stale', cache: { ttlMs: 0 } });
await stale.resolve(did);
stale.breakerFor(did).forceOpen();
await interleaved([['stale answer while the breaker is open (rejection + copy)', () => stale.resolve(did)]], 20_000, 7);

// 2. Uncached, over HTTPS on loopback
console.log('');
const bare = new Resolver({ web: driver.resolve });
const protectedResolver = new CircuitBreakerResolver({ web: driver.resolve }, { registry, name: 'uncached', cache: false });
const legacy = new Resolver(webDidResolver());
await interleaved(
  [
    ['uncached, same host: WebDidDriver alone (guard on)', () => bare.resolve(did)],
    ['uncached, same host: CircuitBreakerResolver (guard on)', () => protectedResolver.resolve(did)],
    ['uncached, new host each: WebDidDriver (guard on, new TLS)', () => newHostResolver.resolve(flip++ % 2 === 0 ? did : other.did)],
    ['uncached: web-did-resolver 2.0.32 (node-fetch, global agent)', () => legacy.resolve(did)],
  ],
  100,
  7,
);

// 3. Refusal
console.log('');
const strict = new Resolver({ web: new WebDidDriver({ ca: host.ca }).resolve });
await interleaved([['refused private address (lookup + check, no connection)', () => strict.resolve(did)]], 500, 7);

trust.dispose();
await Promise.all([driver.close(), newHostDriver.close()]);
await Promise.all([host.stop(), other.stop()]);
