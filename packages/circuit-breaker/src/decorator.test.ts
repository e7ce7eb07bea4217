import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { getCircuitBreakerRegistry } from './registry.js';

/**
 * Vitest's transformer does not implement TC39 decorators, so the fixture is compiled by the real
 * TypeScript compiler — the same one users compile with — in both decorator modes.
 */
const fixture = (name: string) => `
import { circuitBreaker, CircuitBreakerRegistry } from ${JSON.stringify(pathToFileURL(fileURLToPath(new URL('./index.ts', import.meta.url))).href)};
export const registry = new CircuitBreakerRegistry({ logger: false, timeoutMs: 0 });
export class Agent {
  calls = 0;
  @circuitBreaker(${JSON.stringify(name)}, { failureThreshold: 2 }, registry)
  async queryDatabase(query: string) {
    this.calls++;
    if (query === 'bad') throw new Error('database down');
    return 'rows for ' + query;
  }
}
`;

async function load(experimentalDecorators: boolean) {
  const source = fixture(experimentalDecorators ? 'legacy' : 'standard');
  const output = ts.transpileModule(source, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, experimentalDecorators },
  }).outputText;
  const dir = mkdtempSync(join(tmpdir(), 'phlow-decorator-'));
  const file = join(dir, 'agent.mjs');
  writeFileSync(file, output);
  return (await import(/* @vite-ignore */ pathToFileURL(file).href)) as typeof import('./decorator-fixture.test-util.js');
}

describe('@circuitBreaker', () => {
  for (const experimental of [false, true]) {
    it(`protects a method (${experimental ? 'experimentalDecorators' : 'standard decorators'})`, async () => {
      const { Agent, registry } = await load(experimental);
      const agent = new Agent();
      expect(await agent.queryDatabase('agents')).toBe('rows for agents');
      await expect(agent.queryDatabase('bad')).rejects.toThrow('database down');
      await expect(agent.queryDatabase('bad')).rejects.toThrow('database down');
      await expect(agent.queryDatabase('agents')).rejects.toThrow(/Circuit breaker (legacy|standard) is open/);
      expect(agent.calls).toBe(3);
      const [name] = Object.keys(registry.getStats());
      expect(registry.getStats()[name!]).toMatchObject({ state: 'open', total_rejections: 1 });
    });
  }

  it('fails at class definition for bad options', async () => {
    const { circuitBreaker } = await import('./decorator.js');
    expect(() => circuitBreaker('bad-options', { failureThreshold: 0 })).toThrow('failureThreshold must be an integer >= 1');
    expect(getCircuitBreakerRegistry().get('bad-options')).toBeUndefined();
  });
});
