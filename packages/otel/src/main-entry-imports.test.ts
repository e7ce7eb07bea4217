import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const srcDir = dirname(fileURLToPath(import.meta.url));

/** Every module the main entry loads at run time (type-only imports are erased), with what each imports. */
async function runtimeImports(entry: string): Promise<Map<string, string[]>> {
  const graph = new Map<string, string[]>();
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (graph.has(file)) continue;
    const source = ts.createSourceFile(file, await readFile(file, 'utf8'), ts.ScriptTarget.Latest);
    const specifiers: string[] = [];
    for (const statement of source.statements) {
      if ((ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) && statement.moduleSpecifier !== undefined) {
        const typeOnly = ts.isImportDeclaration(statement) ? statement.importClause?.isTypeOnly === true : statement.isTypeOnly;
        if (!typeOnly) specifiers.push((statement.moduleSpecifier as ts.StringLiteral).text);
      }
    }
    graph.set(file, specifiers);
    for (const specifier of specifiers) if (specifier.startsWith('.')) pending.push(join(dirname(file), specifier.replace(/\.js$/, '.ts')));
  }
  return graph;
}

describe('the @phlow/otel main entry', () => {
  it('loads only @opentelemetry/api and the core at run time: no SDK, no sdk-node, no @opentelemetry/instrumentation', async () => {
    const graph = await runtimeImports(join(srcDir, 'index.ts'));
    expect([...graph.keys()].map((file) => file.slice(srcDir.length + 1))).toContain('circuit-breaker-instrumentation.ts');
    const packages = new Set([...graph.values()].flat().filter((specifier) => !specifier.startsWith('.')));
    expect([...packages].sort()).toEqual(['@opentelemetry/api', '@opentelemetry/semantic-conventions', '@phlow/circuit-breaker', '@phlow/circuit-breaker/internal']);
  });
});
