/**
 * The agent's health, in the guide's shape (`status`, `open_breakers`, `breaker_stats`). Only the
 * operator's dependencies make the agent degraded: anyone can name a DID on a host of their own and
 * make it fail, so the breakers of such peers (`a2a-did/...`) and of their did:web hosts are listed
 * apart (`open_foreign_breakers`). Otherwise a stranger could mark the agent degraded at will — and
 * take it out of a load balancer that reads this endpoint.
 */
import type { CircuitBreakerStats } from '@phlow/circuit-breaker';

export interface BreakerHealth {
  readonly status: 'healthy' | 'degraded';
  /** Open breakers of the operator's dependencies (Supabase, the configured DID host, the operator's peers). */
  readonly open_breakers: string[];
  /** Open breakers of peers known only by a DID on another host, and of those DIDs' hosts. */
  readonly open_foreign_breakers: string[];
  readonly breaker_stats: Record<string, CircuitBreakerStats>;
}

/** The outbox figures health reads. */
export interface OutboxHealthFigures {
  readonly pending: number;
  readonly pending_bytes: number;
  readonly dead_lettered: number;
  readonly max_rows: number;
  readonly max_bytes: number;
  /** The delivery failure that keeps writes waiting, or null. */
  readonly last_error: string | null;
  /** `unavailable`: Supabase is away (the breakers show it); `attention`: it answers, writes do not land. */
  readonly last_error_kind: 'unavailable' | 'attention' | null;
}

/** Share of a cap past which the outbox counts as nearly full (the SupabaseOutboxNearlyFull alert's). */
const NEARLY_FULL = 0.8;

/**
 * What is wrong with the outbox, in words, or nothing: writes the database refused for good (dead
 * letters: they will not land by themselves, someone must look at them); an outbox nearly full (once
 * full, the agent refuses exchanges); writes waiting on a failure no breaker sees (a missing column, a
 * rotated key, a 2xx that was not the rows, the outbox file failing). Supabase being away is not listed:
 * its breaker says so already.
 */
export function outboxProblems(outbox: OutboxHealthFigures): string[] {
  const problems: string[] = [];
  if (outbox.dead_lettered > 0) problems.push(`${outbox.dead_lettered} writes in the dead letters: refused by the database for good`);
  if (outbox.pending >= NEARLY_FULL * outbox.max_rows || outbox.pending_bytes >= NEARLY_FULL * outbox.max_bytes) {
    problems.push(`outbox nearly full: ${outbox.pending} of ${outbox.max_rows} writes, ${outbox.pending_bytes} of ${outbox.max_bytes} bytes; once full, exchanges are refused`);
  }
  if (outbox.pending > 0 && outbox.last_error_kind === 'attention') problems.push(`${outbox.pending} writes waiting: ${outbox.last_error}`);
  return problems;
}

/** The health with the outbox's figures and, when it is the reason the agent is degraded, why. */
export function agentHealth<O extends OutboxHealthFigures>(breakers: BreakerHealth, outbox: O): BreakerHealth & { readonly outbox: O; readonly outbox_problems: string[] } {
  const problems = outboxProblems(outbox);
  return { ...breakers, status: problems.length > 0 ? 'degraded' : breakers.status, outbox, outbox_problems: problems };
}

export function breakerHealth(stats: Record<string, CircuitBreakerStats>, isForeign: (name: string) => boolean): BreakerHealth {
  const open = Object.keys(stats).filter((name) => stats[name]!.state === 'open');
  const openBreakers = open.filter((name) => !isForeign(name));
  return {
    status: openBreakers.length === 0 ? 'healthy' : 'degraded',
    open_breakers: openBreakers,
    open_foreign_breakers: open.filter(isForeign),
    breaker_stats: stats,
  };
}
