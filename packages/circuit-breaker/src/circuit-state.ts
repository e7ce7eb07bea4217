/**
 * The public state of a breaker, the same strings as in metric labels and JSON.
 * `closed`, `open`, `half_open` are the guide's; `forced_open` and `disabled` are manual modes
 * (resilience4j's FORCED_OPEN and DISABLED): forced open rejects every call until released,
 * disabled lets every call through while still recording outcomes.
 */
export type CircuitState = 'closed' | 'open' | 'half_open' | 'forced_open' | 'disabled';

/** Every state, in a stable order (metrics emit one series per state). */
export const CIRCUIT_STATES: readonly CircuitState[] = ['closed', 'open', 'half_open', 'forced_open', 'disabled'];

/**
 * What moved the breaker: the breaker's own logic or an operator, or a peer replica through a state
 * store.
 */
export type TransitionReason =
  | 'failure_threshold'
  | 'recovery_timeout'
  | 'probe_succeeded'
  | 'probe_failed'
  | 'probe_stuck'
  | 'manual'
  | 'remote'
  | 'restore';

/**
 * The serialisable state of one breaker, as `toJSON()` exports it, `initialState` restores it and a
 * shared state store exchanges it between replicas.
 */
export interface CircuitSnapshot {
  readonly state: CircuitState;
  /** Bumped on every transition; outcomes of calls from an older generation never move the state. */
  readonly generation: number;
  /** When the breaker last opened (epoch ms), or null. */
  readonly openedAt: number | null;
  /** When an open breaker admits its next probe (epoch ms), or null. */
  readonly retryAt: number | null;
  /** Failed probes in a row; drives the open-duration backoff. */
  readonly failedProbes: number;
}
