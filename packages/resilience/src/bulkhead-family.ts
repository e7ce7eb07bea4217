import { checkInteger, describeValue } from '@phlow/circuit-breaker/internal';
import { Bulkhead, type BulkheadOptions } from './bulkhead.js';
import { BulkheadRejectedError } from './errors.js';
import type { PolicyContext, PolicyExecuteOptions } from './policy.js';
import { checkOptionsObject } from './policy-options.js';

/** Options of {@link bulkheadFamily}: those of every member, and how many members it may hold. */
export interface BulkheadFamilyOptions extends Omit<BulkheadOptions, 'maxConcurrent'> {
  /** Calls each key may run at once (an integer >= 1). */
  readonly maxConcurrent: number;
  /** Members held at most (keys often come from outside: peers, hosts). Default 1000. */
  readonly maxKeys?: number | undefined;
}

/**
 * One bulkhead per key (per peer, per host), named `{name}/{key}`, created on first use. The family is
 * bounded like a breaker family: at `maxKeys`, a new key takes the place of the least recently used
 * member with nothing running or queued; when every member is busy, the new key's call is rejected
 * with `BulkheadRejectedError` (`policy` the new member's name, `reason: 'full'`). An idle member that
 * is evicted loses nothing: a bulkhead with no call has no state.
 *
 * A member handed out by {@link get} is kept (never evicted): code holding it (in a pipeline, say) would
 * otherwise keep calling a bulkhead the family no longer knows, while the family made a second one for
 * the same key — twice the key's limit. Hand out members of keys you chose; let keys from outside (peers,
 * hosts) go through {@link execute}, whose members make room for others when idle.
 */
export class BulkheadFamily {
  readonly name: string;
  readonly maxKeys: number;
  private readonly memberOptions: BulkheadOptions;
  /** In use order: the least recently used first (a Map keeps insertion order; a use re-inserts). */
  private readonly members = new Map<string, Bulkhead>();
  /** Members handed out by `get`: never evicted (see the class comment). */
  private readonly handedOut = new Set<Bulkhead>();

  constructor(options: BulkheadFamilyOptions) {
    const o = checkOptionsObject<BulkheadFamilyOptions>('bulkheadFamily', options, ['name', 'registry', 'clock', 'maxConcurrent', 'maxQueue', 'queueTimeoutMs', 'maxKeys'], true);
    const { maxKeys, name, ...member } = o;
    this.name = name ?? 'bulkhead';
    if (typeof this.name !== 'string' || this.name === '' || this.name.includes('/')) {
      throw new TypeError(`bulkheadFamily: name must be a non-empty string without "/" (it names members {name}/{key}); got ${describeValue(name)}`);
    }
    this.maxKeys = maxKeys === undefined ? 1000 : checkInteger('bulkheadFamily: maxKeys', maxKeys, 1);
    checkInteger('bulkheadFamily: maxConcurrent', o.maxConcurrent, 1);
    // Built once to check the members' options now, not at the first call.
    new Bulkhead({ ...member, name: `${this.name}/options` });
    this.memberOptions = member;
  }

  /** Members held now. */
  get size(): number {
    return this.members.size;
  }

  /**
   * The bulkhead of `key`, created (and room made) if needed, to hold (put in a pipeline): it stays in
   * the family for good. Undefined when the family is full and no member can make room.
   */
  get(key: string): Bulkhead | undefined {
    const member = this.member(key);
    if (member !== undefined) this.handedOut.add(member);
    return member;
  }

  /** The bulkhead of `key`, created (and room made) if needed; undefined when every member is busy or held. */
  private member(key: string): Bulkhead | undefined {
    if (typeof key !== 'string') throw new TypeError(`bulkheadFamily: key must be a string; got ${describeValue(key)}`);
    const existing = this.members.get(key);
    if (existing !== undefined) {
      this.members.delete(key);
      this.members.set(key, existing);
      return existing;
    }
    if (this.members.size >= this.maxKeys && !this.evictIdle()) return undefined;
    const created = new Bulkhead({ ...this.memberOptions, name: `${this.name}/${key}` });
    this.members.set(key, created);
    return created;
  }

  /** Runs `fn` in the bulkhead of `key`. */
  execute<T>(key: string, fn: (context: PolicyContext) => T | PromiseLike<T>, options?: PolicyExecuteOptions): Promise<T> {
    const member = this.member(key);
    if (member === undefined) {
      return Promise.reject(BulkheadRejectedError.create(`${this.name}/${key}`, 'full', 0, 0, this.memberOptions.maxConcurrent as number));
    }
    return member.execute(fn, options);
  }

  private evictIdle(): boolean {
    for (const [key, member] of this.members) {
      if (member.inFlight === 0 && member.queued === 0 && !this.handedOut.has(member)) {
        this.members.delete(key);
        return true;
      }
    }
    return false;
  }
}

/** A {@link BulkheadFamily}: one bulkhead per key. */
export function bulkheadFamily(options: BulkheadFamilyOptions): BulkheadFamily {
  return new BulkheadFamily(options);
}
