import type { AttachedBreakers } from './attached-breakers.js';
import type { BreakerLink } from './breaker-link.js';
import type { ConnectionHealth } from './connection-health.js';
import type { ScriptCommands } from './redis-clients.js';
import type { ResolvedStoreOptions } from './store-options.js';
import type { StoreCounters } from './store-stats.js';

/** What {@link FleetPermits} works with. */
export interface FleetPermitsParts {
  readonly scripts: ScriptCommands;
  readonly replicaId: string;
  readonly options: ResolvedStoreOptions;
  readonly attached: AttachedBreakers;
  readonly health: ConnectionHealth;
  readonly counters: StoreCounters;
}

/**
 * Half-open trial permits across replicas (ACQUIRE; release is a ZREM): at most `halfOpenMaxProbes` in
 * flight fleet-wide, each leased for `probeLeaseMs` so a crashed holder's lapses. When Redis is known
 * unreachable, or does not answer within `probeWaitMs`, the call goes ahead on the breaker's local permit.
 */
export class FleetPermits {
  private tokenSeq = 0;
  /** Per breaker, by generation, the tokens of the fleet permits it holds (a local fallback holds none). */
  private readonly held = new WeakMap<BreakerLink, Map<number, string[]>>();

  constructor(private readonly parts: FleetPermitsParts) {}

  acquire(link: BreakerLink, generation: number): Promise<boolean> {
    const { scripts, replicaId, options, attached, health, counters } = this.parts;
    const { halfOpenMaxProbes, probeLeaseMs, probeWaitMs } = options;
    if (health.unreachableFor(link)) {
      counters.probeFallbacks++;
      return Promise.resolve(true);
    }
    const token = `${replicaId}:${++this.tokenSeq}`;
    const { keys, binding } = link;
    return new Promise<boolean>((resolve) => {
      let answered = false;
      const timer = setTimeout(() => {
        answered = true;
        counters.probeFallbacks++;
        health.linkFailed(link, 'timeout', new Error(`no half-open permit answer from Redis within probeWaitMs (${probeWaitMs} ms)`));
        resolve(true);
      }, probeWaitMs);
      timer.unref();
      scripts
        .phlowAcquire(
          keys.state,
          keys.probes(generation),
          String(generation),
          token,
          String(halfOpenMaxProbes ?? binding.halfOpenMaxCalls),
          String(probeLeaseMs),
        )
        .then(
          (reply) => {
            health.answered(link);
            const granted = reply[0] === 'granted';
            if (answered) {
              // Too late: the call went ahead on its local permit. Hand this one back.
              if (granted) void scripts.zrem(keys.probes(generation), token).catch(() => undefined);
              return;
            }
            answered = true;
            clearTimeout(timer);
            if (granted) {
              counters.probesGranted++;
              this.hold(link, generation, token);
            } else {
              counters.probesDenied++;
              if (reply[0] === 'stale') attached.adopt(binding.name, reply.slice(1));
            }
            resolve(granted);
          },
          (error: unknown) => {
            health.commandFailed(link, error);
            if (answered) return;
            answered = true;
            clearTimeout(timer);
            counters.probeFallbacks++;
            resolve(true);
          },
        );
    });
  }

  /** Gives back the permit of a finished probe, if a fleet permit (not a local fallback) was held. */
  release(link: BreakerLink, generation: number): Promise<void> {
    const { scripts, health } = this.parts;
    const token = this.unhold(link, generation);
    if (token === undefined || health.status === 'closed') return Promise.resolve();
    return scripts.zrem(link.keys.probes(generation), token).then(
      () => health.answered(link),
      (error: unknown) => health.commandFailed(link, error), // the lease expires it anyway
    );
  }

  /** Gives back every permit the breaker holds (it is detached, or the store closes). */
  releaseAll(link: BreakerLink): Promise<void>[] {
    const releases: Promise<void>[] = [];
    const held = this.held.get(link);
    if (held === undefined) return releases;
    for (const generation of [...held.keys()]) {
      while (held.has(generation)) releases.push(this.release(link, generation));
    }
    return releases;
  }

  private hold(link: BreakerLink, generation: number, token: string): void {
    let held = this.held.get(link);
    if (held === undefined) this.held.set(link, (held = new Map()));
    const tokens = held.get(generation);
    if (tokens === undefined) held.set(generation, [token]);
    else tokens.push(token);
  }

  private unhold(link: BreakerLink, generation: number): string | undefined {
    const held = this.held.get(link);
    const tokens = held?.get(generation);
    if (tokens === undefined) return undefined;
    const token = tokens.pop();
    if (tokens.length === 0) held!.delete(generation);
    return token;
  }
}
