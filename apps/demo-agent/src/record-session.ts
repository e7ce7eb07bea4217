/**
 * `pnpm demo:record`: records the demo's breaker traffic during a chaos session, then tunes on it.
 *
 * The agent starts with its embedded stand-ins and a recorder on every breaker (`@phlow/tune`); traffic
 * flows to the peers while a script breaks and heals the dependencies — a hard outage, a flapping peer,
 * a Supabase outage; then the agent stops, and `phlow-tune` replays the recording under its grid of
 * configurations and writes its report (JSON and HTML with a timeline per configuration).
 *
 *   DURATION          seconds of the session (default 120)
 *   RATE              relay requests per second (default 20)
 *   PHLOW_RECORD_DIR  where sessions are recorded, one folder each (default .phlow/recordings)
 *   PHLOW_TUNE_OUT    where the report goes (default .phlow/tune-report)
 *   and every variable of `pnpm demo` (PHLOW_RECOVERY_MS, …)
 */
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FaultProxy } from '@phlow/testkit';
import { startAgent, type RunningAgent } from './agent.js';
import { CHAOS_ACTIONS } from './chaos-routes.js';
import { readConfig } from './config.js';
import { startDependencies } from './stand-ins.js';

/** One step of the chaos script: at `at` (a fraction of the session), `dependency` gets `action`. */
interface ChaosStep {
  readonly at: number;
  readonly dependency: string;
  readonly action: keyof typeof CHAOS_ACTIONS;
}

/** A hard outage of one peer, a peer flapping (down 2 s, up 2 s), a Supabase outage; healthy between. */
function chaosScript(durationMs: number): ChaosStep[] {
  const steps: ChaosStep[] = [
    { at: 0.15, dependency: 'peer-alpha', action: 'down' },
    { at: 0.4, dependency: 'peer-alpha', action: 'heal' },
    { at: 0.8, dependency: 'supabase', action: 'down' },
    { at: 0.88, dependency: 'supabase', action: 'heal' },
  ];
  const flapEvery = 2_000 / durationMs;
  for (let at = 0.55, down = true; at < 0.78; at += flapEvery, down = !down) {
    steps.push({ at, dependency: 'peer-beta', action: down ? 'down' : 'heal' });
  }
  steps.push({ at: 0.78, dependency: 'peer-beta', action: 'heal' });
  return steps.sort((a, b) => a.at - b.at);
}

function positive(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new TypeError(`${name} must be a positive number; got ${JSON.stringify(raw)}`);
  return value;
}

/** Relays to the peers round-robin at `rate` per second until `until`; counts answers by status. */
async function driveTraffic(agent: RunningAgent, rate: number, until: number): Promise<Map<number, number>> {
  const url = new URL(agent.url);
  const keepAlive = new Agent({ keepAlive: true, maxSockets: 8 });
  const statuses = new Map<number, number>();
  const peers = ['alpha', 'beta', 'gamma'];
  const post = (body: string) =>
    new Promise<number>((done) => {
      const req = request({ agent: keepAlive, host: url.hostname, port: url.port, path: '/relay', method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => done(res.statusCode ?? 0));
        res.on('error', () => done(0));
      });
      req.on('error', () => done(0));
      req.end(body);
    });
  const inFlight = new Set<Promise<void>>();
  for (let i = 0; Date.now() < until; i++) {
    const call = post(JSON.stringify({ to: peers[i % peers.length], text: `recorded call ${i}` })).then((status) => {
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    });
    inFlight.add(call);
    void call.finally(() => inFlight.delete(call));
    await new Promise((wake) => setTimeout(wake, 1_000 / rate));
  }
  await Promise.all(inFlight);
  keepAlive.destroy();
  return statuses;
}

/** Applies each chaos step at its time; resolves when the script has run. */
async function runChaos(proxies: ReadonlyMap<string, FaultProxy>, steps: ChaosStep[], started: number, durationMs: number): Promise<void> {
  for (const step of steps) {
    const wait = started + step.at * durationMs - Date.now();
    if (wait > 0) await new Promise((wake) => setTimeout(wake, wait));
    const proxy = proxies.get(step.dependency);
    if (proxy === undefined) continue; // a dependency from the environment has no chaos control
    const faults = CHAOS_ACTIONS[step.action];
    if (faults === null || faults === undefined) await proxy.clearFaults();
    else await proxy.setFaults(faults);
    console.log(`  ${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s  ${step.dependency} ${step.action}`);
  }
}

/** Runs `phlow-tune <dir> --out <out>` as a user would; resolves with its exit code. */
function runPhlowTune(dir: string, out: string): Promise<number> {
  const bin = join(fileURLToPath(new URL('.', import.meta.resolve('@phlow/tune/package.json'))), 'dist', 'cli.js');
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [bin, dir, '--out', out], { stdio: 'inherit' });
    child.on('error', fail);
    child.on('exit', (code) => done(code ?? 1));
  });
}

const durationMs = positive('DURATION', 120) * 1_000;
const rate = positive('RATE', 20);
const session = join(resolve(process.env['PHLOW_RECORD_DIR'] || '.phlow/recordings'), `session-${new Date().toISOString().replaceAll(':', '-')}`);
const out = resolve(process.env['PHLOW_TUNE_OUT'] || '.phlow/tune-report');

const config = readConfig({ ...process.env, PORT: process.env['PORT'] ?? '0', PHLOW_RECORD_DIR: session });
const deps = await startDependencies(config);
const agent = await startAgent(config, deps);
console.log(`Recording ${durationMs / 1000} s of traffic at ${rate}/s through ${agent.url} into ${session}`);
const started = Date.now();
const [statuses] = await Promise.all([driveTraffic(agent, rate, started + durationMs), runChaos(deps.proxies, chaosScript(durationMs), started, durationMs)]);
await agent.stop(config.shutdownMs);
await deps.stop();
console.log(`Answers by status: ${[...statuses].sort(([a], [b]) => a - b).map(([status, n]) => `${status}: ${n}`).join(', ')}`);
console.log(`\nphlow-tune ${session} --out ${out}`);
process.exitCode = await runPhlowTune(session, out);
