import { waitFor } from '@phlow/test-helpers';
import { describe, expect, it } from 'vitest';
import { breakerFor } from './index.js';
import { ResponseTooLargeError } from './response-too-large-error.js';
import { gatewayProjectForFile } from './test-gateway.test-util.js';

// Hostile answers come from a real node:http server in front of the stand-in (it forwards the rest).
const project = gatewayProjectForFile();
// No timeout: an endless body is stopped by the size limit alone.
const setup = (maxBodyBytes?: number) => project.gatewayClient(0, maxBodyBytes === undefined ? {} : { maxBodyBytes });

const MiB = 1024 * 1024;

describe('REST bodies are read inside the call up to maxBodyBytes', () => {
  it('an endless body is cut while it streams (default limit, 10 MiB): a clear error, the connection closed, nothing retried, not a failure', async () => {
    const { supabase, gateway } = await setup();
    const result = await supabase.from('hostile_endless').select();
    expect(result).toMatchObject({ data: null, status: 0 });
    expect(result.error?.message).toMatch(
      /^ResponseTooLargeError: Supabase rest response \(status 200\) is larger than maxBodyBytes \(10485760 bytes\): reading stopped at \d+ bytes; the connection was closed/,
    );
    const answer = gateway.hostile.get('hostile_endless')!;
    await waitFor('the server to see the connection closed', () => answer.closed);
    // The server stopped once the client went away: the limit plus what sockets buffer, not "everything".
    expect(answer.written).toBeGreaterThan(10 * MiB);
    expect(answer.written).toBeLessThan(48 * MiB);
    expect(gateway.hostileRequests).toBe(1); // postgrest-js did not retry it (code ABORT_ERR)
    expect(breakerFor(supabase).getStats()).toMatchObject({ state: 'closed', total_failures: 0, total_ignored: 1, total_successes: 0 });
  });

  it('.throwOnError() throws the ResponseTooLargeError itself', async () => {
    const { supabase } = await setup(64 * 1024);
    const thrown = await supabase.from('hostile_endless').select().throwOnError().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(ResponseTooLargeError.isInstance(thrown)).toBe(true);
    expect(thrown).toMatchObject({ name: 'ResponseTooLargeError', service: 'rest', status: 200, maxBodyBytes: 64 * 1024, code: 'ABORT_ERR' });
  });

  it('a Content-Length above the limit is refused before reading a byte', async () => {
    const { supabase, gateway } = await setup(MiB);
    const result = await supabase.from('hostile_announced').select();
    expect(result.error?.message).toBe(
      'ResponseTooLargeError: Supabase rest response (status 200) is larger than maxBodyBytes (1048576 bytes): it announced 1073741824 bytes, none were read; the connection was closed. Ask for less (fewer columns, .range(), .limit()) or raise the maxBodyBytes option',
    );
    await waitFor('the server to see the connection closed', () => gateway.hostile.get('hostile_announced')!.closed);
  });

  it('a small gzip that inflates past the limit is cut too (Content-Length counts compressed bytes)', async () => {
    const { supabase, gateway } = await setup(MiB);
    const result = await supabase.from('hostile_gzip').select();
    expect(result.error?.message).toMatch(/^ResponseTooLargeError: .*reading stopped at \d+ bytes/);
    expect(gateway.hostile.get('hostile_gzip')!.written).toBeLessThan(MiB);
    expect(breakerFor(supabase).getStats()).toMatchObject({ total_failures: 0, total_ignored: 1 });
  });

  it('a REST answer labelled text/event-stream is capped too: only edge functions stream live', async () => {
    const { supabase, gateway } = await setup(64 * 1024);
    const result = await supabase.from('hostile_labelled_stream').select();
    expect(result.error?.message).toMatch(/^ResponseTooLargeError: Supabase rest response \(status 200\) is larger than maxBodyBytes \(65536 bytes\): reading stopped at \d+ bytes/);
    await waitFor('the server to see the connection closed', () => gateway.hostile.get('hostile_labelled_stream')!.closed);
  });

  it('a chunked body whose connection dies mid-way still counts as a failure', async () => {
    const { supabase } = await setup();
    const result = await supabase.from('hostile_broken').select().retry(false);
    expect(result.status).toBe(0);
    expect(breakerFor(supabase).getStats()).toMatchObject({ total_failures: 1, total_successes: 0 });
  });

  it('against the stand-in: a select larger than the limit fails clearly, a narrower one of the same table works', async () => {
    const { supabase } = await setup(64 * 1024);
    await project.standIn.query(`insert into agents (id, name, score) select 'bulk' || i, repeat('n', 200), i from generate_series(1, 2000) i`);
    const all = await supabase.from('agents').select('id, name');
    expect(all.error?.message).toMatch(/^ResponseTooLargeError: Supabase rest response \(status 200\) is larger than maxBodyBytes \(65536 bytes\)/);
    const page = await supabase.from('agents').select('id, name').order('id').range(0, 9);
    expect(page).toMatchObject({ status: 200, error: null });
    expect(page.data).toHaveLength(10);
    // The oversized answer was neither a failure nor a success: the project answered, the query asked too much.
    expect(breakerFor(supabase).getStats()).toMatchObject({ state: 'closed', total_failures: 0, total_ignored: 1, total_successes: 1 });
  });
});
