// The README's examples, kept here so they compile and run. Keep both in sync.
import { createClient } from '@supabase/supabase-js';
import { Resolver } from 'did-resolver';
import { getResolver } from 'web-did-resolver';
import { ClientFactory, JsonRpcTransportFactory } from '@a2a-js/sdk/client';
import { Role } from '@a2a-js/sdk';
import { AGENTS_SQL } from '@phlow/test-helpers';
import { afterAll, describe, expect, it } from 'vitest';
import { A2aPeer, DidWebHost, FaultProxy, SupabaseStandIn, agentCard, basicDidDocument, messageText } from './index.js';

const stops: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
});

describe('README examples', () => {
  it('five lines: point the agent at a stand-in through a proxy and inject a fault', async () => {
    const schemaFile = AGENTS_SQL;
    // --- README: five lines ---
    const supabase = new SupabaseStandIn({ schemaFile }); await supabase.start();
    const proxy = new FaultProxy({ target: supabase.url }); await proxy.start();
    const db = createClient(proxy.url, 'anon-key');
    await proxy.setFaults({ errorStatus: { status: 503 } });
    const { status } = await db.from('agents').select('id').retry(false); // 503, never reached the database
    // --- end ---
    stops.push(() => supabase.stop(), () => proxy.stop());
    expect(status).toBe(503);
    expect(proxy.stats().requests.injected).toBe(1);
  }, 30_000);

  it('fault proxy', async () => {
    const target = new SupabaseStandIn({ schemaSql: 'create table t (id int)' });
    await target.start();
    stops.push(() => target.stop());
    // (PGlite start above takes about 3 s)
    // --- README: fault proxy ---
    const proxy = new FaultProxy({ target: target.url, random: () => 0.25 });
    await proxy.start();
    await proxy.setFaults({ latency: { ms: 200, jitterMs: 50 } });           // slow
    await proxy.patchFaults({ errorStatus: { status: 500, rate: 0.5 } });    // and flaky
    await proxy.setFaults({ refuse: true });                                 // down: ECONNREFUSED
    await proxy.clearFaults();                                               // healthy again
    const { requests, connections } = proxy.stats();
    // Over HTTP, e.g. from a shell or another process:
    //   curl -X PUT "$CONTROL/faults" -d '{"blackHole":true}'
    await fetch(`${proxy.controlUrl}/faults`, { method: 'PUT', body: JSON.stringify({ blackHole: true }) });
    await proxy.stop();
    // --- end ---
    expect(requests.received).toBe(0);
    expect(connections.active).toBe(0);
  }, 30_000);

  it('did:web host', async () => {
    // --- README: did:web host ---
    const host = new DidWebHost({ documents: { '': (did) => basicDidDocument(did), 'users/alice': (did) => basicDidDocument(did) } });
    await host.start();
    const trust = host.trustGlobalAgent(); // web-did-resolver fetches with node-fetch on https.globalAgent
    const resolver = new Resolver(getResolver() as ConstructorParameters<typeof Resolver>[0]);
    const { didDocument } = await resolver.resolve(host.didFor('users/alice'));
    const response = await host.fetch(`${host.url}/.well-known/did.json`); // undici's fetch with host.dispatcher
    host.setRawResponse('users/alice', { status: 500 });   // negative test
    trust.dispose();
    await host.stop();
    // --- end ---
    expect(didDocument?.id).toBe(host.didFor('users/alice'));
    expect(response.status).toBe(200);
  });

  it('A2A peer', async () => {
    // --- README: A2A peer ---
    const peer = new A2aPeer({ behavior: { kind: 'echo' } });
    await peer.start();
    const client = await new ClientFactory({ transports: [new JsonRpcTransportFactory()] }).createFromUrl(peer.url);
    const reply = await client.sendMessage({ // answered with the message 'echo: hi'
      tenant: '', configuration: undefined, metadata: undefined,
      message: { messageId: 'm1', contextId: '', taskId: '', role: Role.ROLE_USER, metadata: undefined, extensions: [], referenceTaskIds: [],
        parts: [{ content: { $case: 'text', value: 'hi' }, metadata: undefined, filename: '', mediaType: 'text/plain' }] },
    });
    peer.setBehavior({ kind: 'task', steps: 3, stepDelayMs: 10 }); // then: 'delay', 'fail'
    const traceparent = peer.requests.at(-1)?.headers['traceparent'];
    await peer.stop();
    // --- end ---
    expect(messageText(reply as never)).toBe('echo: hi');
    expect(traceparent).toBeUndefined();
  });

  it('agent card', () => {
    // --- README: agent card ---
    const card = agentCard({
      name: 'planner',
      description: 'Plans trips',
      jsonRpcUrl: 'http://127.0.0.1:4000/a2a/jsonrpc',
      restUrl: 'http://127.0.0.1:4000/a2a/rest',
      skills: [{ id: 'plan', name: 'Plan', description: 'Plans a trip', examples: ['plan Lisbon'] }],
    });
    // --- end ---
    expect(card.supportedInterfaces.map((i) => i.protocolBinding)).toEqual(['JSONRPC', 'HTTP+JSON']);
    expect(card.skills[0]?.examples).toEqual(['plan Lisbon']);
  });
});
