/**
 * Strangers' breakers are told by family, on a real registry filled by the real adapters: the DID
 * resolvers (the operator's and the strangers') and the A2A families the relay names.
 */
import { CircuitBreakerRegistry } from '@phlow/circuit-breaker';
import { CircuitBreakerResolver, getWebResolver } from '@phlow/did-resolver';
import { describe, expect, it } from 'vitest';
import { foreignBreakers } from './foreign-breakers.js';
import { DID_PEERS, OPERATOR_PEERS } from './peer-identity.js';

describe('foreignBreakers', () => {
  it("lists every member of the strangers' families and the operator's DID family but its own host", () => {
    const registry = new CircuitBreakerRegistry();
    const operator = new CircuitBreakerResolver(getWebResolver(), { registry, cache: false });
    const strangers = new CircuitBreakerResolver(getWebResolver(), { registry, name: 'foreign-did', cache: false });
    const own = operator.breakerFor('did:web:agents.example.com');
    const stray = operator.breakerFor('did:web:stray.example');
    const theirHost = strangers.breakerFor('did:web:evil.example:agents:alpha');
    // The relay's peers: the operator's family, and the strangers' (keyed by DID).
    const alpha = registry.getFamily(OPERATOR_PEERS).get('alpha');
    const theirPeer = registry.getFamily(DID_PEERS).get('did:web:evil.example:agents:alpha');
    const supabase = registry.getBreaker('supabase-all');

    const foreign = foreignBreakers(registry, { strangers: [DID_PEERS, strangers.name], operatorDids: { family: operator.name, own: () => own } });
    expect([...foreign].sort()).toEqual([stray.name, theirHost.name, theirPeer.name].sort());
    for (const breaker of [own, alpha, supabase]) expect(foreign.has(breaker.name)).toBe(false);
    // Without a DID host of its own, every member of the operator's DID family is a stranger's.
    expect(foreignBreakers(registry, { strangers: [], operatorDids: { family: operator.name, own: () => undefined } })).toEqual(new Set([own.name, stray.name]));
  });
});
