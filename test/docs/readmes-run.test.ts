import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AGENTS_SQL, freePorts } from '@phlow/test-helpers';
import { A2aPeer, SupabaseStandIn, generateLoopbackCertificate } from '@phlow/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readmeBlocks, type ReadmeBlock } from './readme-blocks.js';
import { runBlock } from './run-block.js';

// The README examples that can run here do: against the testkit's stand-ins (Supabase, A2A peers), a
// redis-server of our own, and the files they read (schema.sql, certs/localhost.pem) in their working
// directory. The others reach hosts on the internet or in a private network, and are only compiled
// (readmes-compile.test.ts); each is listed here with the reason.
const COMPILED_ONLY: Record<string, string> = {
  'packages/circuit-breaker/README.md#1': 'calls https://api.example.com',
  'packages/a2a/README.md#3': 'connects to agents.internal.example',
  'packages/circuit-breaker-redis/README.md#3': 'needs a Redis Cluster at 10.0.0.11-12',
  'packages/did-resolver/README.md#1': 'resolves did:web:agents.example.com over the internet',
  'packages/otel/README.md#5': 'fetches https://profiles.example.com',
  'packages/resilience/README.md#2': 'calls a service at 127.0.0.1:8080 (run with one by packages/resilience/src/readme-examples.test.ts)',
};

const root = fileURLToPath(new URL('../../', import.meta.url));
const generatedDir = fileURLToPath(new URL('./.generated/run/', import.meta.url));
const cwd = fileURLToPath(new URL('./.generated/run/cwd/', import.meta.url));
const keyOf = (block: ReadmeBlock) => `${block.readme}#${block.index}`;
const runnable = readmeBlocks(root).filter((block) => block.optOut === undefined && !(keyOf(block) in COMPILED_ONLY));

// The peers the a2a README's examples call, on the ports they name: below Linux's ephemeral range
// (32768-60999), so a socket another test opens at the same time cannot hold one of them.
const peers = [
  new A2aPeer({ name: 'planner', port: 9241 }),
  new A2aPeer({ name: 'billing', port: 9242, behavior: { kind: 'task', steps: 1 } }),
  new A2aPeer({ name: 'reports', port: 9243 }),
];
const supabase = new SupabaseStandIn({ schemaFile: AGENTS_SQL });
let redis: ChildProcess | undefined;
let env: NodeJS.ProcessEnv = {};

beforeAll(async () => {
  rmSync(generatedDir, { recursive: true, force: true });
  mkdirSync(join(cwd, 'certs'), { recursive: true });
  copyFileSync(AGENTS_SQL, join(cwd, 'schema.sql'));
  writeFileSync(join(cwd, 'certs', 'localhost.pem'), (await generateLoopbackCertificate()).cert);
  await Promise.all([supabase.start(), ...peers.map((peer) => peer.start())]);
  const [redisPort, prometheusPort] = await freePorts(2);
  redis = await startRedis(redisPort!);
  env = {
    ...process.env,
    SUPABASE_URL: supabase.url,
    SUPABASE_KEY: 'anon-key',
    REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
    OTEL_EXPORTER_PROMETHEUS_PORT: String(prometheusPort),
  };
}, 120_000);

afterAll(async () => {
  redis?.kill();
  await Promise.all([supabase.stop(), ...peers.map((peer) => peer.stop())]);
});

describe('README TypeScript blocks, run', () => {
  it('compiled-only blocks exist (the list is not stale)', () => {
    const keys = new Set(readmeBlocks(root).map(keyOf));
    expect(Object.keys(COMPILED_ONLY).filter((key) => !keys.has(key))).toEqual([]);
  });

  it.each(runnable.map((block) => [`${block.readme} block ${block.index} (line ${block.line})`, block] as const))(
    '%s runs',
    async (name, block) => {
      const { exitCode, output } = await runBlock(block, { generatedDir, cwd, env, boundMs: 60_000 });
      expect(exitCode, `${name} exited with ${exitCode}:\n${output}`).toBe(0);
    },
    90_000,
  );
});

function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('Ready to accept connections')) resolve(child);
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)));
  });
}
