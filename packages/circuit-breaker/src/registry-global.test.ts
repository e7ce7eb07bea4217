import { cp, mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CircuitBreaker } from './circuit-breaker.js';
import { getCircuitBreakerRegistry } from './registry.js';

type Core = typeof import('./index.js');
const SLOT = Symbol.for('@phlow/circuit-breaker.registry');
const packageRoot = fileURLToPath(new URL('..', import.meta.url));
const temps: string[] = [];

/** A physical copy of the published files (dist, src, package.json) in its own folder, imported by file URL. */
async function loadCopy(): Promise<Core> {
  if (!existsSync(join(packageRoot, 'dist/index.js'))) {
    throw new Error('dist/index.js missing: build @phlow/circuit-breaker first (turbo run build --filter=@phlow/circuit-breaker)');
  }
  const dir = await mkdtemp(join(tmpdir(), 'phlow-core-copy-'));
  temps.push(dir);
  await cp(join(packageRoot, 'dist'), join(dir, 'dist'), { recursive: true });
  await cp(join(packageRoot, 'src'), join(dir, 'src'), { recursive: true }); // the source maps point there
  await cp(join(packageRoot, 'package.json'), join(dir, 'package.json'));
  return (await import(pathToFileURL(join(dir, 'dist/index.js')).href)) as Core;
}

afterEach(async () => {
  vi.restoreAllMocks();
  for (const dir of temps.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('the process-wide registry across copies of the package', () => {
  it('is one registry for two physical copies and the sources: a breaker made through one is seen through the other', async () => {
    const first = await loadCopy();
    const second = await loadCopy();
    expect(first.getCircuitBreakerRegistry).not.toBe(second.getCircuitBreakerRegistry); // really two copies
    const seen: string[] = [];
    using _observation = first.getCircuitBreakerRegistry().observe((breaker: CircuitBreaker) => void seen.push(breaker.name));
    const made = second.getCircuitBreakerRegistry().getBreaker('made-by-second-copy');
    expect(seen).toContain('made-by-second-copy');
    expect(first.getCircuitBreakerRegistry().get('made-by-second-copy')).toBe(made);
    expect(getCircuitBreakerRegistry()).toBe(second.getCircuitBreakerRegistry());
  });

  it('a copy meeting an incompatible registry contract warns once and keeps a registry of its own', async () => {
    const global = globalThis as Record<symbol, unknown>;
    const saved = Object.getOwnPropertyDescriptor(global, SLOT);
    const foreign = { version: 999, registry: { getBreaker: () => 'not ours', observe: () => ({ dispose() {} }) } };
    Object.defineProperty(global, SLOT, { value: foreign, configurable: true });
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      const copy = await loadCopy();
      const registry = copy.getCircuitBreakerRegistry();
      expect(registry).not.toBe(foreign.registry);
      expect(registry.getBreaker('own').name).toBe('own');
      expect(copy.getCircuitBreakerRegistry()).toBe(registry);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]?.[0])).toMatch(/registry contract 999, this copy has 1/);
      expect(warn.mock.calls[0]?.[1]).toEqual({ code: 'PHLOW_REGISTRY_VERSION' });
    } finally {
      delete global[SLOT];
      if (saved !== undefined) Object.defineProperty(global, SLOT, saved);
    }
  });

  it.each([
    ['null', null],
    ['a number', 42],
    ['our contract number with no registry', { version: 1, registry: undefined }],
    ['our contract number with something else as the registry', { version: 1, registry: { getBreaker: 'no' } }],
  ])('a slot holding %s (put there by other code) is not used: a registry of its own, and one warning', async (_, garbage) => {
    const global = globalThis as Record<symbol, unknown>;
    const saved = Object.getOwnPropertyDescriptor(global, SLOT);
    Object.defineProperty(global, SLOT, { value: garbage, configurable: true });
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      const copy = await loadCopy();
      const registry = copy.getCircuitBreakerRegistry();
      expect(registry.getBreaker('own').name).toBe('own');
      expect(copy.getCircuitBreakerRegistry()).toBe(registry);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]?.[0])).toMatch(/registry slot holds .*not a registry of this package/);
    } finally {
      delete global[SLOT];
      if (saved !== undefined) Object.defineProperty(global, SLOT, saved);
    }
  });
});
