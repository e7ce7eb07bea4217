import type { CircuitSnapshot } from './circuit-state.js';
import type { Disposable } from './event.js';
import type { CircuitStateStore, StoreBinding, StoreConnection } from './state-store.js';

/**
 * Shares state between breakers of the same name inside one process — e.g. several registries (one
 * per tenant or worker) guarding the same dependency. A reference implementation of the store seam:
 * transitions reach every other breaker of that name at once, and half-open permits are granted across
 * all of them (`halfOpenMaxCalls` in total, not per breaker). Failure counts stay local: each breaker
 * decides to open by itself and the others follow.
 */
export class InMemoryStateStore implements CircuitStateStore {
  private readonly groups = new Map<string, Set<StoreBinding>>();
  private readonly permits = new Map<string, { generation: number; taken: number }>();

  constructor(private readonly maxProbes = 1) {}

  /** Attaches `binding`; the connection detaches it on `dispose()` or at the end of a `using` scope. */
  connect(binding: StoreBinding): StoreConnection & Disposable {
    let group = this.groups.get(binding.name);
    if (group === undefined) this.groups.set(binding.name, (group = new Set()));
    // A newcomer adopts the state its peers are in.
    for (const peer of group) binding.applyRemote(peer.snapshot());
    group.add(binding);
    const peers = group;
    const dispose = () => {
      peers.delete(binding);
      if (peers.size === 0) {
        this.groups.delete(binding.name);
        this.permits.delete(binding.name);
      }
    };
    return {
      transitioned: (snapshot: CircuitSnapshot) => {
        for (const peer of peers) if (peer !== binding) peer.applyRemote(snapshot);
      },
      acquireProbe: async (generation: number) => {
        const current = this.permits.get(binding.name);
        if (current === undefined || current.generation !== generation) {
          this.permits.set(binding.name, { generation, taken: 1 });
          return true;
        }
        if (current.taken >= this.maxProbes) return false;
        current.taken++;
        return true;
      },
      releaseProbe: (generation: number) => {
        const current = this.permits.get(binding.name);
        if (current !== undefined && current.generation === generation && current.taken > 0) current.taken--;
      },
      dispose,
      [Symbol.dispose]: dispose,
    };
  }
}
