import type { CircuitState, TransitionReason } from './circuit-state.js';

/**
 * One state change, shaped like the guide's log line (`timestamp` in seconds, `level`, `message`,
 * `failure_count`, `threshold`) plus what an operator needs to act on it.
 */
export interface CircuitLogEntry {
  readonly timestamp: number;
  readonly level: 'info' | 'warning';
  readonly message: string;
  readonly name: string;
  readonly from: CircuitState;
  readonly to: CircuitState;
  readonly reason: TransitionReason;
  readonly failure_count: number;
  readonly threshold: number;
  readonly generation: number;
  /** When an open breaker admits its next probe (epoch seconds), when known. */
  readonly retry_at?: number;
}

/** Receives every state change of the breakers it is given to. */
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
