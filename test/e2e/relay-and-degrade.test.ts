/**
 * The demo agent, started as a user would, relays messages through its A2A skill; each dependency is
 * broken through the chaos API (the fault proxies) and the agent must fail fast, degrade, report it on
 * the health endpoint and recover once healed. Waits are bounded polls, never sleeps or timed assertions.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ClientFactory, JsonRpcTransportFactory, RestTransportFactory, type Client } from '@a2a-js/sdk/client';
import { waitFor } from '@phlow/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type DemoProcess } from './demo-process.js';
import { chaos, getJson, received, relay, textRequest, type Health } from './helpers.js';

let demo: DemoProcess;
let client: Client;

beforeAll(async () => {
  // The peer timeout is the A2A adapter's default (20 s): a fail-fast answer must come without it.
  demo = await startDemo({ PHLOW_PEER_TIMEOUT_MS: '20000', PHLOW_RECOVERY_MS: '3000' });
  client = await new ClientFactory({ transports: [new JsonRpcTransportFactory()] }).createFromUrl(demo.url);
});
afterAll(async () => {
  await demo?.stop();
});

const health = () => getJson<Health>(`${demo.url}/health/circuit-breakers`);

/** Relays to `peer` until an answer satisfies `done` (a probe after the recovery timeout, for instance). */
async function relayUntil(peer: string, done: (answer: Awaited<ReturnType<typeof relay>>) => boolean, what: string) {
  return waitFor(
    what,
    async () => {
      const answer = await relay(client, peer, 'probe');
      return done(answer) && answer;
    },
    { timeoutMs: 15_000, everyMs: 100 },
  );
}

describe('the demo agent, end to end', () => {
  it('serves its agent card and relays over JSON-RPC and REST: by registry, by DID, and records the exchange', async () => {
    const card = await getJson<{ name: string; skills: { id: string }[] }>(`${demo.url}/.well-known/agent-card.json`);
    expect(card.name).toBe('phlow-demo-agent');
    expect(card.skills.map((s) => s.id)).toEqual(['relay']);

    const before = (await health()).outbox.stored;
    const alpha = await relay(client, 'alpha', 'hello');
    expect(alpha.text).toBe('alpha answered: echo: hello');
    expect(alpha.relay).toMatchObject({ ok: true, peer: 'alpha', via: 'registry', recorded: 'stored' });

    // gamma is not in the registry: found through its DID document.
    const gamma = await relay(client, 'gamma', 'hi');
    expect(gamma.relay).toMatchObject({ ok: true, peer: 'gamma', via: 'did', reply: 'echo: hi', recorded: 'stored' });
    expect(gamma.relay.notes).toContain('not in the registry: resolved by DID');

    const rest = await new ClientFactory({ transports: [new RestTransportFactory()] }).createFromUrl(demo.url);
    const beta = await relay(rest, 'beta', 'over REST');
    expect(beta.relay).toMatchObject({ ok: true, peer: 'beta', reply: 'echo: over REST' });

    // Streaming clients get the same answer as one event.
    const events = [];
    for await (const event of client.sendMessageStream(textRequest('alpha streamed'), { signal: AbortSignal.timeout(10_000) })) events.push(event);
    expect(events).toHaveLength(1);
    expect(events[0]!.payload?.$case).toBe('message');

    expect((await health()).outbox.stored).toBe(before + 4);
    const unknown = await relay(client, 'nobody', 'hello?');
    expect(unknown.relay).toMatchObject({ ok: false, status: 404 });
  });

  it('a failing peer opens its breaker; then answers come at once, name the peer and when to retry, and the peer sees no request', async () => {
    await chaos(demo.url, 'peer-alpha', 'error503');
    for (let i = 0; i < 3; i++) {
      const answer = await relay(client, 'alpha', `failing ${i}`);
      expect(answer.relay).toMatchObject({ ok: false, status: 502, peer: 'alpha' });
    }
    const degraded = await health();
    expect(degraded.status).toBe('degraded');
    expect(degraded.open_breakers).toEqual(['a2a/alpha']);
    expect(demo.logs).toContainEqual(expect.objectContaining({ message: 'Circuit breaker a2a/alpha opened', level: 'warning' }));

    // Now the peer hangs: an unprotected agent would wait for the 20 s timeout. Each answer must come
    // back well within the client's 10 s bound, without a request reaching the peer's proxy.
    await chaos(demo.url, 'peer-alpha', 'hang');
    const seen = await received(demo.url, 'peer-alpha');
    for (let i = 0; i < 5; i++) {
      const answer = await relay(client, 'alpha', `while open ${i}`);
      expect(answer.relay).toMatchObject({ ok: false, status: 503, peer: 'alpha' });
      expect(answer.text).toMatch(/^Service temporarily unavailable: peer alpha is unavailable \(circuit open\); retry in \d+\.\d s$/);
      expect(answer.relay.retryAfterMs).toBeGreaterThanOrEqual(0);
    }
    expect(await received(demo.url, 'peer-alpha')).toBe(seen);
    expect((await health()).breaker_stats['a2a/alpha']!.total_rejections).toBeGreaterThanOrEqual(5);

    // The other peers are not affected.
    expect((await relay(client, 'beta', 'still there?')).relay).toMatchObject({ ok: true, reply: 'echo: still there?' });

    // The HTTP route answers the guide's 503.
    const response = await fetch(`${demo.url}/relay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ to: 'alpha', text: 'x' }) });
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ detail: 'Service temporarily unavailable', peer: 'alpha' });
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(0);
  });

  it('the peer recovers once healed: a probe closes its breaker and the health is healthy again', async () => {
    await chaos(demo.url, 'peer-alpha', 'heal');
    const answer = await relayUntil('alpha', (a) => a.relay.ok, 'alpha to answer again');
    expect(answer.relay.reply).toBe('echo: probe');
    const healed = await health();
    expect(healed.breaker_stats['a2a/alpha']!.state).toBe('closed');
    expect(healed.status).toBe('healthy');
    expect(demo.logs).toContainEqual(expect.objectContaining({ message: 'Circuit breaker a2a/alpha closed' }));
  });

  it('Supabase down: peers are found by DID, exchanges wait in the outbox, and are replayed once Supabase is back', async () => {
    await chaos(demo.url, 'supabase', 'down');
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await relay(client, 'beta', `no registry ${i}`));
    for (const answer of answers) {
      expect(answer.relay).toMatchObject({ ok: true, peer: 'beta', via: 'did', recorded: 'outbox' });
      expect(answer.relay.notes.join(' ')).toMatch(/registry (unavailable|lookup failed)/);
    }
    expect(answers.at(-1)!.relay.notes).toContain('registry unavailable (Supabase breaker open): resolved by DID');
    const degraded = await health();
    expect(degraded.open_breakers).toContain('supabase/rest');
    expect(degraded.outbox.pending).toBe(4);

    await chaos(demo.url, 'supabase', 'heal');
    const replayed = await waitFor('the outbox to be replayed', async () => {
      const h = await health();
      return h.outbox.pending === 0 && h;
    });
    expect(replayed.outbox.replayed).toBe(4);
    expect(replayed.breaker_stats['supabase/rest']!.state).toBe('closed');
    expect((await relay(client, 'beta', 'registry back')).relay).toMatchObject({ ok: true, via: 'registry', recorded: 'stored' });
  });

  it('DID host down: the cached document is served (stale) while its breaker is open, fresh again once healed', async () => {
    await chaos(demo.url, 'did-host', 'down');
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await relay(client, 'gamma', `stale ${i}`));
    for (const answer of answers) {
      expect(answer.relay).toMatchObject({ ok: true, peer: 'gamma', via: 'did-stale', reply: `echo: stale ${answers.indexOf(answer)}` });
      expect(answer.relay.notes).toContain('DID host unavailable: used the cached DID document');
    }
    const degraded = await health();
    expect(degraded.open_breakers.filter((name) => name.startsWith('did/web:'))).toHaveLength(1);

    await chaos(demo.url, 'did-host', 'heal');
    await relayUntil('gamma', (a) => a.relay.via === 'did', 'a fresh DID resolution');
    expect((await health()).status).toBe('healthy');
  });

  it('registry and DID host both down, for a peer never resolved: a clear 503 naming it, not a hang', async () => {
    await chaos(demo.url, 'supabase', 'down');
    await chaos(demo.url, 'did-host', 'down');
    try {
      const answer = await relay(client, 'delta', 'anyone?');
      expect(answer.relay).toMatchObject({ ok: false, status: 503, peer: 'delta' });
      expect(answer.text).toMatch(/^Service temporarily unavailable: cannot locate peer delta/);
    } finally {
      await chaos(demo.url, 'supabase', 'heal');
      await chaos(demo.url, 'did-host', 'heal');
    }
  });

  it('/metrics carries the guide\'s two series; the admin reset needs the token', async () => {
    const metrics = await (await fetch(`${demo.url}/metrics`)).text();
    const series = (metric: string, labels: Record<string, string>) =>
      metrics.split('\n').filter((line) => line.startsWith(`${metric}{`) && Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)));
    // Family members report under their full names: the peer that failed and healed, the database's REST API.
    expect(series('phlow_circuit_breaker_state', { name: 'a2a/alpha', state: 'closed' })).toEqual([expect.stringMatching(/ 1$/)]);
    expect(series('phlow_circuit_breaker_state', { name: 'supabase/rest', state: 'open' })).toEqual([expect.stringMatching(/ 0$/)]);
    expect(series('phlow_circuit_breaker_failures_total', { name: 'a2a/alpha' })).toEqual([expect.stringMatching(/ [1-9]\d*$/)]);
    expect(series('phlow_circuit_breaker_failures_total', { name: 'supabase/rest' })).toEqual([expect.stringMatching(/ [1-9]\d*$/)]);

    await chaos(demo.url, 'peer-beta', 'down');
    for (let i = 0; i < 3; i++) await relay(client, 'beta', `down ${i}`);
    // Open, or half-open once the recovery timeout passed: either way not closed until a probe or a reset.
    expect((await health()).breaker_stats['a2a/beta']!.state).not.toBe('closed');
    const refused = await fetch(`${demo.url}/admin/reset`, { method: 'POST', headers: { authorization: 'Bearer wrong' } });
    expect(refused.status).toBe(401);
    expect((await health()).breaker_stats['a2a/beta']!.state).not.toBe('closed');
    const reset = await fetch(`${demo.url}/admin/reset`, { method: 'POST', headers: { authorization: `Bearer ${demo.adminToken}` } });
    expect(reset.status).toBe(200);
    expect(await health()).toMatchObject({ status: 'healthy', open_breakers: [] });
    expect((await health()).breaker_stats['a2a/beta']).toMatchObject({ state: 'closed', failure_count: 0 });
    await chaos(demo.url, 'peer-beta', 'heal');
    expect((await relay(client, 'beta', 'after reset')).relay).toMatchObject({ ok: true });
  });

  it('demo:load drives relays at the agent and prints a progress line', async () => {
    const load = fileURLToPath(new URL('../../apps/demo-agent/dist/load.js', import.meta.url));
    const before = (await health()).breaker_stats['a2a/gamma']!.total_calls;
    const { stdout } = await promisify(execFile)(process.execPath, [load], {
      env: { ...process.env, AGENT_URL: demo.url, DURATION: '2', RATE: '20', CONCURRENCY: '2', PEERS: 'alpha,beta,gamma' },
      timeout: 20_000,
    });
    expect(stdout).toMatch(/^\s*\d+ s {2}sent \d+ {2}ok [1-9]\d* {2}refused 0 {2}errors 0 .* p50 [\d.]+ ms {2}p99 [\d.]+ ms$/m);
    expect(stdout).toMatch(/^Done: \d+ sent in [\d.]+ s, [1-9]\d* ok, 0 refused, 0 errors\.$/m);
    expect((await health()).breaker_stats['a2a/gamma']!.total_calls).toBeGreaterThan(before);
  });
});
