import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describeValue } from '@phlow/circuit-breaker/internal';
import { RecordingError } from './recording-error.js';
import { TrafficBuilder } from './traffic-builder.js';
import { MAX_BREAKER_NAME, OUTCOMES, type CallOutcome, type Traffic } from './traffic.js';

/** Limits for reading files a user was handed: nothing in them is trusted. */
export interface ReadLimits {
  /** Most bytes read in all. Default 8 GiB. */
  readonly maxBytes?: number;
  /** Longest line. Default 64 KiB. */
  readonly maxLineBytes?: number;
  /** Most calls. Default 200 M. */
  readonly maxCalls?: number;
  /** Most breakers. Default 10 000. */
  readonly maxBreakers?: number;
}

/**
 * Longest call a recording may hold: a year. A breaker without a timeout can see calls longer than a
 * day; much longer is a broken file, and replay steps a clock by each duration and back, which must
 * stay exact to the millisecond.
 */
export const MAX_DURATION_MS = 365 * 86_400_000;

const DEFAULTS = { maxBytes: 8 * 2 ** 30, maxLineBytes: 64 * 2 ** 10, maxCalls: 200_000_000, maxBreakers: 10_000 };

/**
 * Reads a recording written by {@link TrafficRecorder}: a JSONL file, or a directory of them (read in
 * name order). Each line is `{ "b": breaker, "t": start epoch ms, "d": duration ms, "o": outcome, "e"?: error class }`.
 * A bad line stops the read with a {@link RecordingError} naming the file, the line and the problem.
 */
export async function loadRecording(path: string, limits: ReadLimits = {}): Promise<Map<string, Traffic>> {
  const l = { ...DEFAULTS, ...limits };
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    throw new RecordingError(error.code === 'ENOENT' ? 'no such file or directory' : `cannot read (${error.code ?? error.message})`, path);
  });
  const files = info.isDirectory()
    ? (await readdir(path)).filter((name) => name.endsWith('.jsonl')).sort().map((name) => join(path, name))
    : [path];
  if (files.length === 0) throw new RecordingError('no .jsonl files in this directory', path);
  const builder = new TrafficBuilder(l.maxBreakers);
  let bytes = 0;
  for (const file of files) {
    const info = await stat(file);
    // A directory or a FIFO named *.jsonl would fail mid-read or block it forever.
    if (!info.isFile()) throw new RecordingError('not a regular file', file);
    const size = info.size;
    bytes += size;
    if (bytes > l.maxBytes) throw new RecordingError(`recording larger than ${l.maxBytes} bytes (maxBytes)`, file);
    await readLines(file, l, builder);
  }
  if (builder.size === 0) throw new RecordingError('no calls in the recording', path);
  return builder.build();
}

async function readLines(file: string, limits: typeof DEFAULTS, builder: TrafficBuilder): Promise<void> {
  await forEachLine(file, limits.maxLineBytes, (line, n) => {
    if (line.trim() === '') return;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (error) {
      throw new RecordingError(`not JSON (${(error as Error).message})`, file, n);
    }
    const call = checkRow(row, file, n);
    builder.add(call.b, call.t, call.d, call.o);
    if (builder.size > limits.maxCalls) throw new RecordingError(`more than ${limits.maxCalls} calls (maxCalls)`, file, n);
  });
}

/**
 * Calls `onLine` for each line. A line is checked against `maxLineBytes` while it is being read, so a
 * file without newlines is refused after `maxLineBytes`, not after it filled the memory (readline
 * would buffer the whole line first).
 */
async function forEachLine(file: string, maxLineBytes: number, onLine: (line: string, n: number) => void): Promise<void> {
  let rest = '';
  let n = 0;
  for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
    const text = rest + (chunk as string);
    let from = 0;
    for (let newline = text.indexOf('\n'); newline !== -1; newline = text.indexOf('\n', from)) {
      n++;
      if (newline - from > maxLineBytes) throw new RecordingError(`line longer than ${maxLineBytes} characters`, file, n);
      onLine(text.charCodeAt(newline - 1) === 13 ? text.slice(from, newline - 1) : text.slice(from, newline), n);
      from = newline + 1;
    }
    rest = text.slice(from);
    if (rest.length > maxLineBytes) throw new RecordingError(`line longer than ${maxLineBytes} characters`, file, n + 1);
  }
  if (rest.length > 0) onLine(rest, n + 1);
}

function checkRow(row: unknown, file: string, line: number): { b: string; t: number; d: number; o: CallOutcome } {
  if (typeof row !== 'object' || row === null || Array.isArray(row)) throw new RecordingError(`expected an object; got ${describeValue(row)}`, file, line);
  const r = row as Record<string, unknown>;
  const b = Object.hasOwn(r, 'b') ? r.b : undefined;
  const t = Object.hasOwn(r, 't') ? r.t : undefined;
  const d = Object.hasOwn(r, 'd') ? r.d : undefined;
  const o = Object.hasOwn(r, 'o') ? r.o : undefined;
  if (typeof b !== 'string' || b.length === 0 || b.length > MAX_BREAKER_NAME) throw new RecordingError(`"b" (breaker name) must be a string of 1 to ${MAX_BREAKER_NAME} characters; got ${short(b)}`, file, line);
  if (typeof t !== 'number' || !Number.isFinite(t) || t < 0 || t > 8.64e15) throw new RecordingError(`"t" (start, epoch ms) must be a finite number >= 0; got ${short(t)}`, file, line);
  if (typeof d !== 'number' || !Number.isFinite(d) || d < 0 || d > MAX_DURATION_MS) throw new RecordingError(`"d" (duration, ms) must be a number from 0 to ${MAX_DURATION_MS} (a year); got ${short(d)}`, file, line);
  if (typeof o !== 'string' || !OUTCOMES.includes(o as CallOutcome)) throw new RecordingError(`"o" (outcome) must be one of ${OUTCOMES.join(', ')}; got ${short(o)}`, file, line);
  return { b, t, d, o: o as CallOutcome };
}

function short(value: unknown): string {
  const text = describeValue(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
