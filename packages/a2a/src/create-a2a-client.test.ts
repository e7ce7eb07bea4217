import { SpanStatusCode } from '@opentelemetry/api';
import type { Message, Task } from '@a2a-js/sdk';
import { ClientFactory, JsonRpcTransportFactory, RestTransportFactory } from '@a2a-js/sdk/client';
import { CircuitBreakerRegistry, CircuitOpenError, ManualClock } from '@phlow/circuit-breaker';
import { A2A_REST_PATH, A2aPeer, messageText } from '@phlow/testkit';
import { rejection, waitFor } from '@phlow/test-helpers';
import { beforeEach, describe, expect, it } from 'vitest';
import { createGuardedFetch } from '@phlow/address-policy';
import { createA2aClient } from './create-a2a-client.js';
import { a2aProtectionOf, breakerFor } from './protect-a2a-client.js';
import { freshEachTest, PeerBehindProxy, serveDuringFile, setUpTracing, textRequest, traceparentOf } from './test-support.test-util.js';

const tracing = setUpTracing();
/** The peers here listen on loopback, which the address policy refuses unless allowed. */
const local = { allowPrivateAddresses: ['127.0.0.1'] };
const direct = new A2aPeer({ name: 'direct' });
const gamma = new PeerBehindProxy('gamma');
let registry: CircuitBreakerRegistry;

serveDuringFile(direct, gamma);
freshEachTest(tracing, (fresh) => (registry = fresh), gamma);
beforeEach(() => {
  direct.clearRequests();
  direct.setBehavior({ kind: 'echo' });
});

describe('createA2aClient', () => {
  it('from a URL: the card download goes through the peer breaker, traced, and the client is protected', async () => {
    const client = await createA2aClient(direct.url, { ...local, registry, tracerProvider: tracing.tracerProvider });
    const protection = a2aProtectionOf(client)!;
    expect(protection.peer).toBe(new URL(direct.url).host);
    expect(protection.breaker.name).toBe(`a2a/${new URL(direct.url).host}`);
    expect(messageText((await client.sendMessage(textRequest('hi'))) as Message)).toBe('echo: hi');

    const [cardSpan] = tracing.spans('a2a GetAgentCard');
    expect(cardSpan?.attributes).toMatchObject({ 'phlow.a2a.peer': protection.peer, 'server.port': direct.port, 'phlow.circuit_breaker.name': protection.breaker.name });
    const cardRequest = direct.requests.find((r) => r.url === '/.well-known/agent-card.json');
    expect(cardRequest?.headers['traceparent']).toBe(traceparentOf(cardSpan!));
    expect(protection.breaker.getStats()).toMatchObject({ total_successes: 2, total_calls: 2 });
  });

  it('from a URL that is down: the card download counts against the peer', async () => {
    await gamma.proxy.setFaults({ refuse: true });
    const options = { ...local, registry, tracerProvider: tracing.tracerProvider, peer: 'gamma' };
    for (let i = 0; i < 3; i++) expect(String((await rejection(createA2aClient(gamma.proxy.url, options)) as Error).cause)).toMatch(/ECONNREFUSED/);
    expect(CircuitOpenError.isInstance(await rejection(createA2aClient(gamma.proxy.url, options)))).toBe(true);
    expect(tracing.spans('a2a GetAgentCard').at(-1)?.status.code).toBe(SpanStatusCode.ERROR);
  });

  it('a wrong card path (404) is the caller mistake: it does not count', async () => {
    for (let i = 0; i < 4; i++) {
      const error = await rejection(createA2aClient(direct.url, { ...local, registry, tracerProvider: tracing.tracerProvider, peer: 'direct', agentCardPath: '/no-card-here.json' }));
      expect(String(error)).toMatch(/Failed to fetch Agent Card from .*: 404/);
    }
    expect(registry.get('a2a/direct')?.getStats()).toMatchObject({ state: 'closed', total_failures: 0, total_ignored: 4 });
  });

  it('from an agent card, with the SDK factory of your choice (REST binding)', async () => {
    const fetchImpl = createGuardedFetch(local);
    const factory = new ClientFactory({ transports: [new RestTransportFactory({ fetchImpl }), new JsonRpcTransportFactory({ fetchImpl })], preferredTransports: ['HTTP+JSON'] });
    const client = await createA2aClient(direct.agentCard, { registry, tracerProvider: tracing.tracerProvider, factory, peer: 'direct' });
    direct.setBehavior({ kind: 'task', steps: 1 });
    const task = (await client.sendMessage(textRequest('over rest'))) as Task;
    expect(direct.requests.some((r) => r.url.startsWith(A2A_REST_PATH))).toBe(true);
    for (let i = 0; i < 4; i++) {
      const error = await rejection(client.getTask({ tenant: '', id: `missing-${i}`, historyLength: undefined }));
      expect((error as { reason?: string }).reason).toBe('TASK_NOT_FOUND');
    }
    expect(a2aProtectionOf(client)?.breaker.state).toBe('closed');
    const [span] = tracing.spans('a2a SendMessage');
    expect(span?.attributes).toMatchObject({ 'phlow.a2a.protocol_binding': 'HTTP+JSON', 'phlow.a2a.task.id': task.id, 'rpc.method': 'SendMessage' });
    expect(span?.attributes['rpc.system']).toBeUndefined();
    const rpc = direct.requests.find((r) => r.url.startsWith(A2A_REST_PATH));
    expect(rpc?.headers['traceparent']).toBe(traceparentOf(span!));
  });

  it('from a card, the peer defaults to the host of its first interface', async () => {
    const client = await createA2aClient(gamma.card, { ...local, registry, tracerProvider: tracing.tracerProvider });
    expect(a2aProtectionOf(client)?.peer).toBe(new URL(gamma.proxy.url).host);
  });

  it('rejects a bad source naming it', async () => {
    await expect(createA2aClient('not a url', { registry })).rejects.toThrow(new TypeError('createA2aClient: source must be an absolute URL or an AgentCard; got "not a url"'));
    await expect(createA2aClient({} as never, { registry })).rejects.toThrow(/must be an absolute URL or an AgentCard \(with supportedInterfaces\)/);
  });

  it.each(['family', 'maxPeers', 'peerIdleTtlMs', 'tracer', 'url'])('refuses the option %s, listing the options there are', async (option) => {
    await expect(createA2aClient(direct.url, { ...local, registry, [option]: 'old' } as never)).rejects.toThrow(
      new TypeError(
        `createA2aClient: unknown option "${option}"; allowed: name, registry, breaker, maxKeys, idleTtlMs, tracerProvider, peer, streamIdleTimeoutMs, factory, agentCardPath, fetch, allowPrivateAddresses`,
      ),
    );
    expect(direct.requests).toEqual([]);
  });

  it('takes the shared options: name and bounds of the family, tracerProvider, and breakerFor hands out the peer breaker', async () => {
    const client = await createA2aClient(direct.url, { ...local, registry, name: 'agents', maxKeys: 2, idleTtlMs: 1_000, tracerProvider: tracing.tracerProvider, peer: 'direct' });
    expect(breakerFor(client)).toBe(registry.get('agents/direct'));
    expect(registry.getFamily('agents')).toMatchObject({ maxKeys: 2, idleTtlMs: 1_000 });
    expect(tracing.spans('a2a GetAgentCard')[0]?.attributes['phlow.circuit_breaker.name']).toBe('agents/direct');
  });
});

describe('recovery', () => {
  it('open → half-open after the recovery timeout (ManualClock) → a successful probe closes it', async () => {
    const clock = new ManualClock();
    const client = await createA2aClient(gamma.card, { ...local, registry, tracerProvider: tracing.tracerProvider, peer: 'gamma', breaker: { clock } });
    await gamma.proxy.setFaults({ refuse: true });
    for (let i = 0; i < 3; i++) await rejection(client.sendMessage(textRequest('x')));
    const breaker = a2aProtectionOf(client)!.breaker;
    expect(breaker.state).toBe('open');
    expect(CircuitOpenError.isInstance(await rejection(client.sendMessage(textRequest('x'))))).toBe(true);

    await gamma.proxy.clearFaults();
    clock.advance(45_000);
    expect(breaker.state).toBe('half_open');
    expect(messageText((await client.sendMessage(textRequest('back'))) as Message)).toBe('echo: back');
    expect(breaker.state).toBe('closed');
  });

  it('a peer that drops the connection mid-stream counts as a failure', async () => {
    const client = await createA2aClient(gamma.card, { ...local, registry, tracerProvider: tracing.tracerProvider, peer: 'gamma' });
    gamma.peer.setBehavior({ kind: 'task', steps: 2, stepDelayMs: 60_000 });
    const stream = client.sendMessageStream(textRequest('then a crash'));
    expect((await stream.next()).value?.payload?.$case).toBe('task');
    await gamma.proxy.setFaults({ reset: true });
    const error = await rejection((async () => {
      for (;;) if ((await stream.next()).done === true) return;
    })());
    expect(String(error)).toMatch(/terminated|ECONNRESET|socket/i);
    const breaker = a2aProtectionOf(client)!.breaker;
    await waitFor('the mid-stream failure to be recorded', () => breaker.getStats().failure_count === 1);
    expect(tracing.spans('a2a SendStreamingMessage')[0]?.attributes['phlow.a2a.counted_as_failure']).toBe(true);
  });
});
