import type { AttachedBreakers } from './attached-breakers.js';
import type { BreakerLink } from './breaker-link.js';
import type { ConnectionHealth } from './connection-health.js';
import type { FleetTransitions } from './fleet-transitions.js';
import type { ScriptCommands } from './redis-clients.js';
import type { ResolvedStoreOptions } from './store-options.js';
import type { StoreCounters } from './store-stats.js';

/** What {@link FailureBatches} works with. */
export interface FailureBatchesParts {
  readonly scripts: ScriptCommands;
  readonly channel: string;
  readonly replicaId: string;
  readonly options: ResolvedStoreOptions;
  readonly attached: AttachedBreakers;
  readonly transitions: FleetTransitions;
  readonly health: ConnectionHealth;
  readonly counters: StoreCounters;
}

/**
 * Fleet-wide failure counting: each breaker's failures (and the success that ends a run) are batched
 * and sent every `flushIntervalMs` (RECORD), which opens the breaker for the whole fleet once the
 * replicas' runs together reach its threshold. No call waits for it.
 */
export class FailureBatches {
  private dirty: BreakerLink[] = [];
  private flushTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  private flushing = false;

  constructor(private readonly parts: FailureBatchesParts) {}

  /** The link has counts to send: they go with the next batch. */
  markDirty(link: BreakerLink): void {
    if (this.parts.health.status === 'closed') return;
    link.dirty = true;
    link.pendingGeneration = link.binding.snapshot().generation;
    this.dirty.push(link);
    if (this.flushTimer === undefined) this.armFlush();
  }

  /** Drops the batch not sent yet (the local policy counted it) and stops flushing. */
  stop(): void {
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.dirty = [];
  }

  private armFlush(): void {
    this.flushTimer = setTimeout(() => this.flush(), this.parts.options.flushIntervalMs);
    this.flushTimer.unref();
  }

  private flush(): void {
    this.flushTimer = undefined;
    if (this.parts.health.status === 'closed') return;
    if (this.flushing) {
      // One batch in flight at a time: a slow Redis accumulates counts instead of commands.
      this.armFlush();
      return;
    }
    const batch = this.dirty;
    this.dirty = [];
    const pending: Promise<void>[] = [];
    for (const link of batch) {
      link.dirty = false;
      const add = link.pendingFailures;
      const reset = link.pendingReset;
      const generation = link.pendingGeneration;
      link.pendingFailures = 0;
      link.pendingReset = false;
      if (link.disposed) continue;
      pending.push(this.record(link, generation, reset, add));
    }
    this.flushing = true;
    void Promise.all(pending).then(() => {
      this.flushing = false;
    });
  }

  private record(link: BreakerLink, generation: number, reset: boolean, add: number): Promise<void> {
    const { scripts, channel, replicaId, options, attached, transitions, health, counters } = this.parts;
    const { keys, binding } = link;
    counters.failureFlushes++;
    return scripts
      .phlowRecord(
        keys.state,
        keys.failures,
        channel,
        binding.name,
        String(generation),
        replicaId,
        reset ? '1' : '0',
        String(add),
        String(binding.threshold),
        String(options.failureWindowMs),
        String(options.stateTtlMs),
      )
      .then(
        (reply) => {
          health.answered(link);
          switch (reply[0]) {
            case 'counted':
              if (add > 0) link.contributedGeneration = generation;
              else if (reset) link.contributedGeneration = -1;
              break;
            case 'tripped': {
              counters.fleetTrips++;
              attached.adopt(binding.name, reply.slice(1));
              // The script could not know the recovery timeout; now that this replica adopted the
              // open state with its own retryAt, store it for replicas that join later.
              const snapshot = binding.snapshot();
              if (snapshot.state === 'open' && String(snapshot.generation) === reply[2]) void transitions.sync(link, snapshot);
              break;
            }
            case 'stale':
              attached.adopt(binding.name, reply.slice(1));
              break;
          }
        },
        (error: unknown) => health.commandFailed(link, error), // the local policy still counts these failures
      );
  }
}
