import { CircuitBreaker, patchedOptions, type FamilyMembership, type ReconfigureReport } from './circuit-breaker.js';
import type { CallContext, ExecuteOptions } from './call-context.js';
import { CircuitFamilyFullError } from './errors.js';
import { differences, type CircuitBreakerOptions, type ResolvedOptions } from './options.js';
import { checkDurationMs, checkInteger, checkKnownKeys, describeValue } from './validate.js';

/** Bounds of a keyed family. */
/** A family's bounds when left out: 1000 members, retired after 10 idle minutes. */
export const FAMILY_DEFAULTS = Object.freeze({ maxKeys: 1000, idleTtlMs: 600_000 });

export interface FamilyOptions {
  /** Most breakers held at once (default 1000). */
  readonly maxKeys?: number;
  /** A member nobody has called for this long is retired, whatever its state (ms, default 600 000). */
  readonly idleTtlMs?: number;
}

/** A member's membership, with the last-use time only the family needs (readonly to everyone else). */
interface Membership extends FamilyMembership {
  lastUsed: number;
  /** Called more than once: someone keeps using this key (a key called once may be a scan). */
  repeated: boolean;
  /** Made by {@link CircuitBreakerFamily.ensure}, never called yet: its first call is its first use. */
  unused: boolean;
}

/** @internal How a family tells its registry about members. */
export interface FamilyHooks {
  added(breaker: CircuitBreaker): void;
  removed(breaker: CircuitBreaker): void;
}

/** What {@link CircuitBreakerFamily.reconfigure} did. */
export interface FamilyReconfigureReport {
  /** The options whose value changed. */
  readonly changed: readonly string[];
  /** Each member's report, by key. */
  readonly members: ReadonlyMap<string, ReconfigureReport>;
}

/**
 * One breaker per key — per peer agent, per DID host — created on demand with shared options.
 * Members are named `family/key`.
 *
 * Keys often come from outside (hosts with any port, peer ids), so the family must stay bounded in
 * memory and keep admitting new keys however an adversary picks, fails, hangs or abandons its keys:
 *
 * - **Idle retirement.** A member nobody has called for `idleTtlMs` is retired, whatever its state
 *   and even with calls still in flight (a hanging call is no use): open breakers nobody asks about
 *   do not stay forever.
 * - **Room under pressure.** At `maxKeys`, a new key takes the slot of another member, chosen so a
 *   flood of keys cannot push out the keys somebody keeps calling. A member is a *regular* once it
 *   has been called more than once, and *in use* while it is open, half-open or forced open, or has
 *   calls in flight, AND was called within the last `recoveryTimeoutMs` (an open member nobody called
 *   for a recovery timeout would be probing on its next call anyway). Evicted first: members called
 *   only once (not in use, then in use), then regulars not in use; within each, members with nothing
 *   in flight before busy ones, then the least recently used. A key called once that fails, hangs or
 *   is never called again therefore makes room for the next key, and a closed member loses nothing
 *   but its failure count.
 * - **A bounded wait.** Only when every member is a regular in use is a new key refused, with
 *   {@link CircuitFamilyFullError}, whose `retryAt` says when it will get a breaker: at most one
 *   `recoveryTimeoutMs` after the family first had to refuse. From then on, while that pressure lasts
 *   (until no key has needed it for a whole recovery timeout), regulars in use are evicted by the
 *   same order. So a member somebody still calls is never evicted in favour of keys nobody calls, and
 *   a new key gets a working breaker within one recovery timeout, even against an adversary that
 *   keeps calling all of its keys.
 *
 * A retired or evicted member is disposed: it leaves the registry (`onBreakerRemoved`), its calls
 * still in flight end as they would (their deadlines still fire) but their outcomes are stale and
 * change nothing, and a later call for its key gets a new breaker.
 */
export class CircuitBreakerFamily {
  readonly maxKeys: number;
  readonly idleTtlMs: number;
  private readonly members = new Map<string, CircuitBreaker>();
  private lastSweep: number;
  /** When every member first was a regular in use, in the current stretch of pressure, or undefined. */
  private pressureSince: number | undefined = undefined;
  /** The last time every member was a regular in use. */
  private pressureSeen = -Infinity;

  constructor(
    readonly name: string,
    /** Options every member shares (replaced by {@link CircuitBreakerFamily.reconfigure}). */
    readonly options: ResolvedOptions,
    familyOptions: FamilyOptions = {},
    private readonly hooks?: FamilyHooks,
  ) {
    if (typeof name !== 'string' || name.length === 0 || name.includes('/')) {
      throw new TypeError(`circuit breaker family name must be a non-empty string without "/"; got ${describeValue(name)}`);
    }
    if (typeof familyOptions !== 'object' || familyOptions === null) {
      throw new TypeError(`circuit breaker family options must be an object { maxKeys?, idleTtlMs? }; got ${describeValue(familyOptions)}`);
    }
    checkKnownKeys('circuit breaker family options', familyOptions, ['maxKeys', 'idleTtlMs']);
    // `undefined` means "not given"; null is refused like any other wrong value (checkInteger names it).
    this.maxKeys = checkInteger('maxKeys', familyOptions.maxKeys === undefined ? FAMILY_DEFAULTS.maxKeys : familyOptions.maxKeys, 1);
    this.idleTtlMs = checkDurationMs('idleTtlMs', familyOptions.idleTtlMs === undefined ? FAMILY_DEFAULTS.idleTtlMs : familyOptions.idleTtlMs, 1);
    this.lastSweep = options.clock.now();
  }

  /**
   * The breaker for `key`, created on first use. Throws `CircuitFamilyFullError` (with `retryAt`)
   * when the family holds `maxKeys` members that are all in use; see the class description.
   */
  get(key: string): CircuitBreaker {
    const now = this.options.clock.now();
    if (now - this.lastSweep >= this.idleTtlMs / 2) this.retireIdle(now);
    const existing = this.members.get(key);
    if (existing !== undefined) {
      const membership = existing.membership as Membership;
      membership.lastUsed = now;
      if (membership.unused) membership.unused = false;
      else membership.repeated = true;
      return existing;
    }
    if (typeof key !== 'string' || key.length === 0) {
      throw new TypeError(`circuit breaker family ${this.name}: key must be a non-empty string; got ${describeValue(key)}`);
    }
    if (this.members.size >= this.maxKeys) this.makeRoom(key, now);
    const membership: Membership = { family: this.name, key, lastUsed: now, repeated: false, unused: false };
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

  /**
   * The breaker for `key` without counting a use: an existing member is returned untouched, a missing
   * one is created (making room as {@link get} does) as if never called, so its first real call is its
   * first use. For handing a breaker out (an adapter's `breakerFor`) or checking room before the first
   * call: neither may turn a key called once into a regular, which would let a scan of one-off keys
   * push out the keys in regular use.
   */
  ensure(key: string): CircuitBreaker {
    const existing = this.members.get(key);
    if (existing !== undefined) return existing;
    const breaker = this.get(key);
    (breaker.membership as Membership).unused = true;
    return breaker;
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

  /**
   * Applies new options to every member and to members created later, without a restart; see
   * `CircuitBreaker.reconfigure` for what is kept and what is reset. Returns each member's report, by key.
   */
  reconfigure(options: CircuitBreakerOptions): FamilyReconfigureReport {
    const next = patchedOptions(this.options, options);
    const changed = Object.freeze(differences(this.options, next));
    (this as { options: ResolvedOptions }).options = next;
    const members = new Map<string, ReconfigureReport>();
    for (const [key, breaker] of this.members) members.set(key, breaker.applyOptions(next));
    return Object.freeze({ changed, members });
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

  /** Retires every member nobody has called for `idleTtlMs`. */
  private retireIdle(now: number): void {
    this.lastSweep = now;
    for (const [key, breaker] of this.members) {
      if (now - this.lastUseOf(breaker) >= this.idleTtlMs) this.retire(key, breaker);
    }
  }

  /**
   * Open, half-open or forced open, or with calls in flight, and called within the last recovery
   * timeout: somebody relies on this breaker's state right now.
   */
  private inUse(breaker: CircuitBreaker, now: number): boolean {
    if (now - this.lastUseOf(breaker) >= this.options.recoveryTimeoutMs) return false;
    if (breaker.inFlight > 0) return true;
    const state = breaker.storedState;
    return state === 'open' || state === 'half_open' || state === 'forced_open';
  }

  /** Frees one slot for `key`, or throws `CircuitFamilyFullError`. */
  private makeRoom(key: string, now: number): void {
    this.retireIdle(now);
    if (this.members.size < this.maxKeys) return;
    let victim = this.pickVictim(now, false);
    if (victim === undefined) {
      // Every member is a regular in use. Refuse for at most one recovery timeout from the first
      // refusal, then evict regulars in use too, by the same order, while the pressure lasts (it has
      // passed once no key needed this for a whole recovery timeout).
      const recovery = this.options.recoveryTimeoutMs;
      if (this.pressureSince === undefined || now - this.pressureSeen > recovery) this.pressureSince = now;
      this.pressureSeen = now;
      const graceEnds = this.pressureSince + recovery;
      if (now < graceEnds) throw new CircuitFamilyFullError(this.name, key, this.maxKeys, graceEnds, this.options.clock);
      victim = this.pickVictim(now, true)!;
    }
    this.retire(victim[0], victim[1]);
  }

  /**
   * The member to evict, by rank: called once and not in use, called once and in use, called
   * repeatedly and not in use, then (only with `includeRegularsInUse`) called repeatedly and in use;
   * within a rank, nothing in flight before busy, then least recently used.
   */
  private pickVictim(now: number, includeRegularsInUse: boolean): [string, CircuitBreaker] | undefined {
    let victim: [string, CircuitBreaker] | undefined;
    let bestRank = 4;
    let bestBusy = true;
    let bestLastUsed = Infinity;
    for (const entry of this.members) {
      const breaker = entry[1];
      const m = breaker.membership as Membership;
      const rank = (m.repeated ? 2 : 0) + (this.inUse(breaker, now) ? 1 : 0);
      if (rank === 3 && !includeRegularsInUse) continue;
      const busy = breaker.inFlight > 0;
      if (
        victim === undefined ||
        (rank !== bestRank ? rank < bestRank : busy !== bestBusy ? !busy : m.lastUsed < bestLastUsed)
      ) {
        victim = entry;
        bestRank = rank;
        bestBusy = busy;
        bestLastUsed = m.lastUsed;
      }
    }
    return victim;
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
