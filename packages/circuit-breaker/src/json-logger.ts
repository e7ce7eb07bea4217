import type { CircuitState, TransitionReason } from './circuit-state.js';

/**
 * One log entry. Most are state changes, shaped like the guide's log line (`timestamp` in seconds,
 * `level`, `message`, `failure_count`, `threshold`) plus what an operator needs to act on it. The
 * other kind, `event: 'listener_error'`, reports an exception thrown by one of your listeners or
 * classifiers (the breaker caught it and carried on): it has `error` and the breaker's `state`, and
 * none of the state-change fields.
 */
export interface CircuitLogEntry {
  readonly timestamp: number;
  readonly level: 'info' | 'warning';
  /** What the entry reports; absent on entries from older versions, which were all state changes. */
  readonly event?: 'state_change' | 'listener_error';
  readonly message: string;
  readonly name: string;
  readonly generation: number;
  /** State changes: the state left. */
  readonly from?: CircuitState;
  /** State changes: the state entered. */
  readonly to?: CircuitState;
  /** State changes: what caused it. */
  readonly reason?: TransitionReason;
  /** State changes: failures counted toward the threshold at the moment of the change. */
  readonly failure_count?: number;
  /** State changes: the failure threshold. */
  readonly threshold?: number;
  /** State changes: when an open breaker admits its next probe (epoch seconds), when known. */
  readonly retry_at?: number;
  /** Listener errors: the breaker's state when the listener threw. */
  readonly state?: CircuitState;
  /** Listener errors: what was thrown, as text (`name: message` for errors). */
  readonly error?: string;
}

/** Receives every log entry (state changes, listener errors) of the breakers it is given to. */
export type CircuitLogger = (entry: CircuitLogEntry) => void;

/** Writes each entry as one JSON line, to stderr unless told otherwise. The default logger. */
export function jsonLineLogger(write: (line: string) => void = (line) => process.stderr.write(line)): CircuitLogger {
  return (entry) => write(`${JSON.stringify(entry)}\n`);
}

const VERBS: Record<CircuitState, string> = {
  closed: 'closed',
  open: 'opened',
  half_open: 'half-open, probing',
  forced_open: 'forced open',
  disabled: 'disabled',
};

/** The guide's message for a transition: "Circuit breaker external_api opened". */
export function transitionMessage(name: string, to: CircuitState): string {
  return `Circuit breaker ${name} ${VERBS[to]}`;
}

/** Opening (by itself or by hand) and disabling are what an operator must notice; the rest is info. */
export function transitionLevel(to: CircuitState): CircuitLogEntry['level'] {
  return to === 'open' || to === 'forced_open' || to === 'disabled' ? 'warning' : 'info';
}

/** Text for a thrown value in a log entry: `name: message` for errors, never throwing itself. */
export function describeThrown(error: unknown): string {
  try {
    if (error instanceof Error) return `${error.name}: ${error.message}`;
    return String(error);
  } catch {
    return Object.prototype.toString.call(error);
  }
}
