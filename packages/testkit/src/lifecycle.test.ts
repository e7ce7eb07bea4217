// Stopping every component leaves no active handles. Kept in its own file (its own worker) so handles of
// other tests' keep-alive connections cannot blur the count.
import { existsSync } from 'node:fs';
import { waitFor } from '@phlow/test-helpers';
import { describe, expect, it } from 'vitest';
import { A2aPeer } from './a2a-peer.js';
import { DidWebHost } from './did-web-host.js';
import { FaultProxy } from './fault-proxy.js';
import { SupabaseStandIn } from './supabase-stand-in.js';
import { fetchErrorCode, startRecordingServer, tcpHandles } from './test-servers.test-util.js';

describe('stop() leaves no active handles', () => {
  it('FaultProxy, with a request hanging in the black hole and one forwarded', async () => {
    // Each test starts from a worker without TCP handles (earlier tests' sockets have finished closing).
    await waitFor('no TCP handles left in this worker', () => tcpHandles() === 0);
    const target = await startRecordingServer();
    const before = tcpHandles();
    const timersBefore = process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;
    const proxy = new FaultProxy({ target: target.url, faults: { latency: { ms: 5 } } });
    await proxy.start();
    await fetch(proxy.url).then((response) => response.text());
    await proxy.setFaults({ blackHole: true });
    const pending = fetchErrorCode(fetch(proxy.url));
    await waitFor('the request to fall into the black hole', () => proxy.stats().requests.blackHoled === 1);
    await proxy.stop();
    expect(await pending).toBe('UND_ERR_SOCKET');
    await waitFor('the TCP handles to be back to where they were', () => tcpHandles() === before);
    expect(tcpHandles()).toBe(before);
    expect(process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length).toBeLessThanOrEqual(timersBefore);
    await target.stop();
  });

  it('SupabaseStandIn on PGlite and on PostgreSQL, after serving requests', async () => {
    await waitFor('no TCP handles left in this worker', () => tcpHandles() === 0);
    const before = tcpHandles();
    const embedded = new SupabaseStandIn({ schemaSql: 'create table t (id int primary key)' });
    const server = new SupabaseStandIn({ databaseUrl: 'postgres://postgres@127.0.0.1:5432/test', dbSchema: 'pg_catalog' });
    await embedded.start();
    await server.start();
    expect((await fetch(`${embedded.url}/rest/v1/t?select=id`)).status).toBe(200);
    expect((await fetch(`${server.url}/rest/v1/pg_namespace?select=nspname&limit=1`, { headers: { 'accept-profile': 'pg_catalog' } })).status).toBe(200);
    await embedded.stop();
    await server.stop();
    await waitFor('the TCP handles to be back to where they were', () => tcpHandles() === before);
    expect(tcpHandles()).toBe(before);
  }, 30_000);

  it('DidWebHost, with a request left hanging, and removes its CA file', async () => {
    await waitFor('no TCP handles left in this worker', () => tcpHandles() === 0);
    const host = new DidWebHost({ documents: { '': { id: 'x' } } });
    await host.start();
    const caFile = host.caFile;
    expect((await host.fetch(`${host.url}/.well-known/did.json`)).status).toBe(200);
    host.setRawResponse('', { hang: true });
    const pending = fetchErrorCode(host.fetch(`${host.url}/.well-known/did.json`));
    await waitFor('the connection of the hanging request', () => tcpHandles() >= 2);
    await host.stop();
    expect(await pending).toBeDefined();
    expect(existsSync(caFile)).toBe(false);
    await waitFor('no TCP handles left in this worker', () => tcpHandles() === 0);
    expect(tcpHandles()).toBe(0);
  });

  it('A2aPeer, with an executor still waiting and a request open', async () => {
    await waitFor('no TCP handles left in this worker', () => tcpHandles() === 0);
    const peer = new A2aPeer({ behavior: { kind: 'delay', ms: 60_000 } });
    await peer.start();
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message: { messageId: 'm1', role: 'ROLE_USER', parts: [{ text: 'hi' }] } } });
    const pending = fetchErrorCode(fetch(`${peer.url}/a2a/jsonrpc`, { method: 'POST', headers: { 'content-type': 'application/json', 'a2a-version': '1.0' }, body }).then((r) => r.text()));
    await waitFor('the request to reach the peer', () => peer.requests.length === 1);
    await peer.stop();
    expect(await pending).toBeDefined();
    await waitFor('no TCP handles left in this worker', () => tcpHandles() === 0);
    expect(tcpHandles()).toBe(0);
  });
});
