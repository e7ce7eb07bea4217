import type { TuneReport } from './tune.js';

/** The reports as JSON (what `phlow-tune` writes to `report.json`). */
export function renderJson(reports: readonly TuneReport[]): string {
  return JSON.stringify({ format: 'phlow-tune/1', breakers: reports }, null, 2) + '\n';
}
