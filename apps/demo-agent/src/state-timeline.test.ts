import { CircuitBreakerRegistry, ManualClock } from '@phlow/circuit-breaker';
import { afterEach, describe, expect, it } from 'vitest';
import { StateTimeline } from './state-timeline.js';

let timeline: StateTimeline | undefined;
afterEach(() => timeline?.dispose());

const T0 = 1_700_000_000_000;
const fail = () => Promise.reject(new Error('down'));

describe('StateTimeline', () => {
  it('draws closed → open → half_open → closed as segments, with the breaker’s own recovery on a manual clock', async () => {
    const clock = new ManualClock(T0);
    const registry = new CircuitBreakerRegistry({ clock, logger: false });
    timeline = new StateTimeline(registry, { now: () => clock.now() });
    const breaker = registry.getFamily('a2a', { failureThreshold: 2, recoveryTimeoutMs: 4_000 }).get('beta');
    clock.advance(10_000);
    for (let i = 0; i < 2; i++) await breaker.execute(fail).catch(() => undefined);
    clock.advance(4_000); // the recovery timeout: the next call is the probe
    clock.advance(500);
    await breaker.execute(async () => 'ok');
    clock.advance(1_000);
    const read = timeline.read();
    expect(read).toMatchObject({ now: T0 + 15_500, window_ms: 300_000, hidden: 0 });
    const row = read.rows.find((r) => r.name === 'a2a/beta')!;
    expect(row.known_from).toBe(T0);
    // half_open starts when the probe is admitted (or when the timer moves it): between open's end and the success.
    const states = row.segments.map((s) => s.state);
    expect(states).toEqual(['closed', 'open', 'half_open', 'closed']);
    expect(row.segments[0]).toEqual({ state: 'closed', from: T0, to: T0 + 10_000 });
    expect(row.segments[1]!.from).toBe(T0 + 10_000);
    expect(row.segments.at(-1)).toEqual({ state: 'closed', from: T0 + 14_500, to: null });
    // Contiguous: every segment starts where the one before ended.
    for (let i = 1; i < row.segments.length; i++) expect(row.segments[i]!.from).toBe(row.segments[i - 1]!.to);
  });

  it('clips to the window and forgets segments that ended before it', () => {
    const clock = new ManualClock(T0);
    const registry = new CircuitBreakerRegistry({ clock, logger: false });
    timeline = new StateTimeline(registry, { windowMs: 60_000, now: () => clock.now() });
    const breaker = registry.getFamily('supabase').get('rest');
    breaker.forceOpen();
    clock.advance(30_000);
    breaker.reset();
    clock.advance(50_000);
    const row = timeline.read().rows[0]!;
    expect(row.known_from).toBe(T0 + 20_000);
    // closed (0 ms long at T0) ended before the window; forced_open is clipped to the window's start.
    expect(row.segments).toEqual([
      { state: 'forced_open', from: T0 + 20_000, to: T0 + 30_000 },
      { state: 'closed', from: T0 + 30_000, to: null },
    ]);
    clock.advance(60_000);
    expect(timeline.read().rows[0]!.segments).toEqual([{ state: 'closed', from: T0 + 80_000, to: null }]);
  });

  it('keeps at most maxSegments per breaker, the latest, and says from when on the history is known', () => {
    const clock = new ManualClock(T0);
    const registry = new CircuitBreakerRegistry({ clock, logger: false });
    timeline = new StateTimeline(registry, { maxSegments: 4, now: () => clock.now() });
    const breaker = registry.getBreaker('flapping');
    for (let i = 0; i < 1_000; i++) {
      clock.advance(10);
      if (i % 2 === 0) breaker.forceOpen();
      else breaker.reset();
    }
    const row = timeline.read().rows[0]!;
    expect(row.segments).toHaveLength(4);
    expect(row.segments.at(-1)).toEqual({ state: 'closed', from: T0 + 10_000, to: null });
    expect(row.known_from).toBe(row.segments[0]!.from);
    expect(row.known_from).toBe(T0 + 9_970);
  });

  it('gives at most maxRows breakers a row, counts the rest, and lets a waiting breaker take the row of a retired one', () => {
    const clock = new ManualClock(T0);
    const registry = new CircuitBreakerRegistry({ clock, logger: false });
    timeline = new StateTimeline(registry, { maxRows: 3, now: () => clock.now() });
    registry.getFamily('supabase').get('rest');
    const family = registry.getFamily('did', {}, { idleTtlMs: 1_000 });
    for (let i = 0; i < 500; i++) family.get(`web:evil-${i}.example`);
    let read = timeline.read();
    expect(read.rows.map((r) => r.name)).toEqual(['supabase/rest', 'did/web:evil-0.example', 'did/web:evil-1.example']);
    expect(read.hidden).toBe(498);
    expect(read.max_rows).toBe(3);
    // Idle members retire; the survivor and the breakers still waiting take the free rows.
    clock.advance(2_000);
    family.get('web:evil-499.example');
    read = timeline.read();
    expect(read.rows).toHaveLength(Math.min(3, Object.keys(registry.getStats()).length));
    expect(read.rows[0]!.name).toBe('supabase/rest');
    expect(read.rows.map((r) => r.name)).toContain('did/web:evil-499.example');
    expect(read.hidden).toBe(Object.keys(registry.getStats()).length - read.rows.length);
  });

  it('refuses a bad option, naming it', () => {
    const registry = new CircuitBreakerRegistry();
    expect(() => new StateTimeline(registry, { windowMs: 0 })).toThrow('windowMs must be a number > 0; got 0');
    expect(() => new StateTimeline(registry, { maxSegments: 1.5 })).toThrow('maxSegments must be an integer >= 1; got 1.5');
    expect(() => new StateTimeline(registry, { maxRows: 0 })).toThrow('maxRows must be an integer >= 1; got 0');
  });
});
