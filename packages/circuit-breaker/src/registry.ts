import { CircuitBreaker, sharedOptions, type CircuitBreakerStats, type ReconfigureReport } from './circuit-breaker.js';
import type { StateChangeEvent } from './circuit-events.js';
import type { PolicyEvent } from './policy-events.js';
import { CircuitBreakerFamily, type FamilyOptions, type FamilyReconfigureReport } from './circuit-breaker-family.js';
import { Emitter, toDisposable, type Disposable, type DisposableLike, type Event } from './event.js';
import { withAdapterDefaults } from './adapter-defaults.js';
import { DEFAULTS, firstDifference, resolveOptions, type CircuitBreakerOptions, type ResolvedOptions } from './options.js';
import { describeValue } from './validate.js';

/**
 * Named breakers and keyed families, created on first use and shared by name — the guide's
 * `get_circuit_breaker_registry()`. Asking for an existing name with a different configuration throws
 * instead of silently returning the old breaker (the guide's "Configuration Not Applied" trap).
 *
 * One naming rule: `family/key` names a member of a keyed family and nothing else. A plain breaker's
 * name may not contain "/", and a family may not share its name with a plain breaker (either way
 * round), so every name in `getStats()`, `get()` and `resetBreaker()` means exactly one breaker.
 */
export class CircuitBreakerRegistry {
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly families = new Map<string, CircuitBreakerFamily>();
  private readonly added = new Emitter<CircuitBreaker>(() => {});
  private readonly removed = new Emitter<CircuitBreaker>(() => {});
  private readonly stateChanges = new Emitter<StateChangeEvent>(() => {});
  private readonly policyEvents = new Emitter<PolicyEvent>(() => {});
  /**
   * The options each name was created with. A later `getBreaker(name, options)` is checked against
   * them, not against options applied since by {@link reconfigure}: code that declares its breaker on
   * every call (the adapters do) keeps working after an operator retuned it.
   */
  private readonly declared = new Map<string, ResolvedOptions>();
  /** Each breaker's subscription feeding {@link onStateChange}, dropped when a family retires it. */
  private readonly relays = new Map<CircuitBreaker, Disposable>();

  /**
   * @param defaults options every breaker of this registry starts from (e.g. a logger or a clock);
   *   a breaker's own options override them.
   */
  constructor(private readonly defaults: CircuitBreakerOptions = {}) {
    resolveOptions(defaults); // validate now, not at the first getBreaker
  }

  /**
   * The breaker called `name`, created with `options` on first use. Without options an existing
   * breaker is returned as it is; with options they must match the existing breaker's.
   */
  getBreaker(name: string, options?: CircuitBreakerOptions): CircuitBreaker {
    const existing = this.breakers.get(name);
    if (existing !== undefined) {
      if (options !== undefined) this.checkSameConfig(`breaker ${JSON.stringify(name)}`, this.declared.get(name) ?? existing.options, options);
      return existing;
    }
    if (this.families.has(name)) {
      throw new TypeError(`circuit breaker name ${JSON.stringify(name)} is already used by a keyed family`);
    }
    const breaker = new CircuitBreaker(name, sharedOptions(this.withDefaults(options)));
    this.breakers.set(name, breaker);
    this.declared.set(name, breaker.options);
    this.adopt(breaker);
    return breaker;
  }

  /**
   * A keyed family: one breaker per key (per peer agent, per DID host), created on demand, bounded and
   * retired when idle. Same get-or-create and config check as {@link getBreaker}.
   */
  getFamily(name: string, options?: CircuitBreakerOptions, familyOptions?: FamilyOptions): CircuitBreakerFamily {
    const existing = this.families.get(name);
    if (existing !== undefined) {
      if (options !== undefined) this.checkSameConfig(`family ${JSON.stringify(name)}`, this.declared.get(name) ?? existing.options, options);
      if (familyOptions !== undefined) existing.checkSameFamilyOptions(familyOptions);
      return existing;
    }
    if (this.breakers.has(name)) {
      throw new TypeError(`circuit breaker family name ${JSON.stringify(name)} is already used by a breaker`);
    }
    const family = new CircuitBreakerFamily(name, sharedOptions(this.withDefaults(options)), familyOptions, {
      added: (breaker) => this.adopt(breaker),
      removed: (breaker) => {
        // A retired member may still settle calls that were in flight; nothing of it reaches us now.
        this.relays.get(breaker)?.dispose();
        this.relays.delete(breaker);
        this.removed.emit(breaker);
      },
    });
    this.families.set(name, family);
    this.declared.set(name, family.options);
    return family;
  }

  /**
   * The registry's defaults under a breaker's own options, by the adapters' rule: an option left out
   * (or `undefined`) takes the registry's default, and a failure policy of the breaker's replaces the
   * registry's (`failurePolicy` drops a default `failureThreshold` and the other way round).
   */
  private withDefaults(options: CircuitBreakerOptions | undefined): CircuitBreakerOptions {
    return withAdapterDefaults(this.defaults, options, 'options');
  }

  private checkSameConfig(what: string, existing: ResolvedOptions, options: CircuitBreakerOptions): void {
    const merged = this.withDefaults(options);
    const requested = resolveOptions(merged);
    const difference = firstDifference(existing, requested);
    if (difference === undefined) return;
    let option = difference;
    let had = describeValue(existing[difference as keyof ResolvedOptions]);
    let asked = describeValue(requested[difference as keyof ResolvedOptions]);
    if (difference === 'failurePolicy' && merged.failurePolicy === undefined) {
      // The caller said failureThreshold (or nothing): name that, not the policy it is short for.
      option = 'failureThreshold';
      const policy = existing.failurePolicy;
      had = policy.type === 'consecutive' ? String(policy.threshold) : `none (failurePolicy ${describeValue(policy)})`;
      asked = String(merged.failureThreshold ?? DEFAULTS.failureThreshold);
    }
    throw new TypeError(
      `circuit ${what} already exists with a different ${option} (existing: ${had}, requested: ${asked}); ` +
        'define its options once, or call getBreaker(name) without options to reuse it',
    );
  }

  private adopt(breaker: CircuitBreaker): void {
    this.relays.set(breaker, breaker.onStateChange((event) => this.stateChanges.emit(event)));
    this.added.emit(breaker);
  }

  /** The breaker called `name` (family members are `family/key`), if any. */
  get(name: string): CircuitBreaker | undefined {
    return this.breakers.get(name) ?? this.familyMember(name);
  }

  private familyMember(name: string): CircuitBreaker | undefined {
    const slash = name.indexOf('/');
    if (slash === -1) return undefined;
    return this.families.get(name.slice(0, slash))?.peek(name.slice(slash + 1));
  }

  /** Every breaker, family members included. */
  *all(): IterableIterator<CircuitBreaker> {
    yield* this.breakers.values();
    for (const family of this.families.values()) yield* family.breakers();
  }

  /** The keyed families. */
  allFamilies(): IterableIterator<CircuitBreakerFamily> {
    return this.families.values();
  }

  /** Stats of every breaker by name, in the guide's shape (`/health/circuit-breakers` serves this). */
  getStats(): Record<string, CircuitBreakerStats> {
    const stats: Record<string, CircuitBreakerStats> = {};
    for (const breaker of this.all()) stats[breaker.name] = breaker.getStats();
    return stats;
  }

  /** Closes the breaker called `name` (the guide's `reset_breaker`); false when there is none. */
  resetBreaker(name: string): boolean {
    const breaker = this.get(name);
    breaker?.reset();
    return breaker !== undefined;
  }

  /**
   * Applies new options to the breaker or keyed family called `name` without a restart (see
   * `CircuitBreaker.reconfigure`: what changes, what is kept, what is reset). A family's members are
   * reconfigured with it; a single member cannot be (members share their family's options). Later
   * `getBreaker(name, options)` calls are still checked against the options the name was created
   * with, so code declaring its breakers on every call keeps working. An option named with `undefined`
   * returns to this registry's default for it (what `getBreaker` would have given), else the core's.
   */
  reconfigure(name: string, options: CircuitBreakerOptions): ReconfigureReport | FamilyReconfigureReport {
    const breaker = this.breakers.get(name);
    if (breaker !== undefined) return breaker.reconfigure(this.defaultsFor(options));
    const family = this.families.get(name);
    if (family !== undefined) return family.reconfigure(this.defaultsFor(options));
    if (this.familyMember(name) !== undefined) {
      throw new TypeError(`reconfigure: ${JSON.stringify(name)} is a member of a keyed family; reconfigure the family ${JSON.stringify(name.slice(0, name.indexOf('/')))}`);
    }
    throw new TypeError(`reconfigure: no circuit breaker or family is called ${describeValue(name)}`);
  }

  /**
   * `patch` with every option named with `undefined` set to this registry's default for it: "back to
   * its default" means what `getBreaker` would have given the breaker, not the core's bare default. The
   * failure rule is one option here as in {@link withDefaults}: naming `failureThreshold` or
   * `failurePolicy` with `undefined` (and neither with a value) brings back the registry's rule.
   */
  private defaultsFor(patch: CircuitBreakerOptions): CircuitBreakerOptions {
    if (typeof patch !== 'object' || patch === null) return patch; // the core refuses it, naming it
    const defaults = this.defaults as Record<string, unknown>;
    const given = patch as Record<string, unknown>;
    const out: Record<string, unknown> = { ...given };
    for (const key of Object.keys(given)) {
      if (given[key] === undefined && key !== 'failureThreshold' && key !== 'failurePolicy' && Object.hasOwn(defaults, key) && defaults[key] !== undefined) out[key] = defaults[key];
    }
    const rule = ['failureThreshold', 'failurePolicy'].filter((key) => Object.hasOwn(given, key));
    if (rule.length > 0 && rule.every((key) => given[key] === undefined)) {
      delete out['failurePolicy'];
      delete out['failureThreshold'];
      if (Object.hasOwn(defaults, 'failurePolicy') && defaults['failurePolicy'] !== undefined) out['failurePolicy'] = defaults['failurePolicy'];
      else out['failureThreshold'] = Object.hasOwn(defaults, 'failureThreshold') ? defaults['failureThreshold'] : undefined; // undefined: the core's default
    }
    return out as CircuitBreakerOptions;
  }

  /** Closes every breaker. */
  resetAll(): void {
    for (const breaker of this.all()) breaker.reset();
  }

  /** A breaker was created (family members too). */
  get onBreakerAdded(): Event<CircuitBreaker> {
    return this.added.event;
  }

  /** A family retired a member (idle, or evicted to make room; see `CircuitBreakerFamily`). */
  get onBreakerRemoved(): Event<CircuitBreaker> {
    return this.removed.event;
  }

  /** Every state change of every breaker, including breakers created later. */
  get onStateChange(): Event<StateChangeEvent> {
    return this.stateChanges.event;
  }

  /**
   * What resilience policies built on this registry report (retries, fallbacks, bulkheads, …): how
   * telemetry sees them without importing the package that implements them.
   */
  get onPolicyEvent(): Event<PolicyEvent> {
    return this.policyEvents.event;
  }

  /**
   * Whether anyone listens to {@link onPolicyEvent}: a policy checks it before building an event, so
   * an unobserved policy pays nothing for its telemetry.
   */
  get policyEventsObserved(): boolean {
    return this.policyEvents.size > 0;
  }

  /**
   * Reports a policy's event to {@link onPolicyEvent}'s listeners. For policy implementations; a
   * listener that throws is ignored, so telemetry never breaks a call.
   */
  reportPolicyEvent(event: PolicyEvent): void {
    this.policyEvents.emit(event);
  }

  /**
   * Calls `attach` for every breaker now and every breaker created later; what it returns is disposed
   * when the breaker is retired or the observation disposed. How telemetry instruments a registry.
   * `attach` may return any `{ dispose() }` (it needs no `Symbol.dispose`); the observation returned
   * works with `using` too.
   */
  observe(attach: (breaker: CircuitBreaker) => DisposableLike | void): Disposable {
    const attached = new Map<CircuitBreaker, DisposableLike | void>();
    const add = (breaker: CircuitBreaker) => {
      if (!attached.has(breaker)) attached.set(breaker, attach(breaker));
    };
    for (const breaker of this.all()) add(breaker);
    const onAdd = this.added.event(add);
    const onRemove = this.removed.event((breaker) => {
      attached.get(breaker)?.dispose();
      attached.delete(breaker);
    });
    return toDisposable(() => {
      onAdd.dispose();
      onRemove.dispose();
      for (const subscription of attached.values()) subscription?.dispose();
      attached.clear();
    });
  }
}

/**
 * Where the process-wide registry lives: a `Symbol.for` slot on `globalThis`, as `@opentelemetry/api`
 * keeps its globals, so two copies of this package in one install (an app's and a library's, or an ESM
 * and a bundled copy) hand out the same registry and telemetry watching it sees every breaker. A
 * module-level variable would give each copy its own registry, and an instrumentation would silently
 * see nothing of the other copy's breakers.
 */
const REGISTRY_SLOT = Symbol.for('@phlow/circuit-breaker.registry');

/**
 * The contract copies share through the slot: the registry's public methods and events. Bumped when a
 * copy could no longer use another copy's registry; copies with the same number share it.
 */
const REGISTRY_SLOT_VERSION = 1;

interface RegistrySlot {
  readonly version: number;
  readonly registry: CircuitBreakerRegistry;
}

/** This copy's own registry, used only when the slot holds an incompatible copy's. */
let incompatibleFallback: CircuitBreakerRegistry | undefined;

/**
 * The process-wide registry (the guide's `get_circuit_breaker_registry()`), shared by every copy of
 * `@phlow/circuit-breaker` loaded in the process.
 *
 * A copy whose registry contract differs from the one that created the shared registry (see
 * `REGISTRY_SLOT_VERSION`) does not use it — calling methods it does not have would fail at the first
 * breaker — and, like `@opentelemetry/api` meeting another major version, says so once (a process
 * warning, `PHLOW_REGISTRY_VERSION`) and goes on with a registry of its own: its breakers work, but
 * telemetry attached to the shared registry does not see them. Deduplicate the package to fix it.
 */
export function getCircuitBreakerRegistry(): CircuitBreakerRegistry {
  const global = globalThis as { [REGISTRY_SLOT]?: RegistrySlot };
  const slot = global[REGISTRY_SLOT];
  if (slot === undefined) {
    const registry = new CircuitBreakerRegistry();
    Object.defineProperty(global, REGISTRY_SLOT, {
      value: Object.freeze({ version: REGISTRY_SLOT_VERSION, registry }),
      configurable: true, // a test may clear it; nothing else writes it
      enumerable: false,
      writable: false,
    });
    return registry;
  }
  // Something else in the process may have put anything there: use it only if it is what a copy of this
  // package stores (an object with our contract number and a registry that looks like one).
  const usable = typeof slot === 'object' && slot !== null && typeof slot.registry?.getBreaker === 'function' && typeof slot.registry?.observe === 'function';
  if (usable && slot.version === REGISTRY_SLOT_VERSION) return slot.registry;
  if (incompatibleFallback === undefined) {
    incompatibleFallback = new CircuitBreakerRegistry();
    warnOnce(
      usable
        ? `@phlow/circuit-breaker: the process-wide circuit breaker registry was created by a copy of this package ` +
            `with registry contract ${describeValue(slot.version)}, this copy has ${REGISTRY_SLOT_VERSION}; this copy uses a ` +
            'registry of its own, so telemetry attached to the shared one does not see its breakers. Install one version.'
        : `@phlow/circuit-breaker: the process-wide registry slot holds ${describeValue(slot)}, not a registry of this package; ` +
            'this copy uses a registry of its own, so telemetry attached to the shared one does not see its breakers.',
    );
  }
  return incompatibleFallback;
}

function warnOnce(message: string): void {
  // The core runs on Node, Bun and Deno with no imports: process.emitWarning where it exists.
  const proc = (globalThis as { process?: { emitWarning?: (message: string, options: { code: string }) => void } }).process;
  if (typeof proc?.emitWarning === 'function') proc.emitWarning(message, { code: 'PHLOW_REGISTRY_VERSION' });
  else console.warn(message);
}
