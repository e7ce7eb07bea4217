/**
 * The demo's relay on @phlow/resilience policies, against the running agent and its real stand-ins: the
 * registry lookup's transient failures are retried within a budget, the peer's address comes from a
 * fallback chain (registry → DID → last-known address; the last tier is tested in the demo's
 * relay-peer-identity tests, where no DID document is cached), and each peer has a bulkhead. What they
 * did shows on the dashboard's state and in the Prometheus metrics.
 */
import { ClientFactory, JsonRpcTransportFactory, type Client } from '@a2a-js/sdk/client';
import { waitFor } from '@phlow/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type DemoProcess } from './demo-process.js';
import { chaos, getJson, relay } from './helpers.js';

interface PolicyCounts {
  readonly retries: number;
  readonly budgetExhausted: number;
  readonly fallbacks: Record<string, number>;
  readonly bulkheadRejections: number;
}

let demo: DemoProcess;
let client: Client;

beforeAll(async () => {
  demo = await startDemo({ PHLOW_PEER_TIMEOUT_MS: '3000' });
  client = await new ClientFactory({ transports: [new JsonRpcTransportFactory()] }).createFromUrl(demo.url);
});
afterAll(async () => {
  await demo?.stop();
});

const policies = async () => (await getJson<{ policies: PolicyCounts }>(`${demo.url}/api/state`)).policies;
const metrics = async () => (await fetch(`${demo.url}/metrics`)).text();

describe('the relay on resilience policies', () => {
  it('retries a registry answering 503 within its budget, then resolves the peer by DID', async () => {
    const before = await policies();
    await chaos(demo.url, 'supabase', 'error503');
    const answer = await relay(client, 'alpha', 'through a 503');
    expect(answer.relay).toMatchObject({ ok: true, peer: 'alpha', via: 'did' });
    const after = await policies();
    // Three attempts for the lookup: two retries (the budget's floor allows them), then the DID tier.
    expect(after.retries - before.retries).toBe(2);
    expect((after.fallbacks['did'] ?? 0) - (before.fallbacks['did'] ?? 0)).toBe(1);
    const text = await metrics();
    expect(text).toMatch(/^phlow_retry_attempts_total\{policy="registry-lookup",retry="true"[^}]*\} [1-9]/m);
    expect(text).toMatch(/^phlow_fallback_answers_total\{policy="peer-address",tier="did"[^}]*\} [1-9]/m);
    await chaos(demo.url, 'supabase', 'heal');
  });

  it("a hanging peer holds at most its bulkhead's calls: the rest are refused at once, other peers unaffected", async () => {
    expect((await relay(client, 'alpha', 'warm up')).relay).toMatchObject({ ok: true });
    await chaos(demo.url, 'peer-alpha', 'hang');
    try {
      const before = await policies();
      // 8 run (and hang until the 3 s timeout), 16 wait in the queue, the rest are refused at once.
      const answers = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          fetch(`${demo.url}/relay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ to: 'alpha', text: `crowd ${i}` }) }).then(async (r) => ({ status: r.status, body: (await r.json()) as { message?: string } })),
        ),
      );
      const busy = answers.filter((a) => a.status === 503 && /too many calls in flight/.test(a.body.message ?? ''));
      expect(busy.length).toBeGreaterThanOrEqual(40 - 8 - 16);
      expect((await policies()).bulkheadRejections - before.bulkheadRejections).toBe(busy.length);
      expect(await metrics()).toMatch(/^phlow_bulkhead_rejections_total\{policy="peer\/alpha",reason="full"[^}]*\} [1-9]/m);
      // Beta has a bulkhead of its own.
      expect((await relay(client, 'beta', 'still here')).relay).toMatchObject({ ok: true, reply: 'echo: still here' });
    } finally {
      await chaos(demo.url, 'peer-alpha', 'heal');
    }
    await waitFor('the dashboard to show the refusals', async () => (await policies()).bulkheadRejections > 0);
  });
});
