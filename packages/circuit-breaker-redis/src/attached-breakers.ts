import type { CircuitSnapshot } from '@phlow/circuit-breaker';
import type { BreakerLink } from './breaker-link.js';
import { decodeSnapshot } from './snapshot-codec.js';

/**
 * The breakers attached to one store, grouped by name: a process may run several breakers of one name
 * (several registries), and a fleet snapshot of that name goes to each of them.
 */
export class AttachedBreakers implements Iterable<BreakerLink> {
  private readonly groups = new Map<string, Set<BreakerLink>>();

  add(link: BreakerLink): void {
    let group = this.groups.get(link.binding.name);
    if (group === undefined) this.groups.set(link.binding.name, (group = new Set()));
    group.add(link);
  }

  remove(link: BreakerLink): void {
    const group = this.groups.get(link.binding.name);
    if (group === undefined) return;
    group.delete(link);
    if (group.size === 0) this.groups.delete(link.binding.name);
  }

  has(name: string): boolean {
    return this.groups.has(name);
  }

  get size(): number {
    let size = 0;
    for (const group of this.groups.values()) size += group.size;
    return size;
  }

  *[Symbol.iterator](): Iterator<BreakerLink> {
    for (const group of this.groups.values()) yield* group;
  }

  clear(): void {
    this.groups.clear();
  }

  /** Pushes a fleet snapshot, as a script replied it, into every local breaker of that name. */
  adopt(name: string, fields: readonly unknown[]): void {
    const snapshot = decodeSnapshot(fields);
    if (snapshot !== undefined) this.apply(name, snapshot);
  }

  /** Every local breaker of that name takes the snapshot, or ignores it unless its generation is newer. */
  apply(name: string, snapshot: CircuitSnapshot): void {
    const group = this.groups.get(name);
    if (group === undefined) return;
    for (const link of group) {
      try {
        link.binding.applyRemote(snapshot);
      } catch {
        // A malformed snapshot is dropped; reconcile will bring a good one.
      }
    }
  }
}
