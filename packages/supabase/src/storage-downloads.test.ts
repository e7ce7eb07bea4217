import type { SupabaseClient } from '@supabase/supabase-js';
import { waitFor } from '@phlow/test-helpers';
import { describe, expect, it } from 'vitest';
import { breakerFor, type SupabaseProtectionOptions } from './index.js';
import { byteAt, type Gateway, gatewayProjectForFile } from './test-gateway.test-util.js';

// Storage downloads against a real node:http server standing in for Supabase's gateway (the testkit's
// stand-in serves PostgREST only), which forwards everything else to the stand-in behind its fault proxy.
const project = gatewayProjectForFile();

// The real clock: these tests need real timeouts to fire (and show they do not touch downloads).
const setup = (protection: SupabaseProtectionOptions = {}) => project.gatewayClient(1_000, protection);

/** Reads a download stream to its end, checking every byte against the stored pattern. */
async function readChecked(stream: ReadableStream<Uint8Array>, from = 0): Promise<number> {
  let offset = from;
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
    for (let i = 0; i < chunk.length; i++) if (chunk[i] !== byteAt(offset + i)) throw new Error(`byte ${offset + i} differs`);
    offset += chunk.length;
  }
  return offset;
}

/**
 * Starts a storage request the gateway never answers and waits until the storage breaker has timed it
 * out: proof that more than `timeoutMs` has passed for every download started before it (a deadline
 * never fires before its time), without a timed assertion.
 */
async function outlastTimeout(supabase: SupabaseClient, gateway: Gateway): Promise<void> {
  gateway.put('bucket/hang.bin', { size: 1, hangs: true });
  const breaker = breakerFor(supabase, 'storage');
  const before = breaker.getStats().total_timeouts;
  const hung = supabase.storage.from('bucket').download('hang.bin').asStream().then(
    (result) => result,
    (error: unknown) => ({ data: null, error }),
  );
  await waitFor('the storage breaker to time the request out', () => breaker.getStats().total_timeouts > before);
  expect((await hung).error).not.toBeNull();
}

describe('storage downloads: judged on their headers, handed on as a stream', () => {
  it('a download is streamed to the caller, never buffered whole: the first bytes arrive while the server still holds the rest', async () => {
    const { supabase, gateway } = await setup();
    gateway.put('bucket/big.bin', { size: 8 * 1024 * 1024, held: true });
    const { data, error } = await supabase.storage.from('bucket').download('big.bin').asStream();
    expect(error).toBeNull();
    const reader = data!.getReader();
    const first = await reader.read();
    expect(first.value!.length).toBeGreaterThan(0);
    // The server has sent one chunk and waits: the caller holds a live stream, not a buffered body.
    expect(gateway.heldCount('bucket/big.bin')).toBe(1);
    expect(gateway.completed).toBe(0);
    expect(breakerFor(supabase, 'storage').getStats()).toMatchObject({ total_successes: 1, in_flight: 0 });
    gateway.release('bucket/big.bin');
    reader.releaseLock();
    expect(await readChecked(data!, first.value!.length)).toBe(8 * 1024 * 1024);
  });

  it('a slow download outlives timeoutMs without a timeout, and database queries keep working', async () => {
    const { supabase, gateway } = await setup();
    gateway.put('bucket/slow.bin', { size: 1024 * 1024, held: true });
    const { data } = await supabase.storage.from('bucket').download('slow.bin').asStream();
    // Read from the start, as a consumer piping it would: undici cancels the body of a Response that is garbage
    // collected while its stream is neither locked nor read, and the caller holds only the stream.
    const reading = readChecked(data!);
    await waitFor('the download to be held mid-body', () => gateway.heldCount('bucket/slow.bin') === 1);
    await outlastTimeout(supabase, gateway);
    const rest = await supabase.from('agents').select('id').eq('id', 'a1');
    expect(rest).toMatchObject({ status: 200, data: [{ id: 'a1' }] });
    gateway.release('bucket/slow.bin');
    expect(await reading).toBe(1024 * 1024);
    // One success (the download's headers), one timeout (the request that never got an answer).
    expect(breakerFor(supabase, 'storage').getStats()).toMatchObject({ state: 'closed', total_successes: 1, total_timeouts: 1 });
    expect(breakerFor(supabase, 'rest').getStats()).toMatchObject({ state: 'closed', total_failures: 0 });
  });

  it('three large downloads in parallel, then a query: it works, and every file arrives whole', async () => {
    const { supabase, gateway } = await setup();
    const size = 16 * 1024 * 1024;
    for (const name of ['one', 'two', 'three']) gateway.put(`bucket/${name}.bin`, { size, held: true });
    const downloads = await Promise.all(['one', 'two', 'three'].map((name) => supabase.storage.from('bucket').download(`${name}.bin`).asStream()));
    expect(downloads.map((download) => download.error)).toEqual([null, null, null]);
    const readings = downloads.map((download) => readChecked(download.data!)); // read from the start (see above)
    await outlastTimeout(supabase, gateway);
    const rest = await supabase.from('agents').select('id').order('id');
    expect(rest).toMatchObject({ status: 200, data: [{ id: 'a1' }, { id: 'a2' }] });
    for (const name of ['one', 'two', 'three']) gateway.release(`bucket/${name}.bin`);
    expect(await Promise.all(readings)).toEqual([size, size, size]);
    expect(breakerFor(supabase, 'storage').getStats()).toMatchObject({ state: 'closed', total_successes: 3, total_timeouts: 1 });
  });

  it('the blob form (download() without asStream) still works: storage-js reads it after the call', async () => {
    const { supabase, gateway } = await setup({ maxBodyBytes: 1024 });
    gateway.put('bucket/blob.bin', { size: 300 * 1024 });
    const { data, error } = await supabase.storage.from('bucket').download('blob.bin');
    expect(error).toBeNull();
    // Larger than maxBodyBytes: that limit is for bodies read inside a call, which downloads are not.
    expect(data!.size).toBe(300 * 1024);
    expect(await readChecked(data!.stream())).toBe(300 * 1024);
  });

  it("the caller's own signal still aborts a download after its headers (the call has ended by then)", async () => {
    const { supabase, gateway } = await setup();
    gateway.put('bucket/cancel.bin', { size: 4 * 1024 * 1024, held: true });
    const controller = new AbortController();
    const { data } = await supabase.storage.from('bucket').download('cancel.bin', {}, { signal: controller.signal }).asStream();
    const reader = data!.getReader();
    await reader.read();
    controller.abort();
    await expect(reader.read()).rejects.toMatchObject({ name: 'AbortError' });
    // An error while the body streams comes after the call ended: it is not counted (see the README).
    expect(breakerFor(supabase, 'storage').getStats()).toMatchObject({ total_successes: 1, total_failures: 0, total_ignored: 0 });
  });

  it('a failing storage opens only the storage breaker: queries go on', async () => {
    const { supabase, gateway } = await setup();
    for (let i = 0; i < 3; i++) expect((await supabase.storage.from('bucket').download('missing.bin').asStream()).error).not.toBeNull();
    // The gateway answers a missing object with 400: the caller's problem, not an outage.
    expect(breakerFor(supabase, 'storage').getStats()).toMatchObject({ state: 'closed', total_failures: 0 });
    expect(gateway.downloads.get('bucket/missing.bin')).toBe(3);
    breakerFor(supabase, 'storage').forceOpen();
    const refused = await supabase.storage.from('bucket').download('missing.bin').asStream();
    expect(refused.error).toMatchObject({ status: 529 });
    expect(gateway.downloads.get('bucket/missing.bin')).toBe(3);
    expect((await supabase.from('agents').select('id').eq('id', 'a2')).data).toEqual([{ id: 'a2' }]);
  });
});
