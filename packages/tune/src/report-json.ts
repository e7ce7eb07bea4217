import type { TuneReport } from './tune.js';

/** The reports as JSON (what `phlow-tune` writes to `report.json`). */
export function renderJson(reports: readonly TuneReport[]): string {
  if (reports.length === 0) return JSON.stringify({ format: 'phlow-tune/1', breakers: [] }, null, 2) + '\n';
  return JSON_HEAD + reports.map(jsonEntry).join(',\n') + JSON_TAIL;
}

/** @internal What precedes the first report: the same text `JSON.stringify(…, null, 2)` writes. */
export const JSON_HEAD = '{\n  "format": "phlow-tune/1",\n  "breakers": [\n';

/** @internal What follows the last report. */
export const JSON_TAIL = '\n  ]\n}\n';

/** @internal One report as an entry of the `breakers` array, indented as in the whole document. */
export function jsonEntry(report: TuneReport): string {
  // JSON strings hold no raw newline, so every newline here is layout.
  return '    ' + JSON.stringify(report, null, 2).replaceAll('\n', '\n    ');
}
