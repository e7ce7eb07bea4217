// One agent replica for the multi-process tests: a breaker on the Redis store, driven over IPC.
import { CircuitBreaker, CircuitOpenError } from '@phlow/circuit-breaker';
import { RedisStateStore } from '../dist/index.js';

let store;
let breaker;
const degraded = [];
const recovered = [];
const transitions = [];
let held = [];

const handlers = {
  async init({ url, name, breakerOptions, storeOptions }) {
    store = new RedisStateStore({ redis: url, ...storeOptions });
    store.onDegraded((e) => degraded.push({ reason: e.reason, at: e.at }));
    store.onRecovered(() => recovered.push(Date.now()));
    breaker = new CircuitBreaker(name, { logger: false, ...breakerOptions, stateStore: store });
    breaker.onStateChange((e) => transitions.push({ to: e.to, reason: e.reason, generation: e.generation, at: Date.now() }));
    await store.ready();
    await store.reconcile();
    return snapshot();
  },
  snapshot,
  /** Runs calls one after another; each call's outcome, and whether it settled before any I/O could. */
  // With `afterDegraded`, runs until the store reports Redis degraded and then that many calls more, so
  // the run spans the outage by construction however loaded the machine is (capped at `n` calls).
  async run({ n, outcome, yieldToIo = false, afterDegraded }) {
    const results = [];
    const startedAt = Date.now();
    let stopAt = afterDegraded === undefined ? n : Infinity;
    for (let i = 0; i < Math.min(n, stopAt); i++) {
      results.push(await oneCall(outcome));
      if (i === 0) process.send({ event: 'running' });
      if (stopAt === Infinity && degraded.length > 0) stopAt = i + 1 + afterDegraded;
      // Let socket events (Redis dying, reconnect attempts) in between calls, as a busy server would.
      if (yieldToIo) await new Promise((resolve) => setImmediate(resolve));
    }
    return { results, startedAt, finishedAt: Date.now(), ...snapshot() };
  },
  /** Resolves at the first state change to `state` (or at once if already there), with its time. */
  async waitFor({ state }) {
    const found = transitions.find((t) => t.to === state);
    if (found) return found;
    return new Promise((resolve) => {
      const sub = breaker.onStateChange((e) => {
        if (e.to === state) {
          sub.dispose();
          resolve({ to: e.to, reason: e.reason, generation: e.generation, at: Date.now() });
        }
      });
    });
  },
  /** Fires n calls at once in half-open; counts the ones that ran (they hang until releaseProbes). */
  async probeStorm({ n }) {
    let ran = 0;
    let rejected = 0;
    let otherErrors = 0;
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
              if (CircuitOpenError.isInstance(error)) rejected++;
              else otherErrors++;
              answered();
            });
        }),
      );
    }
    await Promise.all(settledOrRunning);
    return { ran, rejected, otherErrors, state: breaker.state };
  },
  releaseProbes() {
    for (const resolve of held.splice(0)) resolve('ok');
    return snapshot();
  },
  reset() {
    breaker.reset();
    return snapshot();
  },
  async close() {
    breaker.dispose();
    await store.close();
    return { closed: true };
  },
};

function snapshot() {
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

async function oneCall(outcome) {
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
  if (store) void store.close();
});
process.send({ ready: true });
