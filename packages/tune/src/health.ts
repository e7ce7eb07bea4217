import type { ReplayTraffic } from './imputation.js';
import { OUTCOME_CODE, type HealthTruth, type Outage } from './traffic.js';

/** Most buckets an inference allocates (two 4-byte counters each). */
const MAX_BUCKETS = 10_000_000;

/**
 * Reads the dependency's outages off a recording (an estimate: the truth is not in a recording).
 * Time is cut into buckets holding about 10 calls each (at least 1 s); a bucket is down when at least
 * half of its counted calls failed (imputed outcomes included). A run of down buckets, allowing one
 * healthy bucket inside, with at least `minFailures` failures is an outage, from its first failing call
 * to the first success after its last failure — the dependency's recovery. Buckets widen past 1 min
 * only when the recording spans more than 10 M minutes.
 */
export function inferOutages(input: ReplayTraffic, minFailures = 5): HealthTruth {
  const { start } = input.traffic;
  const { outcome } = input;
  const n = start.length;
  if (n === 0) return { kind: 'inferred', outages: [] };
  const span = Math.max(1, start[n - 1]! - start[0]!);
  // A few calls spread over centuries would make billions of empty buckets: past MAX_BUCKETS they widen.
  const bucketMs = Math.max(Math.min(60_000, Math.max(1_000, (10 * span) / n)), span / MAX_BUCKETS);
  const t0 = start[0]!;
  const buckets = Math.floor(span / bucketMs) + 1;
  const failures = new Uint32Array(buckets);
  const counted = new Uint32Array(buckets);
  for (let i = 0; i < n; i++) {
    const code = outcome[i]!;
    if (code === OUTCOME_CODE.ignored) continue;
    const b = Math.floor((start[i]! - t0) / bucketMs);
    counted[b]!++;
    if (code === OUTCOME_CODE.failure) failures[b]!++;
  }
  const down = (b: number) => counted[b]! > 0 && failures[b]! * 2 >= counted[b]!;
  const outages: Outage[] = [];
  let i = 0;
  for (let b = 0; b < buckets; ) {
    if (!down(b)) {
      b++;
      continue;
    }
    let last = b;
    let failed = 0;
    let e = b;
    while (e < buckets && (down(e) || (e + 1 < buckets && down(e + 1)))) {
      if (down(e)) last = e;
      failed += failures[e]!;
      e++;
    }
    if (failed >= minFailures) {
      const from = t0 + b * bucketMs;
      const to = t0 + (last + 1) * bucketMs;
      while (i < n && (start[i]! < from || outcome[i] !== OUTCOME_CODE.failure)) i++;
      const outageStart = i < n ? start[i]! : from;
      let lastFailure = i;
      for (let j = i; j < n && start[j]! < to; j++) if (outcome[j] === OUTCOME_CODE.failure) lastFailure = j;
      let recovery = lastFailure + 1;
      while (recovery < n && outcome[recovery] !== OUTCOME_CODE.success) recovery++;
      const outageEnd = recovery < n ? start[recovery]! : start[n - 1]! + 1;
      outages.push({ start: outageStart, end: outageEnd });
      i = recovery;
    }
    b = e + 1;
  }
  return { kind: 'inferred', outages };
}
