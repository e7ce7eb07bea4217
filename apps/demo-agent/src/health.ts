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

/**
 * The health with the outbox's figures: writes the database refused for good (dead letters) make the
 * agent degraded too — they will not land by themselves, someone must look at them.
 */
export function agentHealth<O extends { readonly dead_lettered: number }>(breakers: BreakerHealth, outbox: O): BreakerHealth & { readonly outbox: O } {
  return { ...breakers, status: outbox.dead_lettered > 0 ? 'degraded' : breakers.status, outbox };
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
