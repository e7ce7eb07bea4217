import type { CircuitBreakerStats } from '@phlow/circuit-breaker';
import { describe, expect, it } from 'vitest';
import { agentHealth, breakerHealth } from './health.js';

const breaker = (state: string) => ({ state }) as unknown as CircuitBreakerStats;
// Which breakers are strangers' is told by family (foreign-breakers.ts); here, a fixed list.
const foreign = new Set(['a2a-did/did:web:evil.example:agents:alpha', 'foreign-did/web:evil.example']);
const isForeign = (name: string) => foreign.has(name);

describe('breakerHealth', () => {
  it('a stranger\'s failing DID (and its host) is listed, but does not make the agent degraded', () => {
    const health = breakerHealth(
      { 'supabase/rest': breaker('closed'), 'a2a/alpha': breaker('closed'), 'a2a-did/did:web:evil.example:agents:alpha': breaker('open'), 'foreign-did/web:evil.example': breaker('open') },
      isForeign,
    );
    expect(health).toMatchObject({ status: 'healthy', open_breakers: [], open_foreign_breakers: ['a2a-did/did:web:evil.example:agents:alpha', 'foreign-did/web:evil.example'] });
  });

  it('the operator\'s dependencies do', () => {
    for (const name of ['supabase/rest', 'a2a/alpha', 'did/web:agents.example.com']) {
      expect(breakerHealth({ [name]: breaker('open'), 'a2a/beta': breaker('half_open') }, isForeign)).toMatchObject({ status: 'degraded', open_breakers: [name], open_foreign_breakers: [] });
    }
  });

  it('writes in the dead letters make the agent degraded, whatever the breakers say', () => {
    const healthy = breakerHealth({ 'supabase/rest': breaker('closed') }, isForeign);
    expect(agentHealth(healthy, { pending: 3, dead_lettered: 0 })).toMatchObject({ status: 'healthy', outbox: { pending: 3 } });
    expect(agentHealth(healthy, { pending: 0, dead_lettered: 1 })).toMatchObject({ status: 'degraded', open_breakers: [], outbox: { dead_lettered: 1 } });
  });
});
