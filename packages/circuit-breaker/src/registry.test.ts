import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './circuit-breaker.js';
import { CircuitFamilyFullError, CircuitOpenError } from './errors.js';
import { ManualClock } from './manual-clock.js';
import { CircuitBreakerRegistry, getCircuitBreakerRegistry } from './registry.js';
import { fail, settle, succeed } from './test-helpers.test-util.js';

const quiet = () => new CircuitBreakerRegistry({ logger: false, timeoutMs: 0 });

describe('registry', () => {
  it('get-or-create returns the same breaker for the same name', () => {
    const registry = quiet();
    const a = registry.getBreaker('payment_service', { failureThreshold: 5 });
    expect(registry.getBreaker('payment_service')).toBe(a);
    expect(registry.getBreaker('payment_service', { failureThreshold: 5 })).toBe(a);
  });

  it('asking for an existing name with a different config is a clear error (the guide trap, fixed)', () => {
    const registry = quiet();
    registry.getBreaker('db', { failureThreshold: 3 });
    expect(() => registry.getBreaker('db', { failureThreshold: 10 })).toThrow(
      /circuit breaker "db" already exists with a different failureThreshold \(existing: 3, requested: 10\)/,
    );
  });

  it('the mismatch error names the option the caller used, not the policy it is short for', () => {
    const registry = quiet();
    registry.getBreaker('default-threshold');
    expect(() => registry.getBreaker('default-threshold', { failureThreshold: 2 })).toThrow(
      'different failureThreshold (existing: 5, requested: 2)',
    );
    const windowed = { type: 'count-window', size: 10, minimumCalls: 5, failureRateThreshold: 0.5 } as const;
    registry.getBreaker('windowed', { failurePolicy: windowed });
    expect(() => registry.getBreaker('windowed', { failureThreshold: 3 })).toThrow(
      /different failureThreshold \(existing: none \(failurePolicy \{.*"count-window".*\}\), requested: 3\)/,
    );
    expect(() => registry.getBreaker('default-threshold', { failurePolicy: windowed })).toThrow(/different failurePolicy/);
    expect(() => registry.getBreaker('default-threshold', { timeoutMs: 5 })).toThrow('different timeoutMs (existing: 0, requested: 5)');
  });

  it('registry defaults and breaker options merge by the adapters’ rule: undefined is "not given"', () => {
    const registry = new CircuitBreakerRegistry({ logger: false, timeoutMs: 1_234, failureThreshold: 2 });
    expect(registry.getBreaker('a', { timeoutMs: undefined }).options.timeoutMs).toBe(1_234);
    const windowed = { type: 'count-window', size: 10, minimumCalls: 5, failureRateThreshold: 0.5 } as const;
    expect(registry.getBreaker('b', { failurePolicy: windowed }).options.failurePolicy).toEqual(windowed);
  });

  it('getStats in the guide shape, by name', async () => {
    const registry = quiet();
    const breaker = registry.getBreaker('payment_service');
    await settle(breaker.execute(fail));
    await settle(breaker.execute(fail));
    expect(registry.getStats()).toEqual({
      payment_service: expect.objectContaining({ state: 'closed', failure_count: 2, success_count: 0, failure_threshold: 5 }),
    });
  });

  it('resetBreaker and resetAll close breakers', async () => {
    const registry = quiet();
    const a = registry.getBreaker('a', { failureThreshold: 1 });
    const b = registry.getBreaker('b', { failureThreshold: 1 });
    await settle(a.execute(fail));
    await settle(b.execute(fail));
    expect(registry.resetBreaker('a')).toBe(true);
    expect(registry.resetBreaker('missing')).toBe(false);
    expect(a.state).toBe('closed');
    expect(b.state).toBe('open');
    registry.resetAll();
    expect(b.state).toBe('closed');
  });

  it('observe reaches existing and later breakers, family members included, and their events', async () => {
    const registry = quiet();
    registry.getBreaker('early', { failureThreshold: 1 });
    const seen: string[] = [];
    const observation = registry.observe((breaker) => breaker.onStateChange((e) => seen.push(`${breaker.name}:${e.to}`)));
    const late = registry.getBreaker('late', { failureThreshold: 1 });
    const family = registry.getFamily('peers', { failureThreshold: 1 });
    await settle(registry.get('early')!.execute(fail));
    await settle(late.execute(fail));
    await settle(family.execute('agent-7', fail));
    expect(seen).toEqual(['early:open', 'late:open', 'peers/agent-7:open']);
    observation.dispose();
    registry.resetAll();
    expect(seen).toHaveLength(3);
  });

  it('onStateChange hears every breaker, including ones created later', async () => {
    const registry = quiet();
    const seen: string[] = [];
    registry.onStateChange((e) => seen.push(`${e.breaker.name}:${e.to}`));
    await settle(registry.getBreaker('x', { failureThreshold: 1 }).execute(fail));
    expect(seen).toEqual(['x:open']);
  });

  it('has a process-wide default', () => {
    expect(getCircuitBreakerRegistry()).toBe(getCircuitBreakerRegistry());
  });

  it('validates registry defaults up front', () => {
    expect(() => new CircuitBreakerRegistry({ timeoutMs: -5 })).toThrow('timeoutMs must be a number >= 0');
  });
});

describe('one naming rule: "/" means a family member and nothing else', () => {
  it('a plain breaker named like a member is refused, so it can never collide with one in stats or resets', async () => {
    const registry = quiet();
    const members = registry.getFamily('fam', { failureThreshold: 1 });
    await settle(members.execute('x', fail));
    expect(() => registry.getBreaker('fam/x')).toThrow(
      'circuit breaker name must not contain "/" (reserved for keyed family members, named family/key); got "fam/x"',
    );
    expect(() => registry.getBreaker('other/x')).toThrow(/must not contain "\/"/);
    expect(() => new CircuitBreaker('solo/x', { logger: false })).toThrow(/must not contain "\/"/);
    expect(Object.keys(registry.getStats())).toEqual(['fam/x']);
    expect(registry.resetBreaker('fam/x')).toBe(true);
    expect(members.peek('x')?.state).toBe('closed');
  });

  it('a family and a plain breaker never share a name, whichever comes first', () => {
    const registry = quiet();
    registry.getBreaker('db');
    expect(() => registry.getFamily('db')).toThrow('circuit breaker family name "db" is already used by a breaker');
    registry.getFamily('peers');
    expect(() => registry.getBreaker('peers')).toThrow('circuit breaker name "peers" is already used by a keyed family');
  });

  it('family keys may contain "/": the family name never does, so the split is unambiguous', async () => {
    const registry = quiet();
    const hosts = registry.getFamily('hosts');
    await hosts.execute('example.com/users/alice', succeed);
    expect(registry.get('hosts/example.com/users/alice')).toBe(hosts.peek('example.com/users/alice'));
  });
});

describe('keyed families', () => {
  function family(maxKeys: number, idleTtlMs = 60_000) {
    const clock = new ManualClock();
    const registry = new CircuitBreakerRegistry({ logger: false, timeoutMs: 0, clock });
    const removed: string[] = [];
    registry.onBreakerRemoved((b) => removed.push(b.name));
    const peers = registry.getFamily('a2a', { failureThreshold: 1 }, { maxKeys, idleTtlMs });
    return { clock, registry, peers, removed };
  }

  it('one breaker per key: a dead peer opens only its own breaker', async () => {
    const { peers, registry } = family(10);
    await settle(peers.execute('dead-peer', fail));
    expect(await peers.execute('live-peer', succeed)).toBe('ok');
    expect(peers.get('dead-peer').state).toBe('open');
    expect(peers.get('live-peer').state).toBe('closed');
    expect(peers.get('dead-peer').membership).toMatchObject({ family: 'a2a', key: 'dead-peer' });
    expect(Object.keys(registry.getStats()).sort()).toEqual(['a2a/dead-peer', 'a2a/live-peer']);
    expect(registry.get('a2a/dead-peer')).toBe(peers.get('dead-peer'));
  });

  it('retires every member nobody called for idleTtlMs, open ones included', async () => {
    const { peers, clock, removed } = family(10, 1_000);
    await settle(peers.execute('open-peer', fail));
    await peers.execute('idle-peer', succeed);
    clock.advance(500);
    await settle(peers.execute('open-peer', succeed)); // rejected, but called: still wanted
    clock.advance(600);
    peers.get('fresh');
    expect(removed).toEqual(['a2a/idle-peer']);
    expect(peers.peek('open-peer')?.toJSON().state).toBe('open');
    clock.advance(1_000);
    peers.get('another');
    expect(removed).toEqual(['a2a/idle-peer', 'a2a/open-peer', 'a2a/fresh']);
  });

  it('at maxKeys evicts the least recently used closed breaker', async () => {
    const { peers, clock, removed } = family(2);
    peers.get('a');
    clock.advance(1);
    peers.get('b');
    clock.advance(1);
    peers.get('a');
    peers.get('c');
    expect(removed).toEqual(['a2a/b']);
    expect(peers.size).toBe(2);
  });

  it('refuses a new key rather than dropping an open breaker someone just called', async () => {
    const { peers } = family(2);
    for (let i = 0; i < 2; i++) {
      // Called twice: regulars, open (keys called only once make room; see circuit-breaker-family.test.ts).
      await settle(peers.execute('x', fail));
      await settle(peers.execute('y', fail));
    }
    const outcome = await settle(peers.execute('z', succeed));
    const error = (outcome as { error: CircuitFamilyFullError }).error;
    expect(error).toBeInstanceOf(CircuitFamilyFullError);
    expect(error.message).toContain('no breaker for key z');
    expect(peers.peek('x')?.state).toBe('open');
    expect(CircuitOpenError.isInstance((await settle(peers.execute('x', succeed)) as { error: unknown }).error)).toBe(true);
  });

  it('does not evict a breaker with calls in flight that was just called', async () => {
    const { peers } = family(1);
    const { promise: running, resolve: release } = Promise.withResolvers<void>();
    const busy = [peers.execute('busy', () => running), peers.execute('busy', () => running)];
    expect(() => peers.get('other')).toThrow(CircuitFamilyFullError);
    release();
    await Promise.all(busy);
    expect(peers.get('other').name).toBe('a2a/other');
  });

  it('validates family options and names', () => {
    const registry = quiet();
    expect(() => registry.getFamily('f', {}, { maxKeys: 0 })).toThrow('maxKeys must be an integer >= 1; got 0');
    expect(() => registry.getFamily('a/b')).toThrow('family name must be a non-empty string without "/"');
    registry.getFamily('f', {}, { maxKeys: 5 });
    expect(() => registry.getFamily('f', undefined, { maxKeys: 6 })).toThrow(/different maxKeys \(existing: 5, requested: 6\)/);
    expect(() => registry.getBreaker('f')).toThrow('already used by a keyed family');
    const breakers: CircuitBreaker[] = [];
    registry.onBreakerAdded((b) => breakers.push(b));
    expect(() => registry.getFamily('f').get('')).toThrow('key must be a non-empty string');
    expect(breakers).toEqual([]);
  });
});
