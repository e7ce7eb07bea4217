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

  const figures = { pending: 0, pending_bytes: 0, dead_lettered: 0, max_rows: 100, max_bytes: 10_000, last_error: null, last_error_kind: null } as const;

  it('writes in the dead letters make the agent degraded, whatever the breakers say', () => {
    const healthy = breakerHealth({ 'supabase/rest': breaker('closed') }, isForeign);
    expect(agentHealth(healthy, { ...figures, pending: 3 })).toMatchObject({ status: 'healthy', outbox: { pending: 3 }, outbox_problems: [] });
    expect(agentHealth(healthy, { ...figures, dead_lettered: 1 })).toMatchObject({ status: 'degraded', open_breakers: [], outbox: { dead_lettered: 1 }, outbox_problems: [expect.stringMatching(/1 writes in the dead letters/)] });
  });

  it('an outbox nearly full (rows or bytes, the alert rule\'s 80 %) is not healthy: once full, exchanges are refused', () => {
    const healthy = breakerHealth({ 'supabase/rest': breaker('closed') }, isForeign);
    expect(agentHealth(healthy, { ...figures, pending: 80 })).toMatchObject({ status: 'degraded', outbox_problems: [expect.stringMatching(/nearly full: 80 of 100 writes/)] });
    expect(agentHealth(healthy, { ...figures, pending: 2, pending_bytes: 9_999 })).toMatchObject({ status: 'degraded', outbox_problems: [expect.stringMatching(/9999 of 10000 bytes/)] });
    expect(agentHealth(healthy, { ...figures, pending: 79, pending_bytes: 7_999 }).status).toBe('healthy');
  });

  it('writes waiting on a failure while every breaker is closed (a missing column, a rotated key) are not healthy, and say why', () => {
    const healthy = breakerHealth({ 'supabase/rest': breaker('closed') }, isForeign);
    const health = agentHealth(healthy, { ...figures, pending: 4, last_error: "Could not find the 'priority' column of 'messages'", last_error_kind: 'attention' });
    expect(health).toMatchObject({ status: 'degraded', outbox_problems: [expect.stringMatching(/4 writes waiting: Could not find the 'priority' column/)] });
    // Supabase away is the breakers' to tell (open → degraded there); the outbox does not add to it.
    expect(agentHealth(healthy, { ...figures, pending: 4, last_error: 'fetch failed', last_error_kind: 'unavailable' }).status).toBe('healthy');
  });
});
