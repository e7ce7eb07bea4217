/**
 * Starts the built demo agent as a user would (`node --import apps/demo-agent/dist/instrument.js
 * apps/demo-agent/dist/main.js`, what `pnpm demo` runs: OpenTelemetry first, then the app), on a free port,
 * with short recovery times; reads its banner for the URLs and the admin token; collects its JSON logs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../apps/demo-agent/dist/main.js', import.meta.url));
const INSTRUMENT = new URL('../../apps/demo-agent/dist/instrument.js', import.meta.url).href;

export interface DemoProcess {
  readonly url: string;
  readonly adminToken: string;
  /** What the agent printed at start-up (dependencies' URLs, peers, DIDs). */
  readonly banner: string;
  readonly process: ChildProcess;
  /** JSON lines the agent wrote on stderr (breaker state changes, chaos actions). */
  readonly logs: Record<string, unknown>[];
  stop(): Promise<void>;
}

export async function startDemo(env: Record<string, string> = {}): Promise<DemoProcess> {
  const child = spawn(process.execPath, ['--import', INSTRUMENT, MAIN], {
    env: { ...process.env, PORT: '0', PHLOW_RECOVERY_MS: '1000', PHLOW_DID_CACHE_TTL_MS: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const logs: Record<string, unknown>[] = [];
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    let newline: number;
    while ((newline = stderr.indexOf('\n')) >= 0) {
      const line = stderr.slice(0, newline);
      stderr = stderr.slice(newline + 1);
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not a JSON line (a stack trace, a warning): ignore
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const banner = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the demo did not print its banner within 45 s; stdout so far:\n${stdout}`)), 45_000);
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (stdout.includes('Ctrl-C stops everything')) {
        clearTimeout(timer);
        resolve(stdout);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the demo exited with ${code} before it was ready; stdout:\n${stdout}`));
    });
  });
  const url = /Dashboard\s+(http:\/\/\S+?)\/\s/.exec(banner)?.[1];
  const adminToken = /Admin token\s+(\S+)/.exec(banner)?.[1];
  if (url === undefined || adminToken === undefined) throw new Error(`unexpected banner:\n${banner}`);
  return {
    url,
    adminToken,
    banner,
    process: child,
    logs,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
