import type { ConfigMetrics } from './metrics.js';
import type { Timeline } from './timeline.js';
import { costEstimated, fmtMs, type ConfigResult, type TuneReport } from './tune.js';

/**
 * A self-contained HTML report (no script, no external resource): the recommendation and its reasons,
 * a table of every configuration (Pareto front marked, estimates marked `~`), and per configuration an
 * SVG timeline of the dependency's health against the breaker's state.
 */
export function renderHtml(reports: readonly TuneReport[]): string {
  return `${htmlHead()}${reports.map(htmlSection).join('\n')}${HTML_TAIL}`;
}

/** @internal The report's head, up to its first section (the CLI writes a report breaker by breaker). */
export function htmlHead(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>phlow-tune report</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1b1f24;max-width:1280px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px}
table{border-collapse:collapse;font-variant-numeric:tabular-nums;width:100%}
th,td{border-bottom:1px solid #d8dee4;padding:4px 6px;text-align:right;white-space:nowrap}
th:first-child,td:first-child,th:nth-child(2),td:nth-child(2){text-align:left;white-space:normal}
tr.recommended{background:#e6f4ea;font-weight:600}tr.defaults{background:#fff4e5}
.est{color:#8250df}.note{color:#57606a}
.timelines{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:12px;margin-top:12px}
figure{margin:0;border:1px solid #d8dee4;padding:6px}figcaption{font-size:12px;margin-bottom:4px}
.legend span{display:inline-block;width:12px;height:12px;vertical-align:middle;margin:0 4px 0 12px}
</style></head><body>
<h1>phlow-tune report</h1>
<p class="note">Each configuration was replayed through the real <code>CircuitBreaker</code> on a manual clock. Figures marked
<span class="est">~</span> are estimates: they depend on outcomes imputed for calls the recording breaker refused, or on outages
read off the recording. Figures on generated scenarios are exact. ★ marks the Pareto front.</p>
`;
}

/** @internal What follows the last section. */
export const HTML_TAIL = `
</body></html>
`;

/** @internal One breaker's section. */
export function htmlSection(report: TuneReport): string {
  const best = report.results[report.recommended]!;
  return `<section class="breaker" data-breaker="${esc(report.breaker)}">
<h2>Breaker ${esc(report.breaker)}</h2>
<p>${report.calls.toLocaleString('en')} calls from ${esc(iso(report.from))} to ${esc(iso(report.to))}; ${report.imputedCalls.toLocaleString('en')} refused by the recording breaker (outcomes imputed);
${report.health.outages.length} outage(s), ${report.health.kind === 'exact' ? 'known exactly (generated)' : 'read off the recording (estimated)'}.</p>
<p class="recommendation"><strong>Recommended: ${esc(best.candidate.label)}</strong> <code>${esc(JSON.stringify(best.candidate.options))}</code></p>
<ul>${report.reasons.map((r) => `<li>${esc(r)}</li>`).join('')}</ul>
<table><thead><tr><th>★</th><th>configuration</th><th>time to open</th><th>calls to open</th><th>outages opened</th><th>calls to dead dependency</th>
<th>healthy calls refused</th><th>false trips / day</th><th>flaps / hour</th><th>recovery → closed</th><th>reference: calls to open</th><th>cost</th></tr></thead>
<tbody>${report.results.map((r, i) => row(r, i, report)).join('\n')}</tbody></table>
<p class="legend note">Timelines: <span style="background:#cf222e"></span>dependency down <span style="background:#2da44e"></span>dependency up
<span style="background:#0969da"></span>breaker open or half-open</p>
<div class="timelines">${report.results.map((r, i) => figure(r, i, report)).join('\n')}</div>
</section>`;
}

function row(r: ConfigResult, i: number, report: TuneReport): string {
  const m = r.metrics;
  const cls = i === report.recommended ? 'recommended' : i === report.defaults ? 'defaults' : '';
  const cell = (key: keyof ConfigMetrics, text: string) => (m.estimated.includes(key) ? `<td class="est">~${esc(text)}</td>` : `<td>${esc(text)}</td>`);
  return `<tr class="${cls}"><td>${r.pareto ? '★' : ''}</td><td>${esc(r.candidate.label)}${i === report.recommended ? ' (recommended)' : ''}${i === report.defaults ? ' (defaults)' : ''}</td>
${cell('meanTimeToOpenMs', fmtMs(m.meanTimeToOpenMs))}${cell('meanCallsToOpen', num(m.meanCallsToOpen))}${cell('outagesOpened', `${m.outagesOpened}/${m.outages}`)}
${cell('deadCalls', num(m.deadCalls))}${cell('healthyRefused', num(m.healthyRefused))}${cell('falseTripsPerDay', num(m.falseTripsPerDay))}
${cell('flapsPerHour', num(m.flapsPerHour))}${cell('meanRecoveryDelayMs', fmtMs(m.meanRecoveryDelayMs))}<td>${esc(num(r.reference.callsToOpen))}</td>${costCell(r)}</tr>`;
}

/** The cost sums dead calls, refused calls and flaps: an estimate when any of them is. */
function costCell(r: ConfigResult): string {
  return costEstimated(r.metrics) ? `<td class="est">~${esc(num(r.cost))}</td>` : `<td>${esc(num(r.cost))}</td>`;
}

function figure(r: ConfigResult, i: number, report: TuneReport): string {
  const tag = i === report.recommended ? ' — recommended' : i === report.defaults ? ' — guide defaults' : '';
  return `<figure data-config="${i}"><figcaption>${r.pareto ? '★ ' : ''}${esc(r.candidate.label)}${tag}</figcaption>${svg(r.timeline)}</figure>`;
}

/** Two rows per chart: the dependency (red where down) and the breaker (blue where not closed), with a time axis. */
export function svg(timeline: Timeline): string {
  const columns = timeline.down.length;
  const width = 560;
  const x = (c: number) => ((c * width) / columns).toFixed(1);
  const runs = (values: readonly number[], y: number, color: (v: number) => string) => {
    const parts: string[] = [];
    for (let c = 0; c < columns; ) {
      let e = c + 1;
      while (e < columns && values[e] === values[c]) e++;
      parts.push(`<rect x="${x(c)}" y="${y}" width="${(Number(x(e)) - Number(x(c))).toFixed(1)}" height="18" fill="${color(values[c]!)}"/>`);
      c = e;
    }
    return parts.join('');
  };
  const health = runs(timeline.down, 14, (v) => (v === 0 ? '#2da44e' : v === 100 ? '#cf222e' : mix('#2da44e', '#cf222e', v)));
  const state = runs(timeline.open, 40, (v) => (v === 0 ? '#eaeef2' : v === 100 ? '#0969da' : mix('#eaeef2', '#0969da', v)));
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => {
      const t = timeline.from + f * (timeline.to - timeline.from);
      const anchor = f === 0 ? 'start' : f === 1 ? 'end' : 'middle';
      return `<text x="${(f * width).toFixed(0)}" y="72" font-size="10" text-anchor="${anchor}">${esc(clock(t))}</text>`;
    })
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} 76" width="${width}" height="76" role="img" aria-label="dependency health and breaker state over time">
<text x="0" y="10" font-size="10">dependency</text>${health}<text x="0" y="37" font-size="10">breaker</text>${state}${ticks}</svg>`;
}

function mix(a: string, b: string, percent: number): string {
  // Any share at all must show: a 1 % open column is drawn at least a third of the way to the full colour.
  const f = Math.max(0.35, percent / 100);
  const channel = (i: number) => Math.round(parseInt(a.slice(i, i + 2), 16) * (1 - f) + parseInt(b.slice(i, i + 2), 16) * f);
  return `rgb(${channel(1)},${channel(3)},${channel(5)})`;
}

function clock(t: number): string {
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString().slice(11, 19);
}

function iso(t: number): string {
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? String(t) : d.toISOString();
}

function num(value: number | null): string {
  return value === null ? 'n/a' : Number.isInteger(value) ? value.toLocaleString('en') : (Math.round(value * 100) / 100).toLocaleString('en');
}

/** Escapes text for HTML content and attribute values: labels and names come from files a user was handed. */
export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
