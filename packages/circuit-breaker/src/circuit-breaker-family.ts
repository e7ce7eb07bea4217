import { CircuitBreaker, type FamilyMembership } from './circuit-breaker.js';
import type { CallContext, ExecuteOptions } from './call-context.js';
import { CircuitFamilyFullError } from './errors.js';
import type { ResolvedOptions } from './options.js';
import { checkDurationMs, checkInteger, checkKnownKeys, describeValue } from './validate.js';

/** Bounds of a keyed family. */
export interface FamilyOptions {
  /** Most breakers held at once (default 1000). */
  readonly maxKeys?: number;
  /** A closed, idle breaker unused for this long is retired (ms, default 600 000). */
  readonly idleTtlMs?: number;
}

/** A member's membership, with the last-use time only the family needs (readonly to everyone else). */
interface Membership extends FamilyMembership {
  lastUsed: number;
}

/** @internal How a family tells its registry about members. */
export interface FamilyHooks {
  added(breaker: CircuitBreaker): void;
  removed(breaker: CircuitBreaker): void;
}

/**
 * One breaker per key — per peer agent, per DID host — created on demand with shared options.
 * Members are named `family/key`. The family stays bounded: closed, idle members are retired after
 * `idleTtlMs`, and at `maxKeys` the least recently used closed, idle member makes room. An open,
 * half-open or busy member is never retired: when only such members are left, a new key is refused
 * with {@link CircuitFamilyFullError} rather than silently dropping a breaker's protection.
 */
export class CircuitBreakerFamily {
  readonly maxKeys: number;
  readonly idleTtlMs: number;
  private readonly members = new Map<string, CircuitBreaker>();
  private lastSweep: number;

  constructor(
    readonly name: string,
    /** Options every member shares. */
    readonly options: ResolvedOptions,
    familyOptions: FamilyOptions = {},
    private readonly hooks?: FamilyHooks,
  ) {
    if (typeof name !== 'string' || name.length === 0 || name.includes('/')) {
      throw new TypeError(`circuit breaker family name must be a non-empty string without "/"; got ${describeValue(name)}`);
    }
    checkKnownKeys('circuit breaker family options', familyOptions, ['maxKeys', 'idleTtlMs']);
    this.maxKeys = checkInteger('maxKeys', familyOptions.maxKeys ?? 1000, 1);
    this.idleTtlMs = checkDurationMs('idleTtlMs', familyOptions.idleTtlMs ?? 600_000, 1);
    this.lastSweep = options.clock.now();
  }

  /** The breaker for `key`, created on first use. Throws `CircuitFamilyFullError` when the family is full of open breakers. */
  get(key: string): CircuitBreaker {
    const now = this.options.clock.now();
    if (now - this.lastSweep >= this.idleTtlMs / 2) this.retireIdle(now);
    const existing = this.members.get(key);
    if (existing !== undefined) {
      (existing.membership as Membership).lastUsed = now;
      return existing;
    }
    if (typeof key !== 'string' || key.length === 0) {
      throw new TypeError(`circuit breaker family ${this.name}: key must be a non-empty string; got ${describeValue(key)}`);
    }
    if (this.members.size >= this.maxKeys && !this.makeRoom(now)) {
      throw new CircuitFamilyFullError(this.name, key, this.maxKeys);
    }
    const membership: Membership = { family: this.name, key, lastUsed: now };
    const breaker = new CircuitBreaker(`${this.name}/${key}`, this.options, membership);
    this.members.set(key, breaker);
    this.hooks?.added(breaker);
    return breaker;
  }

  /** Runs `fn` through the breaker for `key`. */
  execute<T>(key: string, fn: (context: CallContext) => T | PromiseLike<T>, options?: ExecuteOptions): Promise<T> {
    let breaker: CircuitBreaker;
    try {
      breaker = this.get(key);
    } catch (error) {
      return Promise.reject(error);
    }
    return breaker.execute(fn, options);
  }

  /** The breaker for `key` if it exists, without creating or touching it. */
  peek(key: string): CircuitBreaker | undefined {
    return this.members.get(key);
  }

  /** Members now held. */
  get size(): number {
    return this.members.size;
  }

  breakers(): IterableIterator<CircuitBreaker> {
    return this.members.values();
  }

  /** @internal Registry's config check for a second `getFamily` with family options. */
  checkSameFamilyOptions(options: FamilyOptions): void {
    const other = new CircuitBreakerFamily(this.name, this.options, options);
    for (const key of ['maxKeys', 'idleTtlMs'] as const) {
      if (other[key] !== this[key]) {
        throw new TypeError(
          `circuit breaker family ${JSON.stringify(this.name)} already exists with a different ${key} (existing: ${this[key]}, requested: ${other[key]})`,
        );
      }
    }
  }

  private static retirable(breaker: CircuitBreaker): boolean {
    return breaker.inFlight === 0 && breaker.toJSON().state === 'closed';
  }

  /** Retires every closed, idle member unused for `idleTtlMs`. */
  private retireIdle(now: number): void {
    this.lastSweep = now;
    for (const [key, breaker] of this.members) {
      if (now - this.lastUseOf(breaker) >= this.idleTtlMs && CircuitBreakerFamily.retirable(breaker)) this.retire(key, breaker);
    }
  }

  /** Frees one slot by retiring the least recently used retirable member; false if none can go. */
  private makeRoom(now: number): boolean {
    this.retireIdle(now);
    if (this.members.size < this.maxKeys) return true;
    let victim: [string, CircuitBreaker] | undefined;
    for (const entry of this.members) {
      if (CircuitBreakerFamily.retirable(entry[1]) && (victim === undefined || this.lastUseOf(entry[1]) < this.lastUseOf(victim[1]))) {
        victim = entry;
      }
    }
    if (victim === undefined) return false;
    this.retire(victim[0], victim[1]);
    return true;
  }

  private lastUseOf(breaker: CircuitBreaker): number {
    return (breaker.membership as Membership).lastUsed;
  }

  private retire(key: string, breaker: CircuitBreaker): void {
    this.members.delete(key);
    breaker.dispose();
    this.hooks?.removed(breaker);
  }
}
