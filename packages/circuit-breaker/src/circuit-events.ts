import type { CircuitState, TransitionReason } from './circuit-state.js';
import type { CircuitBreaker } from './circuit-breaker.js';

/** The breaker changed state. */
export interface StateChangeEvent {
  readonly breaker: CircuitBreaker;
  readonly from: CircuitState;
  readonly to: CircuitState;
  readonly reason: TransitionReason;
  /** The generation entered. */
  readonly generation: number;
  /** Failures counted toward the threshold at the moment of the change. */
  readonly failureCount: number;
  readonly threshold: number;
  /** When it happened (epoch ms). */
  readonly at: number;
  /** When an open breaker admits its next probe (epoch ms), or null. */
  readonly retryAt: number | null;
}

/** Common to the outcome of every admitted call. */
interface CallOutcomeEvent {
  readonly breaker: CircuitBreaker;
  /** Time from admission to outcome (ms); NaN when nobody listened as the call started. */
  readonly durationMs: number;
  /** The breaker moved on while the call ran: the outcome was counted but changed no state. */
  readonly stale: boolean;
}

export interface CallSuccessEvent extends CallOutcomeEvent {}

export interface CallFailureEvent extends CallOutcomeEvent {
  /** `error`: the function threw; `timeout`: it outlived `timeoutMs`; `result`: `classifyResult` judged its value. */
  readonly cause: 'error' | 'timeout' | 'result';
  /** The error (for `result`, the returned value). */
  readonly error: unknown;
}

export interface CallIgnoredEvent extends CallOutcomeEvent {
  /** `error`: not an expected error; `result`: `classifyResult` said ignored; `aborted`: the caller's signal aborted. */
  readonly cause: 'error' | 'result' | 'aborted';
  readonly error: unknown;
}

/** A call was rejected without running. */
export interface CallRejectedEvent {
  readonly breaker: CircuitBreaker;
  readonly state: CircuitState;
  readonly retryAt: number | null;
}

/** A call timed out (also reported as a failure with cause `timeout`). */
export interface CallTimeoutEvent {
  readonly breaker: CircuitBreaker;
  readonly timeoutMs: number;
}

/** A half-open probe was aborted while its function still runs (see `CircuitBreaker.onProbeAbandoned`). */
export interface ProbeAbandonedEvent {
  readonly breaker: CircuitBreaker;
  /** The limit it passed: `halfOpenMaxWaitMs` for a stuck probe, else `timeoutMs`. */
  readonly limitMs: number;
  /** Abandoned probes of this breaker whose functions still run, this one included. */
  readonly abandonedProbes: number;
}
