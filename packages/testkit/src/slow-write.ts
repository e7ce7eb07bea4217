import type { Writable } from 'node:stream';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SlowBodyFault } from './faults.js';

/**
 * Writes `chunk` to `sink`, honouring back-pressure; with `slowBody` it writes slices of
 * `bytesPerChunk` bytes with `intervalMs` between them. Rejects with an AbortError when `signal` aborts.
 */
export async function writeShaped(
  sink: Writable,
  chunk: Buffer,
  slowBody: SlowBodyFault | undefined,
  signal: AbortSignal,
): Promise<void> {
  if (slowBody === undefined) {
    if (!sink.write(chunk)) await once(sink, 'drain', { signal });
    return;
  }
  for (let offset = 0; offset < chunk.length; offset += slowBody.bytesPerChunk) {
    if (offset > 0) await sleep(slowBody.intervalMs, undefined, { signal });
    signal.throwIfAborted();
    if (!sink.write(chunk.subarray(offset, offset + slowBody.bytesPerChunk))) await once(sink, 'drain', { signal });
  }
}
