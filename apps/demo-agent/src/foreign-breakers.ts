/**
 * Which breakers a stranger can make fail, told by family, never by how a name is spelled: anyone can
 * name a DID on a host of their own, so the families serving strangers' DIDs (their A2A peers, their
 * did:web hosts) are theirs, and in the operator's DID family every member but the operator's own host
 * (strangers' DIDs are resolved apart; this keeps a stray one from counting as the operator's).
 */
import type { CircuitBreaker, CircuitBreakerRegistry } from '@phlow/circuit-breaker';

export interface ForeignFamilies {
  /** Families whose every member serves strangers. */
  readonly strangers: readonly string[];
  /** The operator's DID family, and its one member that is the operator's (none without a DID host). */
  readonly operatorDids: { readonly family: string; readonly own: () => CircuitBreaker | undefined };
}

/** Names of the registry's breakers a stranger can make fail, now. */
export function foreignBreakers(registry: CircuitBreakerRegistry, { strangers, operatorDids }: ForeignFamilies): Set<string> {
  const own = operatorDids.own();
  const foreign = new Set<string>();
  for (const family of registry.allFamilies()) {
    const theirs = strangers.includes(family.name);
    if (!theirs && family.name !== operatorDids.family) continue;
    for (const breaker of family.breakers()) if (theirs || breaker !== own) foreign.add(breaker.name);
  }
  return foreign;
}
