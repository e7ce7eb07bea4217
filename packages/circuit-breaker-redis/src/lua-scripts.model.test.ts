import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACQUIRE_SCRIPT, RECORD_SCRIPT, SYNC_SCRIPT } from './lua-scripts.js';
import { RedisServer } from './redis-server.test-util.js';

/**
 * The scripts against a model: random interleavings run on a real redis-server and in a few lines of
 * TypeScript that say what the scripts mean; replies and stored state must agree, and the replicas'
 * rule (adopt a snapshot only if its generation is newer) must make every replica converge.
 */
let server: RedisServer;
let redis: Redis & Scripts;
let run = 0;

interface Scripts {
  sync(...args: string[]): Promise<string[]>;
  record(...args: string[]): Promise<string[]>;
  acquire(...args: string[]): Promise<string[]>;
}

beforeAll(async () => {
  server = await RedisServer.start();
  redis = new Redis(server.url) as Redis & Scripts;
  redis.defineCommand('sync', { numberOfKeys: 2, lua: SYNC_SCRIPT });
  redis.defineCommand('record', { numberOfKeys: 2, lua: RECORD_SCRIPT });
  redis.defineCommand('acquire', { numberOfKeys: 2, lua: ACQUIRE_SCRIPT });
});
afterAll(async () => {
  redis.disconnect();
  await server.kill();
});

const STATES = ['closed', 'open', 'half_open', 'forced_open', 'disabled'] as const;
type Snap = { s: string; g: number };

/** What SYNC means. */
function modelSync(stored: Snap | undefined, proposed: Snap): { reply: string; stored: Snap; publish?: Snap } {
  if (stored === undefined || stored.g < proposed.g) return { reply: 'accepted', stored: proposed, publish: proposed };
  if (stored.g === proposed.g) {
    if (stored.s === proposed.s) return { reply: 'same', stored };
    const bumped = { s: stored.s, g: stored.g + 1 };
    return { reply: 'conflict', stored: bumped, publish: bumped };
  }
  return { reply: 'stale', stored };
}

const adopt = (local: Snap, remote: Snap): Snap => (remote.g > local.g ? { ...remote } : local);

type Op =
  | { kind: 'transition'; replica: number; to: (typeof STATES)[number] }
  | { kind: 'send'; replica: number } // the replica's oldest unsent SYNC reaches Redis
  | { kind: 'deliver'; replica: number } // its oldest pub/sub message arrives
  | { kind: 'drop'; replica: number }; // ... or is lost (a subscriber reconnect)

const REPLICAS = 3;
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('transition' as const), replica: fc.nat(REPLICAS - 1), to: fc.constantFrom(...STATES) }),
  fc.record({ kind: fc.constant('send' as const), replica: fc.nat(REPLICAS - 1) }),
  fc.record({ kind: fc.constant('deliver' as const), replica: fc.nat(REPLICAS - 1) }),
  fc.record({ kind: fc.constant('drop' as const), replica: fc.nat(REPLICAS - 1) }),
);

describe('store scripts vs model', () => {
  it('SYNC: replies match the model, the stored generation never goes back, and reconciling makes every replica agree', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 40 }), async (ops) => {
        const tag = `{m${++run}:b}`;
        const keys = [`${tag}:state`, `${tag}:failures`];
        let stored: Snap | undefined;
        const local: Snap[] = Array.from({ length: REPLICAS }, () => ({ s: 'closed', g: 0 }));
        const outbox: Snap[][] = local.map(() => []);
        const inbox: Snap[][] = local.map(() => []);

        const send = async (i: number, snap: Snap) => {
          const reply = await redis.sync(...keys, 'ch', 'b', snap.s, String(snap.g), '', '', '0', '60000');
          const expected = modelSync(stored, snap);
          expect(reply[0]).toBe(expected.reply);
          if (stored !== undefined) expect(expected.stored.g).toBeGreaterThanOrEqual(stored.g);
          stored = expected.stored;
          const real = await redis.hmget(keys[0]!, 's', 'g');
          expect({ s: real[0], g: Number(real[1]) }).toEqual(stored);
          if (expected.publish) for (const box of inbox) box.push(expected.publish);
          // The sender adopts what a stale or conflict reply carries.
          if (reply[0] === 'stale' || reply[0] === 'conflict') {
            const carried = { s: reply[1]!, g: Number(reply[2]) };
            expect(carried).toEqual(stored);
            local[i] = adopt(local[i]!, carried);
          }
        };

        for (const op of ops) {
          const i = op.replica;
          if (op.kind === 'transition') {
            local[i] = { s: op.to, g: local[i]!.g + 1 };
            outbox[i]!.push(local[i]!);
          } else if (op.kind === 'send') {
            const snap = outbox[i]!.shift();
            if (snap) await send(i, snap);
          } else if (op.kind === 'deliver') {
            const msg = inbox[i]!.shift();
            if (msg) local[i] = adopt(local[i]!, msg);
          } else {
            inbox[i]!.shift();
          }
        }
        // Redis back, everything sent; then reconcile rounds with pub/sub working.
        for (let i = 0; i < REPLICAS; i++) for (const snap of outbox[i]!.splice(0)) await send(i, snap);
        for (let round = 0; round < 3; round++) {
          for (let i = 0; i < REPLICAS; i++) {
            for (const msg of inbox[i]!.splice(0)) local[i] = adopt(local[i]!, msg);
            await send(i, local[i]!);
            for (let j = 0; j < REPLICAS; j++) for (const msg of inbox[j]!.splice(0)) local[j] = adopt(local[j]!, msg);
          }
        }
        for (const snap of local) expect(snap).toEqual(stored ?? { s: 'closed', g: 0 });
      }),
      { numRuns: 150 },
    );
  });

  it('RECORD: the fleet trips exactly when the sum of the replicas’ current runs reaches the threshold', async () => {
    const flushArb = fc.record({ replica: fc.nat(3), reset: fc.boolean(), add: fc.nat(3) });
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 8 }), fc.array(flushArb, { maxLength: 30 }), async (threshold, flushes) => {
        const tag = `{m${++run}:b}`;
        const keys = [`${tag}:state`, `${tag}:failures`];
        await redis.sync(...keys, 'ch', 'b', 'closed', '4', '', '', '0', '60000');
        const runs = new Map<number, number>();
        let tripped = false;
        for (const f of flushes) {
          const reply = await redis.record(...keys, 'ch', 'b', '4', `r${f.replica}`, f.reset ? '1' : '0', String(f.add), String(threshold), '60000', '60000');
          if (tripped) {
            // Counts for a period that has ended change nothing.
            expect(reply[0]).toBe('stale');
            expect(reply.slice(1, 3)).toEqual(['open', '5']);
            continue;
          }
          runs.set(f.replica, (f.reset ? 0 : runs.get(f.replica) ?? 0) + f.add);
          const total = [...runs.values()].reduce((a, b) => a + b, 0);
          if (total >= threshold) {
            expect(reply.slice(0, 3)).toEqual(['tripped', 'open', '5']);
            expect(await redis.exists(keys[1]!)).toBe(0);
            tripped = true;
          } else {
            expect(reply).toEqual(['counted', String(total)]);
          }
        }
      }),
      { numRuns: 150 },
    );
  });

  it('ACQUIRE: never more than max permits held, a release frees one, a newer generation in Redis denies', async () => {
    const stepArb = fc.oneof(
      fc.record({ kind: fc.constant('acquire' as const) }),
      fc.record({ kind: fc.constant('release' as const), which: fc.nat(10) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 4 }), fc.array(stepArb, { maxLength: 30 }), async (max, steps) => {
        const tag = `{m${++run}:b}`;
        const keys = [`${tag}:state`, `${tag}:probes:3`];
        await redis.sync(keys[0]!, `${tag}:failures`, 'ch', 'b', 'half_open', '3', '1', '', '0', '60000');
        const held: string[] = [];
        let seq = 0;
        for (const step of steps) {
          if (step.kind === 'acquire') {
            const token = `t${++seq}`;
            const reply = await redis.acquire(...keys, '3', token, String(max), '60000');
            expect(reply[0]).toBe(held.length < max ? 'granted' : 'denied');
            if (reply[0] === 'granted') held.push(token);
          } else if (held.length > 0) {
            const [token] = held.splice(step.which % held.length, 1);
            await redis.zrem(keys[1]!, token!);
          }
          expect(await redis.zcard(keys[1]!)).toBe(held.length);
        }
        // The fleet moved on (generation 4): a permit for 3 is refused, with the newer snapshot.
        await redis.sync(keys[0]!, `${tag}:failures`, 'ch', 'b', 'open', '4', '1', '2', '1', '60000');
        const stale = await redis.acquire(...keys, '3', 'late', String(max), '60000');
        expect(stale.slice(0, 3)).toEqual(['stale', 'open', '4']);
      }),
      { numRuns: 100 },
    );
  });
});
