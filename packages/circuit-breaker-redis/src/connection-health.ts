import type { Event } from '@phlow/circuit-breaker';
import { Emitter } from '@phlow/circuit-breaker/internal';
import type { BreakerLink } from './breaker-link.js';
import type { DegradationReason, StoreDegradedEvent, StoreRecoveredEvent } from './store-events.js';
import type { StoreCounters } from './store-stats.js';

/**
 * `connecting` until Redis first answers; `ready` while it does; `degraded` while it is down or slow, or
 * (on a cluster) while the slot of any attached breaker is unreachable — those breakers run on local
 * state; `closed` after `RedisStateStore.close()`.
 */
export type StoreStatus = 'connecting' | 'ready' | 'degraded' | 'closed';

/** What the health asks of the rest of the store. */
export interface HealthHooks {
  /** Whether the commands connection is connected right now. */
  commandsConnected(): boolean;
  /** Sends this breaker's snapshot again: the re-check of a breaker whose commands failed. */
  recheck(link: BreakerLink): void;
  /** Checks every attached breaker against Redis. */
  reconcile(): void;
  /** The status just became `ready`. */
  becameReady(): void;
}

/**
 * Where the store stands with Redis, from the connection's events and from each breaker's commands:
 * degraded once (one event) when the connection drops or a breaker's command fails, ready again (one
 * event) once the connection is up and every failing breaker has been answered.
 */
export class ConnectionHealth {
  private statusValue: StoreStatus = 'connecting';
  private degradedAt = 0;
  /** The commands connection is down as a whole (a single Redis gone; every cluster node gone). */
  private connectionDown = false;
  /**
   * Breakers whose last command failed or timed out. On a cluster, one slot's primary can be down while
   * the others answer: the store stays degraded until each of these has been answered again, instead of
   * flapping back to ready on the first answer from a healthy slot.
   */
  private readonly failing = new Set<BreakerLink>();
  private retryTimer: ReturnType<typeof setTimeout> | undefined = undefined;

  // A broken metrics hook must not break the store: listener errors are dropped.
  private readonly degradedEvents = new Emitter<StoreDegradedEvent>(() => {});
  private readonly recoveredEvents = new Emitter<StoreRecoveredEvent>(() => {});

  /** @param recheckEveryMs how often breakers whose commands fail are re-checked while the connection is up. */
  constructor(
    private readonly recheckEveryMs: number,
    private readonly counters: StoreCounters,
    private readonly hooks: HealthHooks,
  ) {}

  get status(): StoreStatus {
    return this.statusValue;
  }

  get onDegraded(): Event<StoreDegradedEvent> {
    return this.degradedEvents.event;
  }

  get onRecovered(): Event<StoreRecoveredEvent> {
    return this.recoveredEvents.event;
  }

  /**
   * Known unreachable for this breaker (Redis down, or its cluster slot failing over): not worth asking.
   * A breaker whose slot answers is still reachable while another slot keeps the store degraded.
   */
  unreachableFor(link: BreakerLink): boolean {
    return this.statusValue === 'connecting' || this.statusValue === 'closed' || this.connectionDown || this.failing.has(link);
  }

  connectionUp(): void {
    this.connectionDown = false;
    if (this.statusValue === 'closed') return;
    // Breakers whose commands failed while the connection was down are answered by this round.
    if (this.failing.size > 0) this.hooks.reconcile();
    this.update();
  }

  connectionLost(error: unknown): void {
    this.connectionDown = true;
    this.degrade('connection_lost', error);
  }

  /** Redis answered a command of this breaker's (so the connection works, whatever its last event said). */
  answered(link: BreakerLink): void {
    this.connectionDown = false;
    this.failing.delete(link);
    this.update();
  }

  commandFailed(link: BreakerLink, error: unknown): void {
    this.counters.commandFailures++;
    this.linkFailed(link, 'command_failed', error);
  }

  linkFailed(link: BreakerLink, reason: DegradationReason, error: unknown): void {
    if (this.statusValue === 'closed') return;
    if (!link.disposed) this.failing.add(link);
    this.degrade(reason, error);
    this.armRecheck();
  }

  /** A detached breaker no longer holds the store degraded. */
  forget(link: BreakerLink): void {
    if (this.failing.delete(link)) this.update();
  }

  /** Stops the re-checks; the status is `closed` from now on. Answers whether it was `ready`. */
  close(): boolean {
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.failing.clear();
    const wasReady = this.statusValue === 'ready';
    this.statusValue = 'closed';
    return wasReady;
  }

  /**
   * While the connection is up but some breakers' commands fail (a cluster slot failing over, a hung
   * Redis), re-check just those every min(commandTimeoutMs, reconcileIntervalMs): the first answer after a
   * failover is noticed within that, not at the next full reconcile. A connection that is down as a
   * whole is retried by the client's reconnect instead, and its 'ready' reconciles everything.
   */
  private armRecheck(): void {
    if (this.retryTimer !== undefined) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.statusValue === 'closed' || this.failing.size === 0 || this.connectionDown) return;
      for (const link of this.failing) this.hooks.recheck(link);
      this.armRecheck();
    }, this.recheckEveryMs);
    this.retryTimer.unref();
  }

  private update(): void {
    if (this.statusValue === 'ready' || this.statusValue === 'closed') return;
    if (this.connectionDown || this.failing.size > 0 || !this.hooks.commandsConnected()) return;
    const wasDegraded = this.statusValue === 'degraded';
    this.statusValue = 'ready';
    if (wasDegraded && this.recoveredEvents.size) {
      const at = Date.now();
      this.recoveredEvents.emit({ at, degradedForMs: at - this.degradedAt });
    }
    this.hooks.becameReady();
    this.hooks.reconcile();
  }

  private degrade(reason: DegradationReason, error: unknown): void {
    if (this.statusValue === 'degraded' || this.statusValue === 'closed') return;
    this.statusValue = 'degraded';
    this.degradedAt = Date.now();
    this.counters.degradations++;
    if (this.degradedEvents.size) this.degradedEvents.emit({ reason, error, at: this.degradedAt });
  }
}
