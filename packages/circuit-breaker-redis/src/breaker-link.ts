import type { CircuitSnapshot, StoreBinding, StoreConnection } from '@phlow/circuit-breaker';
import type { BreakerKeys } from './redis-keys.js';

/** What a link hands on to the store; each part of the store answers for its own. */
export interface LinkHost {
  /** A local transition: report it at once (in the background) so peers follow. */
  sync(link: BreakerLink, snapshot: CircuitSnapshot): Promise<void>;
  /** The link has counts to send with the next failure batch. */
  markDirty(link: BreakerLink): void;
  acquire(link: BreakerLink, generation: number): Promise<boolean>;
  release(link: BreakerLink, generation: number): Promise<void>;
  detach(link: BreakerLink): void;
}

/**
 * One attached breaker, bound to its keys in Redis: the hot-path side of the seam. Every method returns
 * at once; the counts it keeps wait here for the next failure batch.
 */
export class BreakerLink implements StoreConnection {
  pendingFailures = 0;
  pendingReset = false;
  pendingGeneration = -1;
  dirty = false;
  /** The closed generation in which this replica has a run of failures counted in Redis, or -1. */
  contributedGeneration = -1;
  disposed = false;

  constructor(
    readonly binding: StoreBinding,
    readonly keys: BreakerKeys,
    private readonly host: LinkHost,
  ) {}

  transitioned(snapshot: CircuitSnapshot): void {
    // Counts belonged to the period that just ended.
    this.pendingFailures = 0;
    this.pendingReset = false;
    this.contributedGeneration = -1;
    void this.host.sync(this, snapshot);
  }

  failureRecorded(): void {
    this.pendingFailures++;
    if (!this.dirty) this.host.markDirty(this);
  }

  successRecorded(): void {
    // The common case, a success with no failures of ours counted anywhere, costs two compares.
    if (this.contributedGeneration === -1 && this.pendingFailures === 0) return;
    this.pendingFailures = 0;
    this.pendingReset = true;
    if (!this.dirty) this.host.markDirty(this);
  }

  acquireProbe(generation: number): Promise<boolean> {
    return this.host.acquire(this, generation);
  }

  releaseProbe(generation: number): void {
    void this.host.release(this, generation);
  }

  dispose(): void {
    if (this.disposed) return;
    this.host.detach(this);
    this.disposed = true;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
