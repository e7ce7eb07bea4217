import { CircuitBreakerRegistry, ManualClock } from '@phlow/circuit-breaker';
import { describe, expect, it } from 'vitest';
import { BreakerRows } from './breaker-rows.js';

describe('BreakerRows', () => {
  it('rows the first maxRows breakers, promotes a waiting one when a row’s breaker retires, and stops when disposed', () => {
    const clock = new ManualClock();
    const registry = new CircuitBreakerRegistry({ clock, logger: false });
    const family = registry.getFamily('peer', {}, { idleTtlMs: 1_000 });
    const made: string[] = [];
    const disposed: string[] = [];
    const rows = new BreakerRows(registry, 2, (breaker) => {
      made.push(breaker.name);
      return { dispose: () => disposed.push(breaker.name) };
    });
    family.get('a');
    family.get('b');
    clock.advance(600);
    family.get('c');
    expect(made).toEqual(['peer/a', 'peer/b']);
    expect(rows.hidden).toBe(1);
    // a and b idle past the TTL, c does not: their rows go, c takes one.
    clock.advance(600);
    family.get('c');
    expect(disposed).toEqual(['peer/a', 'peer/b']);
    expect(made).toEqual(['peer/a', 'peer/b', 'peer/c']);
    expect(rows.hidden).toBe(0);
    family.get('d');
    family.get('e');
    expect(rows.hidden).toBe(1);
    rows.dispose();
    // Disposing retires nothing, and promotes no waiting breaker into a row nobody would dispose.
    expect(made).toEqual(['peer/a', 'peer/b', 'peer/c', 'peer/d']);
    expect(disposed).toEqual(['peer/a', 'peer/b', 'peer/c', 'peer/d']);
    family.get('f');
    expect(made).toHaveLength(4);
  });
});
