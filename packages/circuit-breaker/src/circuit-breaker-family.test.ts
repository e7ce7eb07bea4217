import { describe, expect, it } from 'vitest';
import type { CircuitBreaker } from './circuit-breaker.js';
import type { CircuitBreakerFamily } from './circuit-breaker-family.js';
import { CircuitFamilyFullError, CircuitOpenError, CircuitTimeoutError } from './errors.js';
import { ManualClock } from './manual-clock.js';
import { CircuitBreakerRegistry } from './registry.js';
import { deferred, fail, flush, settle, succeed } from './test-helpers.test-util.js';

const RECOVERY = 60_000;
const WEEK = 7 * 24 * 3_600_000;

/** A family the adversary can fill: its keys are whatever it likes (hosts with any port, peer ids). */
function setUp(maxKeys = 10, options: { timeoutMs?: number; idleTtlMs?: number } = {}) {
  const clock = new ManualClock(0);
  const registry = new CircuitBreakerRegistry({ logger: false, clock, timeoutMs: options.timeoutMs ?? 0 });
  const removed: string[] = [];
  registry.onBreakerRemoved((b) => removed.push(b.name));
  const changes: string[] = [];
  registry.onStateChange((e) => changes.push(`${e.breaker.name}:${e.to}`));
  const hosts = registry.getFamily(
    'hosts',
    { failureThreshold: 1, recoveryTimeoutMs: RECOVERY },
    { maxKeys, idleTtlMs: options.idleTtlMs ?? 600_000 },
  );
  return { clock, registry, hosts, removed, changes };
}

const attackerKey = (i: number) => `evil.example:${10_000 + i}`;

/** Calls `key` and reports whether the family gave it a breaker (whatever the breaker then said). */
async function admitted(hosts: CircuitBreakerFamily, key: string, fn: () => Promise<unknown> = succeed): Promise<boolean> {
  const outcome = await settle(hosts.execute(key, fn));
  return outcome.ok || !CircuitFamilyFullError.isInstance(outcome.error);
}

describe('a family full of open breakers keeps admitting new keys', () => {
  it('one-off failing keys (open, called once) make room at once', async () => {
    const { hosts, removed } = setUp();
    for (let i = 0; i < 10; i++) await settle(hosts.execute(attackerKey(i), fail));
    expect(await hosts.execute('legit.example', succeed)).toBe('ok');
    expect(removed).toEqual([`hosts/${attackerKey(0)}`]); // the least recently used one-off
  });

  it('open members called repeatedly, then nobody: a legitimate key gets a working breaker within one recovery timeout (not "still a week later")', async () => {
    const { clock, hosts } = setUp();
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 10; i++) await settle(hosts.execute(attackerKey(i), fail)); // ten open breakers, called twice, then silence
    }
    const refused = await settle(hosts.execute('legit.example', succeed));
    const error = (refused as { error: CircuitFamilyFullError }).error;
    expect(CircuitFamilyFullError.isInstance(error)).toBe(true);
    expect(error.retryAfterMs).toBe(RECOVERY);
    clock.advance(RECOVERY);
    expect(await hosts.execute('legit.example', succeed)).toBe('ok');
    expect(hosts.get('legit.example').state).toBe('closed');
    expect(hosts.size).toBe(10);
  });

  it('a week later the open members are gone altogether (idle retirement covers every state)', async () => {
    const { clock, hosts, removed } = setUp();
    for (let i = 0; i < 10; i++) await settle(hosts.execute(attackerKey(i), fail));
    clock.advance(WEEK);
    expect(await hosts.execute('legit.example', succeed)).toBe('ok');
    expect(hosts.size).toBe(1);
    expect(removed).toHaveLength(10);
  });

  it('hanging hosts (calls in flight that never end, timeoutMs 0) do not block retirement; their late outcomes touch nothing', async () => {
    const { clock, hosts, removed, changes, registry } = setUp(10);
    const hangs = Array.from({ length: 10 }, () => deferred());
    const calls = hangs.map((hang, i) => settle(hosts.execute(attackerKey(i), () => hang.promise)));
    for (let i = 0; i < 10; i++) void settle(hosts.execute(attackerKey(i), () => deferred().promise)); // regulars, busy
    expect(await admitted(hosts, 'legit.example')).toBe(false);
    clock.advance(RECOVERY);
    expect(await admitted(hosts, 'legit.example')).toBe(true);
    expect(removed).toHaveLength(1);
    const evicted = removed[0]!;
    const key = evicted.slice('hosts/'.length);
    // The evicted member's late failure reaches its caller but moves nothing: no state change, no
    // registry event, and the key's next breaker starts fresh.
    const index = Number(key.split(':')[1]) - 10_000;
    hangs[index]!.reject(new Error('late'));
    await flush();
    expect((await calls[index]!).ok).toBe(false);
    expect(changes).toEqual([]);
    expect(registry.get(evicted)).toBeUndefined();
    clock.advance(RECOVERY); // let the pressure pass so the key can come back
    expect(await admitted(hosts, key)).toBe(true);
    expect(hosts.get(key).getStats()).toMatchObject({ state: 'closed', total_calls: 1, failure_count: 0 });
  });

  it('an evicted member with timed calls in flight still times them out: no caller waits forever', async () => {
    const { clock, hosts, removed } = setUp(1, { timeoutMs: 2 * RECOVERY });
    const hanging = settle(hosts.execute(attackerKey(0), () => deferred().promise));
    const member = hosts.peek(attackerKey(0))!;
    clock.advance(1_000);
    expect(await admitted(hosts, 'legit.example')).toBe(true); // evicted with its call in flight
    expect(removed).toEqual([`hosts/${attackerKey(0)}`]);
    clock.advance(2 * RECOVERY); // the evicted member's deadline still fires
    expect(CircuitTimeoutError.isInstance(((await hanging) as { error: unknown }).error)).toBe(true);
    expect(member.activeTimers).toBe(0);
    expect(member.getStats().state).toBe('closed'); // the late timeout was stale: it opened nothing
  });
});

describe('an adversary that keeps calling its keys', () => {
  it('all of them, every second, open: a new legitimate key waits at most one recovery timeout, then every later new key gets in at once', async () => {
    const { clock, hosts } = setUp(5);
    for (let i = 0; i < 5; i++) await settle(hosts.execute(attackerKey(i), fail));
    const firstRefusal = clock.now();
    let legitAdmittedAt: number | undefined;
    for (let second = 0; second <= 2 * RECOVERY / 1_000; second++) {
      for (let i = 0; i < 5; i++) await settle(hosts.execute(attackerKey(i), fail)); // keeps them all hot
      const outcome = await settle(hosts.execute('legit.example', succeed));
      if (outcome.ok) {
        legitAdmittedAt ??= clock.now();
      } else {
        const error = (outcome as { error: CircuitFamilyFullError }).error;
        expect(CircuitFamilyFullError.isInstance(error)).toBe(true);
        expect(error.retryAt).toBe(firstRefusal + RECOVERY); // the bound the caller is told, and it holds
      }
      clock.advance(1_000);
    }
    expect(legitAdmittedAt).toBeDefined();
    expect(legitAdmittedAt! - firstRefusal).toBeLessThanOrEqual(RECOVERY);
    expect(await admitted(hosts, 'another-legit.example')).toBe(true); // the pressure persists: no second wait
    expect(hosts.size).toBe(5);
  });

  it('a member someone keeps calling is never evicted in favour of a flood of one-off keys', async () => {
    const { clock, hosts, removed } = setUp(4);
    await settle(hosts.execute('down.example', fail)); // a legitimate dependency that is down: open
    await hosts.execute('healthy.example', succeed);
    const down = hosts.peek('down.example');
    const healthy = hosts.peek('healthy.example');
    // Ten minutes of one-off keys, five a second, each failing once and never called again.
    let n = 0;
    for (let ms = 0; ms < 600_000; ms += 200) {
      await settle(hosts.execute(attackerKey(n++), fail));
      if (ms % 10_000 === 0) {
        const outcome = await settle(hosts.execute('down.example', fail));
        // Still the same breaker, still protecting: rejected, or a probe once per recovery timeout.
        expect(hosts.peek('down.example')).toBe(down);
        if (ms % RECOVERY !== 0) expect(CircuitOpenError.isInstance((outcome as { error: unknown }).error)).toBe(true);
        expect(await hosts.execute('healthy.example', succeed)).toBe('ok');
        expect(hosts.peek('healthy.example')).toBe(healthy);
      }
      clock.advance(200);
    }
    expect(removed).not.toContain('hosts/down.example');
    expect(removed).not.toContain('hosts/healthy.example');
    expect(hosts.size).toBeLessThanOrEqual(4);
  });

  it('hanging calls on every key, kept up: the family holds at most maxKeys members, and a new key still gets in', async () => {
    const { clock, hosts, registry } = setUp(3);
    const hangs: Array<{ resolve: (value: string) => void }> = [];
    const hang = () => {
      const d = deferred();
      hangs.push(d);
      return d.promise;
    };
    for (let second = 0; second < 3 * RECOVERY / 1_000; second++) {
      for (let i = 0; i < 3; i++) void settle(hosts.execute(attackerKey(i), hang));
      clock.advance(1_000);
    }
    expect(await admitted(hosts, 'legit.example')).toBe(false);
    clock.advance(RECOVERY);
    expect(await admitted(hosts, 'legit.example')).toBe(true);
    expect(hosts.size).toBe(3);
    expect([...registry.all()]).toHaveLength(3);
    for (const d of hangs) d.resolve('late');
    await flush();
  });
});

describe('property: whatever an adversary does, memory is bounded and a refused key is told the truth', () => {
  it('random fail / hang / succeed / repeat / go-quiet schedules', async () => {
    const fc = (await import('fast-check')).default;
    type Op = { kind: 'new' | 'again'; pick: number; outcome: 'fail' | 'hang' | 'ok' } | { kind: 'wait'; ms: number } | { kind: 'legit' };
    const op: import('fast-check').Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constantFrom('new' as const, 'again' as const), pick: fc.nat(), outcome: fc.constantFrom('fail' as const, 'hang' as const, 'ok' as const) }),
      fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 1, max: 90_000 }) }),
      fc.constant({ kind: 'legit' as const }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 80 }), fc.integer({ min: 1, max: 6 }), async (ops, maxKeys) => {
        const { clock, hosts, registry } = setUp(maxKeys);
        let next = 0;
        const hangs: Array<{ resolve: (value: string) => void }> = [];
        for (const step of ops) {
          if (step.kind === 'wait') clock.advance(step.ms);
          else if (step.kind === 'legit') {
            const key = `legit-${next++}`;
            const outcome = await settle(hosts.execute(key, succeed));
            if (!outcome.ok) {
              const error = (outcome as { error: CircuitFamilyFullError }).error;
              expect(CircuitFamilyFullError.isInstance(error)).toBe(true);
              expect(error.retryAt! - clock.now()).toBeLessThanOrEqual(RECOVERY);
              expect(error.retryAt! - clock.now()).toBeGreaterThan(0);
              clock.advance(error.retryAt! - clock.now());
              expect(await admitted(hosts, key), 'admitted at the retryAt it was given').toBe(true);
            }
          } else {
            const key = step.kind === 'new' ? attackerKey(next++) : attackerKey(step.pick % Math.max(1, next));
            const fn =
              step.outcome === 'fail' ? fail : step.outcome === 'ok' ? succeed : () => {
                const d = deferred();
                hangs.push(d);
                return d.promise;
              };
            void settle(hosts.execute(key, fn));
          }
          await flush();
          expect(hosts.size).toBeLessThanOrEqual(maxKeys);
          expect([...registry.all()].length).toBeLessThanOrEqual(maxKeys);
        }
        for (const d of hangs) d.resolve('late');
        await flush();
      }),
      { numRuns: 300 },
    );
  });
});

void (null as unknown as CircuitBreaker);

describe('ensure: a breaker handed out without counting a use', () => {
  it('a key ensured, then called once, is still a one-off: a flood of such keys pushes out only itself, never a regular', async () => {
    const { hosts, removed } = setUp(4);
    for (let round = 0; round < 2; round++) await hosts.execute('regular.example', succeed);
    for (let i = 0; i < 20; i++) {
      hosts.ensure(attackerKey(i)); // what an adapter does when it builds a client for a key
      await settle(hosts.execute(attackerKey(i), fail));
    }
    expect(removed).not.toContain('hosts/regular.example');
    expect(hosts.peek('regular.example')?.state).toBe('closed');
  });

  it('without ensure the same pattern (get, then one call) would make every key a regular', async () => {
    const { hosts, removed } = setUp(4);
    for (let round = 0; round < 2; round++) await hosts.execute('regular.example', succeed);
    for (let i = 0; i < 3; i++) {
      hosts.get(attackerKey(i));
      await settle(hosts.execute(attackerKey(i), fail));
    }
    // Four regulars, the attacker's three open (in use): the next key pushes out the one regular not in use.
    await settle(hosts.execute(attackerKey(99), succeed));
    expect(removed).toEqual(['hosts/regular.example']);
  });

  it('an existing member is returned untouched; a missing one is created', () => {
    const { hosts, clock } = setUp();
    const created = hosts.ensure('a.example');
    expect(hosts.peek('a.example')).toBe(created);
    clock.advance(1_000);
    expect(hosts.ensure('a.example')).toBe(created);
    expect(hosts.size).toBe(1);
  });
});
