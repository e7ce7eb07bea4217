/**
 * The shipped Grafana dashboard checked against Grafana's published schema: @grafana/schema, the npm
 * package Grafana generates from its own CUE schema. It ships TypeScript types only (no JSON Schema, no
 * CUE), so the check is the TypeScript compiler: the dashboard's JSON, pasted as an object literal, must
 * `satisfies` the `Dashboard` type, and each panel's `options` and `fieldConfig.defaults.custom` the
 * types of its panel plugin (state-timeline, timeseries, stat). `satisfies` on a literal also rejects
 * keys the types do not know.
 *
 * Not checked, because the package has no type for them: the Prometheus query fields of a target
 * (`expr`, `legendFormat`, … — typed below from Grafana's Prometheus data source; its own types live in
 * @grafana/prometheus, which pulls in React), and what a panel plugin accepts in `fieldConfig.overrides`.
 * That every query runs is grafana-dashboard.test.ts's job.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const DASHBOARD = fileURLToPath(new URL('../../packages/otel/deploy/grafana/phlow-circuit-breakers.json', import.meta.url));
const TSCONFIG = fileURLToPath(new URL('../tsconfig.json', import.meta.url));
/** Virtual sources sit beside this file, so `@grafana/schema` resolves from test/node_modules. */
const HERE = fileURLToPath(new URL('.', import.meta.url));

const PANEL_TYPES = '@grafana/schema/dist/esm/raw/composable';

/** The types a dashboard literal must satisfy; `checked` is the dashboard's JSON text. */
function source(checked: string): string {
  return `
import type { DataQuery, Dashboard, FieldConfigSource, Panel } from '@grafana/schema';
import type * as StateTimeline from '${PANEL_TYPES}/statetimeline/panelcfg/x/StateTimelinePanelCfg_types.gen';
import type * as Stat from '${PANEL_TYPES}/stat/panelcfg/x/StatPanelCfg_types.gen';
import type * as TimeSeries from '${PANEL_TYPES}/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen';

/**
 * A value as it reads in JSON: Grafana's types use TypeScript enums (\`VisibilityMode.Auto\`) where the
 * JSON holds their values ("auto"); a string enum becomes the union of its values, nothing else changes.
 */
type Json<T> = T extends string
  ? \`\${T}\`
  : T extends number | boolean | null | undefined
    ? T
    : T extends ReadonlyArray<infer U>
      ? Array<Json<U>>
      : T extends object
        ? { [K in keyof T]: Json<T[K]> }
        : T;

/** A Prometheus target, as Grafana's Prometheus data source saves it. */
interface PrometheusTarget extends DataQuery {
  expr: string;
  legendFormat?: string;
  range?: boolean;
  instant?: boolean;
  editorMode?: 'code' | 'builder';
  format?: 'time_series' | 'table' | 'heatmap';
  interval?: string;
}

type TypedPanel<Type extends string, Options, Custom> = Omit<Json<Panel>, 'type' | 'options' | 'fieldConfig' | 'targets'> & {
  type: Type;
  options: Json<Options>;
  fieldConfig: Json<FieldConfigSource<Custom>>;
  targets: Array<Json<PrometheusTarget>>;
};

type PhlowDashboard = Omit<Json<Dashboard>, 'panels'> & {
  panels: Array<
    | TypedPanel<'state-timeline', StateTimeline.Options, StateTimeline.FieldConfig>
    | TypedPanel<'timeseries', TimeSeries.Options, TimeSeries.FieldConfig>
    | TypedPanel<'stat', Stat.Options, never>
  >;
};

export const asDashboard = (${checked}) satisfies Json<Dashboard>;
export const asPanels = (${checked}) satisfies PhlowDashboard;
`;
}

/** Type-checks each variant (name → dashboard JSON) in one program; returns each one's error messages. */
function typecheck(variants: Record<string, unknown>): Record<string, string[]> {
  const config = ts.getParsedCommandLineOfConfigFile(TSCONFIG, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n')); } })!;
  const files = new Map(Object.entries(variants).map(([name, json]) => [`${HERE}grafana-check-${name}.ts`, source(JSON.stringify(json, null, 2))]));
  const host = ts.createCompilerHost(config.options);
  const { getSourceFile, fileExists, readFile: read } = host;
  host.getSourceFile = (fileName, language, ...rest) => {
    const text = files.get(fileName);
    return text === undefined ? getSourceFile.call(host, fileName, language, ...rest) : ts.createSourceFile(fileName, text, language);
  };
  host.fileExists = (fileName) => files.has(fileName) || fileExists.call(host, fileName);
  host.readFile = (fileName) => files.get(fileName) ?? read.call(host, fileName);
  const program = ts.createProgram({ rootNames: [...files.keys()], options: { ...config.options, noEmit: true }, host });
  const result: Record<string, string[]> = {};
  for (const [name] of Object.entries(variants)) {
    const file = program.getSourceFile(`${HERE}grafana-check-${name}.ts`)!;
    result[name] = [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)].map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  }
  return result;
}

type PanelJson = { type: string; gridPos: Record<string, unknown>; options: Record<string, unknown>; fieldConfig: { defaults: Record<string, unknown> } };

/** A copy of the dashboard with one change made to it. */
function broken(dashboard: unknown, change: (copy: { panels: PanelJson[] } & Record<string, unknown>) => void): unknown {
  const copy = structuredClone(dashboard) as { panels: PanelJson[] } & Record<string, unknown>;
  change(copy);
  return copy;
}

describe('the Grafana dashboard against @grafana/schema', () => {
  it('type-checks as a Dashboard, each panel as its plugin; a broken copy does not', { timeout: 120_000 }, async () => {
    const dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as { panels: PanelJson[] };
    const types = new Set(dashboard.panels.map((panel) => panel.type));
    expect([...types].sort()).toEqual(['stat', 'state-timeline', 'timeseries']);

    const timeline = dashboard.panels.findIndex((panel) => panel.type === 'state-timeline');
    const timeseries = dashboard.panels.findIndex((panel) => panel.type === 'timeseries');
    const errors = typecheck({
      shipped: dashboard,
      gridPosString: broken(dashboard, (d) => (d.panels[0]!.gridPos['h'] = '8')),
      panelTypeNumber: broken(dashboard, (d) => ((d.panels[0] as unknown as { type: number }).type = 7)),
      unknownShowValue: broken(dashboard, (d) => (d.panels[timeline]!.options['showValue'] = 'sometimes')),
      lineWidthString: broken(dashboard, (d) => ((d.panels[timeseries]!.fieldConfig.defaults['custom'] as Record<string, unknown>)['lineWidth'] = 'thin')),
      unknownTopLevelKey: broken(dashboard, (d) => (d['refreshEvery'] = '10s')),
      schemaVersionMissing: broken(dashboard, (d) => delete d['schemaVersion']),
    });
    expect(errors['shipped']).toEqual([]);
    for (const [name, messages] of Object.entries(errors)) if (name !== 'shipped') expect(messages, name).not.toEqual([]);
    expect(errors['gridPosString']!.join('\n')).toMatch(/'string' is not assignable to type 'number'/);
    expect(errors['unknownShowValue']!.join('\n')).toMatch(/"sometimes"/);
    expect(errors['lineWidthString']!.join('\n')).toMatch(/lineWidth|'string' is not assignable to type 'number'/);
    expect(errors['unknownTopLevelKey']!.join('\n')).toMatch(/refreshEvery/);
    expect(errors['schemaVersionMissing']!.join('\n')).toMatch(/schemaVersion/);
  });
});
