import { CIRCUIT_STATES, type CircuitSnapshot, type CircuitState } from '@phlow/circuit-breaker';

/** A snapshot as the scripts take it: state, generation, openedAt, retryAt, failedProbes ('' = null). */
export function snapshotArgs(snapshot: CircuitSnapshot): [string, string, string, string, string] {
  return [
    snapshot.state,
    String(snapshot.generation),
    snapshot.openedAt === null ? '' : String(Math.round(snapshot.openedAt)),
    snapshot.retryAt === null ? '' : String(Math.round(snapshot.retryAt)),
    String(snapshot.failedProbes),
  ];
}

/** Reads the five snapshot fields a script reply or a pub/sub message carries; undefined if malformed. */
export function decodeSnapshot(fields: readonly unknown[]): CircuitSnapshot | undefined {
  const [state, generation, openedAt, retryAt, failedProbes] = fields;
  if (!CIRCUIT_STATES.includes(state as CircuitState)) return undefined;
  const g = Number(generation);
  const f = Number(failedProbes);
  const o = optionalNumber(openedAt);
  const r = optionalNumber(retryAt);
  if (!Number.isSafeInteger(g) || g < 0 || !Number.isSafeInteger(f) || f < 0 || o === undefined || r === undefined) {
    return undefined;
  }
  return { state: state as CircuitState, generation: g, openedAt: o, retryAt: r, failedProbes: f };
}

function optionalNumber(value: unknown): number | null | undefined {
  if (value === '' || value === null || value === undefined) return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

/** A transition message: "state,generation,openedAt,retryAt,failedProbes,name" (the name may hold commas). */
export function decodeMessage(message: string): { name: string; snapshot: CircuitSnapshot } | undefined {
  const parts: string[] = [];
  let from = 0;
  for (let i = 0; i < 5; i++) {
    const comma = message.indexOf(',', from);
    if (comma === -1) return undefined;
    parts.push(message.slice(from, comma));
    from = comma + 1;
  }
  const snapshot = decodeSnapshot(parts);
  return snapshot === undefined ? undefined : { name: message.slice(from), snapshot };
}
