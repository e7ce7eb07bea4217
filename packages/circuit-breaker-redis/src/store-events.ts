/** Why the store stopped trusting Redis. */
export type DegradationReason =
  /** The connection dropped or could not be made. */
  | 'connection_lost'
  /** A command failed or passed `commandTimeoutMs`. */
  | 'command_failed'
  /** A half-open call gave up waiting `probeWaitMs` for its fleet permit. */
  | 'timeout';

/** Redis became unreachable or failed a command: breakers now decide on local state only. */
export interface StoreDegradedEvent {
  readonly reason: DegradationReason;
  readonly error: unknown;
  /** Epoch ms. */
  readonly at: number;
}

/** Redis answers again; every attached breaker is being reconciled with the fleet. */
export interface StoreRecoveredEvent {
  /** Epoch ms. */
  readonly at: number;
  /** How long the store ran on local state. */
  readonly degradedForMs: number;
}
