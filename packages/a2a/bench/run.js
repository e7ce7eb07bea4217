// Figures, not assertions: what protecting an @a2a-js/sdk client costs.
// 1. In process (a stand-in client that answers at once): the wrapper's own cost per call, with the
//    OTel API alone (no SDK: spans are no-ops) and with the real SDK recording every span.
// 2. Over loopback HTTP against the testkit's A2aPeer (the real SDK server): plain vs protected client.
// Run after `pnpm build`: `pnpm bench`.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { TracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { ClientFactory, JsonRpcTransportFactory } from '@a2a-js/sdk/client';
import { CircuitBreakerRegistry } from '@phlow/circuit-breaker';
import { A2aPeer } from '@phlow/testkit';
import { protectA2aClient } from '../dist/index.js';

const request = () => ({
  tenant: '',
  message: { messageId: randomUUID(), contextId: '', taskId: '', role: 1, parts: [{ content: { $case: 'text', value: 'hi' }, metadata: undefined, filename: '', mediaType: 'text/plain' }], metadata: undefined, extensions: [], referenceTaskIds: [] },
  configuration: undefined,
  metadata: undefined,
});

async function nsPerCall(fn, iterations) {
  for (let i = 0; i < Math.min(20_000, iterations); i++) await fn(); // warm up
  const start = performance.now();
  for (let i = 0; i < iterations; i++) await fn();
  return ((performance.now() - start) * 1e6) / iterations;
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Latencies of `a` and `b`, calls interleaved so that both see the same machine load. */
async function interleavedLatencies(a, b, calls) {
  for (let i = 0; i < 200; i++) await Promise.all([a(), b()]); // warm up (connections, JIT)
  const outA = [];
  const outB = [];
  for (let i = 0; i < calls; i++) {
    let start = performance.now();
    await a();
    outA.push(performance.now() - start);
    start = performance.now();
    await b();
    outB.push(performance.now() - start);
  }
  return [outA.sort((x, y) => x - y), outB.sort((x, y) => x - y)];
}

const reply = { messageId: 'm', contextId: '', taskId: '', role: 2, parts: [], metadata: undefined, extensions: [], referenceTaskIds: [] };
const standIn = { transport: { protocolName: 'JSONRPC' }, sendMessage: async () => reply };
const req = request();
const ITERATIONS = 200_000;

const bare = await nsPerCall(() => standIn.sendMessage(req, {}), ITERATIONS);
const apiOnly = protectA2aClient(standIn, { peer: 'bench-api', registry: new CircuitBreakerRegistry({ logger: false }) });
const withApi = await nsPerCall(() => apiOnly.sendMessage(req), ITERATIONS);

const dropAll = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {}, forceFlush: async () => {} };
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: dropAll })] });
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
trace.setGlobalTracerProvider(provider);
const sdkTraced = protectA2aClient(standIn, { peer: 'bench-sdk', registry: new CircuitBreakerRegistry({ logger: false }) });
const withSdk = await nsPerCall(() => sdkTraced.sendMessage(req), ITERATIONS);

console.log(`In process, ${ITERATIONS} sequential sendMessage calls to a stand-in client (node ${process.version}):`);
console.log(`  bare call                               ${bare.toFixed(0).padStart(7)} ns/call`);
console.log(`  protected, OTel API only (no SDK)       ${withApi.toFixed(0).padStart(7)} ns/call  (+${(withApi - bare).toFixed(0)} ns)`);
console.log(`  protected, OTel SDK recording spans     ${withSdk.toFixed(0).padStart(7)} ns/call  (+${(withSdk - bare).toFixed(0)} ns)`);

const peer = new A2aPeer({ name: 'bench' });
await peer.start();
try {
  const CALLS = 2_000;
  const plain = await new ClientFactory({ transports: [new JsonRpcTransportFactory()] }).createFromUrl(peer.url);
  const protectedClient = protectA2aClient(await new ClientFactory({ transports: [new JsonRpcTransportFactory()] }).createFromUrl(peer.url), {
    peer: 'bench-loopback',
    registry: new CircuitBreakerRegistry({ logger: false }),
  });
  const [plainMs, protectedMs] = await interleavedLatencies(() => plain.sendMessage(request()), () => protectedClient.sendMessage(request()), CALLS);
  const row = (label, ms) => `  ${label.padEnd(46)} p50 ${percentile(ms, 50).toFixed(3)} ms   p99 ${percentile(ms, 99).toFixed(3)} ms`;
  console.log(`\nLoopback HTTP to the testkit A2aPeer (real @a2a-js/sdk server, echo), ${CALLS} sequential sendMessage calls each, interleaved:`);
  console.log(row('plain @a2a-js/sdk client', plainMs));
  console.log(row('protected (breaker + SDK span + traceparent)', protectedMs));
} finally {
  await peer.stop();
  await provider.shutdown();
}
