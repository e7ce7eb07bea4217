import type { CircuitSnapshot } from './circuit-state.js';
import type { DisposableLike } from './event.js';

/**
 * The breaker's side of a shared state store: what a store may read and how it pushes a peer
 * replica's transition in.
 */
export interface StoreBinding {
  /** The breaker's full name (a family member's is `family/key`). */
  readonly name: string;
  /**
   * The breaker's `failureThreshold` (or window threshold), for a store counting fleet-wide. Read it
   * when needed rather than keeping a copy: it follows `reconfigure`.
   */
  readonly threshold: number;
  /** Trial calls the breaker admits while half-open; a store granting fleet-wide permits uses it. */
  readonly halfOpenMaxCalls: number;
  /**
   * When a breaker that opened at `openedAt` after `failedProbes` failed probes admits its next probe
   * (recovery timeout and backoff, jitter included), so a store opening the fleet can store it.
   */
  retryAtFor(openedAt: number, failedProbes: number): number;
  snapshot(): CircuitSnapshot;
  /**
   * Adopts a transition made elsewhere. Ignored unless `snapshot.generation` is newer than the
   * breaker's own, so a late or replayed message never moves the state backwards. A newer generation
   * in the same state is taken quietly (no log, no state-change event).
   */
  applyRemote(snapshot: CircuitSnapshot): void;
}

/**
 * The store's side, one per attached breaker. Every method is called synchronously on the call path
 * and must not block: a store batches, publishes in the background and falls back to local state
 * when its backend is slow or down — a call must never wait for, or fail because of, the store.
 * `dispose()` detaches the breaker; a store you write needs no `Symbol.dispose` (the breaker only calls
 * `dispose()`), though the stores shipped here have one.
 */
export interface StoreConnection extends DisposableLike {
  /** The breaker moved by itself or by hand (not by `applyRemote`). */
  transitioned(snapshot: CircuitSnapshot): void;
  /** A CLOSED call failed and was counted toward the threshold. */
  failureRecorded?(): void;
  /** A CLOSED call succeeded (a consecutive count restarts). */
  successRecorded?(): void;
  /**
   * Asks for one of the fleet's half-open trial permits for `generation`. The only place a call waits
   * for the store; resolve `true` (fall back to the local permit) when the backend does not answer
   * promptly.
   */
  acquireProbe?(generation: number): Promise<boolean>;
  /** Returns a permit granted by `acquireProbe`. */
  releaseProbe?(generation: number): void;
}

/**
 * Shares breaker state between replicas. The breaker keeps deciding locally (no round trip on a CLOSED
 * call) and tells the store what happened; the store propagates it and pushes peers' transitions back
 * through {@link StoreBinding.applyRemote}. `@phlow/circuit-breaker` ships an in-process
 * {@link InMemoryStateStore}; a Redis store lives in its own package.
 */
export interface CircuitStateStore {
  connect(binding: StoreBinding): StoreConnection;
}
