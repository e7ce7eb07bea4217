import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-ports.js';
import { waitFor } from './wait-for.js';

/** Options of {@link startPrometheus}. */
export interface PrometheusServerOptions {
  /** The `/metrics` endpoint to scrape. */
  readonly target: URL;
  /** Scrape and rule-evaluation interval in ms (default 250; the scrape timeout is 80 % of it). */
  readonly intervalMs?: number;
  /** Alerting or recording rule files to load (absolute paths). */
  readonly ruleFiles?: readonly string[];
  /** The scrape job's name, the `job` label of every series (default `agent`). */
  readonly jobName?: string;
  /** How long to wait for the server to report ready (default 30 s). */
  readonly readyTimeoutMs?: number;
}

/** A real Prometheus server (Debian's `prometheus` binary) on a free loopback port, with its own data dir. */
export interface PrometheusServer extends AsyncDisposable {
  /** Base URL of its HTTP API, e.g. `http://127.0.0.1:40123`. */
  readonly api: string;
  /** What it printed so far (warnings and errors only). */
  log(): string;
  /** Runs an instant query; resolves to the `data.result` array of the answer. */
  query<T = unknown>(expr: string): Promise<T[]>;
  /** Stops the server and removes its data dir. */
  stop(): Promise<void>;
}

/**
 * Starts `prometheus` scraping `options.target`, and resolves once it reports ready (or rejects with its
 * output if it exits first). The tests that check what operators see (alert rules firing, dashboard queries
 * returning data) run against it instead of a mock of the query language.
 */
export async function startPrometheus(options: PrometheusServerOptions): Promise<PrometheusServer> {
  const { target, intervalMs = 250, ruleFiles = [], jobName = 'agent', readyTimeoutMs = 30_000 } = options;
  const dir = await mkdtemp(join(tmpdir(), 'phlow-prometheus-'));
  const config = [
    'global:',
    `  scrape_interval: ${intervalMs}ms`,
    `  scrape_timeout: ${Math.floor(intervalMs * 0.8)}ms`,
    `  evaluation_interval: ${intervalMs}ms`,
    ...(ruleFiles.length > 0 ? ['rule_files:', ...ruleFiles.map((file) => `  - ${JSON.stringify(file)}`)] : []),
    'scrape_configs:',
    `  - job_name: ${JSON.stringify(jobName)}`,
    `    metrics_path: ${JSON.stringify(target.pathname)}`,
    '    static_configs:',
    `      - targets: [${JSON.stringify(target.host)}]`,
    '',
  ].join('\n');
  await writeFile(join(dir, 'prometheus.yml'), config);
  const port = await freePort();
  const api = `http://127.0.0.1:${port}`;
  let log = '';
  const child = spawn(
    'prometheus',
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.on('data', (chunk) => (log += chunk));
  child.stderr!.on('data', (chunk) => (log += chunk));
  const exited = new Promise<never>((_, reject) => {
    child.once('error', (error) => reject(new Error(`cannot run prometheus (Debian package "prometheus"; test/setup/system-deps.sh installs it): ${error.message}`)));
    child.once('exit', (code) => reject(new Error(`prometheus exited (${code}): ${log}`)));
  });
  exited.catch(() => {});

  const stop = async (): Promise<void> => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await gone;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await Promise.race([exited, waitFor('Prometheus to be ready', () => fetch(`${api}/-/ready`).then((response) => response.ok, () => false), { timeoutMs: readyTimeoutMs, everyMs: 200 })]);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    api,
    log: () => log,
    async query<T>(expr: string): Promise<T[]> {
      const response = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(expr)}`);
      const body = (await response.json()) as { status: string; error?: string; data?: { result: T[] } };
      if (body.status !== 'success' || body.data === undefined) throw new Error(`query ${expr} failed: ${body.error ?? response.status}`);
      return body.data.result;
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
