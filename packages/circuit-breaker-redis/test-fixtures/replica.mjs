// One agent replica for the multi-process tests: breakers on the Redis store, driven over IPC.
import { performance } from 'node:perf_hooks';
import { CircuitBreaker, CircuitOpenError } from '@phlow/circuit-breaker';
import { RedisStateStore } from '../dist/index.js';

let store;
/** name → breaker; the first one is the default of every command that takes a `name`. */
const breakers = new Map();
let defaultName;
const degraded = [];
const recovered = [];
const transitions = [];
let held = [];
let traffic;

const pick = (name) => breakers.get(name ?? defaultName);

const handlers = {
  /**
   * `name` + `breakerOptions` makes one breaker; `breakers: { name: options }` makes several.
   * Without `url`, `storeOptions` says where Redis is (e.g. `cluster`).
   */
  async init({ url, name, breakerOptions, breakers: many, storeOptions }) {
    store = new RedisStateStore(url === undefined ? storeOptions : { redis: url, ...storeOptions });
    store.onDegraded((e) => degraded.push({ reason: e.reason, at: Date.now(), error: String(e.error) }));
    store.onRecovered(() => recovered.push(Date.now()));
    for (const [n, options] of Object.entries(many ?? { [name]: breakerOptions })) {
      const breaker = new CircuitBreaker(n, { logger: false, ...options, stateStore: store });
      breaker.onStateChange((e) => transitions.push({ name: n, to: e.to, reason: e.reason, generation: e.generation, at: Date.now() }));
      breakers.set(n, breaker);
      defaultName ??= n;
    }
    await store.ready();
    await store.reconcile();
    return snapshot();
  },
  snapshot,
  /** Runs calls one after another; each call's outcome, and whether it settled before any I/O could. */
  // With `afterDegraded`, runs until the store reports Redis degraded and then that many calls more, so
  // the run spans the outage by construction however loaded the machine is (capped at `n` calls).
  async run({ name, n, outcome, yieldToIo = false, afterDegraded }) {
    const breaker = pick(name);
    const results = [];
    const startedAt = Date.now();
    let stopAt = afterDegraded === undefined ? n : Infinity;
    for (let i = 0; i < Math.min(n, stopAt); i++) {
      results.push(await oneCall(breaker, outcome));
      if (i === 0) process.send({ event: 'running' });
      if (stopAt === Infinity && degraded.length > 0) stopAt = i + 1 + afterDegraded;
      // Let socket events (Redis dying, reconnect attempts) in between calls, as a busy server would.
      if (yieldToIo) await new Promise((resolve) => setImmediate(resolve));
    }
    return { results, startedAt, finishedAt: Date.now(), ...snapshot(name) };
  },
  /**
   * Calls the named breakers round-robin in the background until `stopTraffic`, pausing `pauseMs` after
   * every round (a steady load that leaves the machine's cores to Redis); every `failEvery`-th call fails
   * (the dependency's failure, not the store's).
   */
  startTraffic({ names, failEvery = 0, pauseMs = 1 }) {
    const stats = { calls: 0, byResult: {}, unexpected: [], waitedForIo: 0, maxLatencyMs: 0, startedAt: Date.now(), stoppedAt: 0 };
    traffic = { stop: false, stats };
    traffic.done = (async () => {
      let i = 0;
      while (!traffic.stop) {
        for (const name of names) {
          const fail = failEvery > 0 && ++i % failEvery === 0;
          const start = performance.now();
          const r = await oneCall(pick(name), fail ? 'fail' : 'ok');
          stats.maxLatencyMs = Math.max(stats.maxLatencyMs, performance.now() - start);
          stats.calls++;
          stats.byResult[r.result] = (stats.byResult[r.result] ?? 0) + 1;
          if (r.waitedForIo) stats.waitedForIo++;
          if (r.result !== (fail ? 'failed' : 'ok') && stats.unexpected.length < 20) stats.unexpected.push({ name, ...r });
        }
        if (stats.calls === names.length) process.send({ event: 'traffic' });
        await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
      stats.stoppedAt = Date.now();
    })();
    return { started: true };
  },
  async stopTraffic() {
    traffic.stop = true;
    await traffic.done;
    return traffic.stats;
  },
  /** Resolves at the first state change of `name` to `state` (or at once if already there), with its time. */
  async waitFor({ name, state }) {
    const n = name ?? defaultName;
    const found = transitions.find((t) => t.name === n && t.to === state);
    if (found) return found;
    return new Promise((resolve) => {
      const sub = pick(name).onStateChange((e) => {
        if (e.to === state) {
          sub.dispose();
          resolve({ name: n, to: e.to, reason: e.reason, generation: e.generation, at: Date.now() });
        }
      });
    });
  },
  /**
   * Fires n calls at once in half-open; counts the ones that ran (they hang until releaseProbes) and
   * collects the retry hint of each rejection.
   */
  async probeStorm({ name, n }) {
    const breaker = pick(name);
    let ran = 0;
    let rejected = 0;
    let otherErrors = 0;
    const retryAfterMs = [];
    const settledOrRunning = [];
    for (let i = 0; i < n; i++) {
      settledOrRunning.push(
        new Promise((answered) => {
          breaker
            .execute(
              () =>
                new Promise((resolve) => {
                  ran++;
                  held.push(resolve);
                  answered();
                }),
            )
            .catch((error) => {
              if (CircuitOpenError.isInstance(error)) {
                rejected++;
                retryAfterMs.push(error.retryAfterMs);
              } else otherErrors++;
              answered();
            });
        }),
      );
    }
    await Promise.all(settledOrRunning);
    return { ran, rejected, otherErrors, retryAfterMs, state: breaker.state };
  },
  releaseProbes({ name }) {
    for (const resolve of held.splice(0)) resolve('ok');
    return snapshot(name);
  },
  reset({ name }) {
    pick(name).reset();
    return snapshot(name);
  },
  async close() {
    for (const breaker of breakers.values()) breaker.dispose();
    await store.close();
    return { closed: true };
  },
};

function snapshot(name) {
  const breaker = pick(typeof name === 'string' ? name : name?.name);
  return {
    state: breaker.state,
    json: breaker.toJSON(),
    stats: breaker.getStats(),
    store: store.getStats(),
    degraded,
    recovered,
    transitions,
  };
}

async function oneCall(breaker, outcome) {
  let io = false;
  setImmediate(() => {
    io = true;
  });
  try {
    await breaker.execute(() => {
      if (outcome === 'fail') throw new Error('dependency down');
      return 'ok';
    });
    return { result: 'ok', waitedForIo: io };
  } catch (error) {
    return { result: CircuitOpenError.isInstance(error) ? 'rejected' : error.message === 'dependency down' ? 'failed' : 'other', waitedForIo: io, error: String(error) };
  }
}

process.on('message', async ({ id, cmd, args }) => {
  try {
    const value = await handlers[cmd](args ?? {});
    process.send({ id, value });
  } catch (error) {
    process.send({ id, error: String(error?.stack ?? error) });
  }
});
process.on('disconnect', () => {
  // The parent went away: let the event loop empty out.
  if (traffic) traffic.stop = true;
  if (store) void store.close();
});
process.send({ ready: true });
