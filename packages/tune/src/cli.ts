#!/usr/bin/env node
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadRecording } from './read-recording.js';
import { importOtlpSpans } from './otlp-import.js';
import { RecordingError } from './recording-error.js';
import { HTML_TAIL, htmlHead, htmlSection } from './report-html.js';
import { JSON_HEAD, JSON_TAIL, jsonEntry } from './report-json.js';
import type { Traffic } from './traffic.js';
import { tune } from './tune.js';

const USAGE = `Usage: phlow-tune <recording.jsonl | recording-dir | otlp.json> [options]

Replays recorded breaker traffic through the real circuit breaker under a grid of configurations
and recommends one. Writes report.json and report.html.

Options:
  --grid <file>     JSON array of candidate configurations ({ label?, options } or breaker options)
  --out <dir>       where to write the report (default: ./phlow-tune-report)
  --workers <n>     worker threads (default: CPU count; 1 replays on the main thread)
  --breaker <name>  tune only this breaker (default: every breaker in the input)
  -h, --help        this text`;

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        grid: { type: 'string' },
        out: { type: 'string' },
        workers: { type: 'string' },
        breaker: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'missing the recording to tune on' : `expected one input, got ${positionals.length}`);
  let workers: number | undefined;
  if (values.workers !== undefined) {
    if (!/^\d{1,3}$/.test(values.workers) || Number(values.workers) < 1 || Number(values.workers) > 256) {
      throw new UsageError(`--workers must be an integer from 1 to 256; got ${JSON.stringify(values.workers)}`);
    }
    workers = Number(values.workers);
  }
  const grid = values.grid === undefined ? undefined : await readGrid(values.grid);
  const input = positionals[0]!;
  const traffics = await readInput(input);
  const selected = values.breaker === undefined ? [...traffics.values()] : [traffics.get(values.breaker)].filter((t): t is Traffic => t !== undefined);
  if (selected.length === 0) throw new RecordingError(`no breaker named ${JSON.stringify(values.breaker)}; found: ${[...traffics.keys()].slice(0, 20).join(', ')}`, input);
  const out = resolve(values.out ?? 'phlow-tune-report');
  // Written breaker by breaker, each report dropped once written: a recording of thousands of breakers
  // makes reports of gigabytes, more than one string (or the memory) can hold.
  const json = await ReportFile.create(out, 'report.json');
  const html = await ReportFile.create(out, 'report.html');
  try {
    await json.write(JSON_HEAD);
    await html.write(htmlHead());
    for (const [k, traffic] of selected.entries()) {
      const report = await tune(traffic, { ...(grid === undefined ? {} : { grid }), ...(workers === undefined ? {} : { workers }) });
      await json.write((k === 0 ? '' : ',\n') + jsonEntry(report));
      await html.write((k === 0 ? '' : '\n') + htmlSection(report));
      const best = report.results[report.recommended]!;
      process.stdout.write(`${report.breaker}: ${report.calls} calls, ${report.results.length} configurations\n  recommended: ${best.candidate.label}\n  ${JSON.stringify(best.candidate.options)}\n`);
      for (const reason of report.reasons) process.stdout.write(`  - ${reason}\n`);
    }
    await json.write(JSON_TAIL);
    await html.write(HTML_TAIL);
    await json.commit();
    await html.commit();
  } finally {
    await json.discard();
    await html.discard();
  }
  process.stdout.write(`wrote ${join(out, 'report.json')} and ${join(out, 'report.html')}\n`);
  return 0;
}

/** The output directory cannot be written: says where and why, like an input that cannot be read. */
class OutputError extends Error {}

/**
 * A report file written as a new file and renamed over `name` once complete: a `report.html` planted
 * as a symlink in a shared directory is replaced, never followed (writing through it would overwrite
 * what it points to), and a run that fails leaves the previous report as it was.
 */
class ReportFile {
  private committed = false;

  private constructor(
    private readonly handle: FileHandle,
    private readonly temporary: string,
    private readonly target: string,
  ) {}

  static async create(dir: string, name: string): Promise<ReportFile> {
    const target = join(dir, name);
    const temporary = join(dir, `.${name}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      await mkdir(dir, { recursive: true });
      return new ReportFile(await open(temporary, 'wx'), temporary, target);
    } catch (error) {
      throw ReportFile.failed(target, error);
    }
  }

  async write(text: string): Promise<void> {
    try {
      await this.handle.appendFile(text); // writes it all, looping over short writes
    } catch (error) {
      throw ReportFile.failed(this.target, error);
    }
  }

  async commit(): Promise<void> {
    try {
      await this.handle.close();
      await rename(this.temporary, this.target);
      this.committed = true;
    } catch (error) {
      throw ReportFile.failed(this.target, error);
    }
  }

  /** Closes and deletes the new file unless it was committed. */
  async discard(): Promise<void> {
    if (this.committed) return;
    await this.handle.close().catch(() => {});
    await rm(this.temporary, { force: true }).catch(() => {});
  }

  private static failed(target: string, error: unknown): OutputError {
    return new OutputError(`cannot write ${target} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

async function readInput(path: string): Promise<Map<string, Traffic>> {
  const info = await stat(path).catch(() => undefined);
  if (info === undefined) throw new RecordingError('no such file or directory', path);
  if (info.isFile() && path.endsWith('.json')) return (await importOtlpSpans(path)).traffic;
  return loadRecording(path);
}

async function readGrid(path: string): Promise<unknown[]> {
  const info = await stat(path).catch(() => undefined);
  if (info === undefined || !info.isFile()) throw new UsageError(`--grid: no such file: ${path}`);
  if (info.size > 1_048_576) throw new UsageError(`--grid: ${path} is larger than 1 MiB`);
  let grid: unknown;
  try {
    grid = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new UsageError(`--grid: ${path} is not JSON (${(error as Error).message})`);
  }
  if (!Array.isArray(grid) || grid.length === 0 || grid.length > 1_000) throw new UsageError(`--grid: ${path} must hold a JSON array of 1 to 1000 configurations`);
  return grid;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`phlow-tune: ${error.message}\n\n${USAGE}\n`);
      process.exitCode = 2;
    } else if (error instanceof RecordingError || error instanceof OutputError || error instanceof RangeError || error instanceof TypeError) {
      process.stderr.write(`phlow-tune: ${error.message}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`phlow-tune: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    }
  },
);
