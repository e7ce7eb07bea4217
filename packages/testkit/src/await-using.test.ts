// Each stand-in works with `await using` (stopped at the end of the scope) and each subscription with
// `using` (unsubscribed at the end of the scope).
import { globalAgent } from 'node:https';
import { describe, expect, it } from 'vitest';
import { A2aPeer } from './a2a-peer.js';
import { DidWebHost } from './did-web-host.js';
import { FaultProxy } from './fault-proxy.js';
import { SupabaseStandIn } from './supabase-stand-in.js';
import { fetchErrorCode, startRecordingServer } from './test-servers.test-util.js';

describe('`await using` stops a stand-in at the end of the scope', () => {
  it('FaultProxy', async () => {
    const target = await startRecordingServer();
    let url = '';
    {
      await using proxy = new FaultProxy({ target: target.url });
      await proxy.start();
      url = proxy.url;
      expect(await (await fetch(url)).text()).toBe('hello from the target');
    }
    expect(await fetchErrorCode(fetch(url))).toBe('ECONNREFUSED');
    await target.stop();
  });

  it('SupabaseStandIn', async () => {
    let url = '';
    {
      await using supabase = new SupabaseStandIn({ schemaSql: 'create table t (id int primary key)' });
      await supabase.start();
      url = `${supabase.url}/rest/v1/t?select=id`;
      expect((await fetch(url)).status).toBe(200);
    }
    expect(await fetchErrorCode(fetch(url))).toBe('ECONNREFUSED');
  }, 30_000);

  it('DidWebHost', async () => {
    let url = '';
    let stopped: DidWebHost | undefined;
    {
      await using host = new DidWebHost({ documents: { '': { id: 'x' } } });
      await host.start();
      stopped = host;
      url = `${host.url}/.well-known/did.json`;
      expect((await host.fetch(url)).status).toBe(200);
    }
    expect(await fetchErrorCode(fetch(url))).toBe('ECONNREFUSED');
    // Its dispatcher (the one trusting its certificate) went with it.
    expect(await fetchErrorCode(stopped.fetch(url))).toBe('UND_ERR_DESTROYED');
  });

  it('A2aPeer', async () => {
    let url = '';
    {
      await using peer = new A2aPeer({ name: 'scoped' });
      await peer.start();
      url = `${peer.url}/.well-known/agent-card.json`;
      expect((await fetch(url)).status).toBe(200);
    }
    expect(await fetchErrorCode(fetch(url))).toBe('ECONNREFUSED');
  });
});

describe('`using` ends a subscription at the end of the scope', () => {
  it("a stand-in's onRequest", async () => {
    const target = await startRecordingServer();
    await using proxy = new FaultProxy({ target: target.url });
    await proxy.start();
    const seen: string[] = [];
    {
      using _subscription = proxy.onRequest((event) => seen.push(event.url));
      await (await fetch(`${proxy.url}/in-scope`)).text();
    }
    await (await fetch(`${proxy.url}/after`)).text();
    expect(seen).toEqual(['/in-scope']);
    await target.stop();
  });

  it("DidWebHost.trustGlobalAgent puts the global agent's CAs back", async () => {
    await using host = new DidWebHost();
    await host.start();
    const before = globalAgent.options.ca;
    {
      using _trust = host.trustGlobalAgent();
      expect(globalAgent.options.ca).toContain(host.ca);
    }
    expect(globalAgent.options.ca).toBe(before);
  });
});
