import { generateScenario, type Scenario } from './scenarios.js';

/**
 * A standard hard outage at the recording's own call rate: 10 minutes healthy, 10 min 37.1 s down
 * (not a multiple of any usual recovery timeout, so the recovery delay shows how long each one makes
 * the dependency wait), then healthy. Every configuration is replayed on it too, so its sensitivity (calls and time to
 * open) is known even when the recording holds no outage; ties are broken toward the more sensitive.
 */
export function referenceOutage(rateHz: number): Scenario {
  const minutes = 60_000;
  return generateScenario({
    name: 'reference-outage',
    seed: 1,
    rateHz: Math.min(1_000, Math.max(0.05, rateHz)),
    durationMs: 30 * minutes,
    sporadicErrorRate: 0,
    incidents: [{ type: 'outage', at: 10 * minutes, durationMs: 10 * minutes + 37_100 }],
  });
}
