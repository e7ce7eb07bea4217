// The README's examples, kept here so they compile (typecheck) and run. Keep the two in step.
import type { SendMessageRequest, StreamResponse } from '@a2a-js/sdk';
import { ClientFactory } from '@a2a-js/sdk/client';
import { CircuitBreakerError, getCircuitBreakerRegistry } from '@phlow/circuit-breaker';
import { A2aPeer } from '@phlow/testkit';
import { describe, expect, it } from 'vitest';
import { breakerFor, createA2aClient, protectA2aClient } from './index.js';
import { serveDuringFile, textRequest } from './test-support.test-util.js';

const plannerPeer = new A2aPeer({ name: 'planner' });
const billingPeer = new A2aPeer({ name: 'billing', behavior: { kind: 'task', steps: 1 } });

serveDuringFile(plannerPeer, billingPeer);

describe('README examples', () => {
  it('Usage', async () => {
    const plannerUrl = plannerPeer.url;
    const billingUrl = billingPeer.url;
    const request: SendMessageRequest = textRequest('hello');
    const events: StreamResponse[] = [];
    const handle = (event: StreamResponse): void => void events.push(event);
    let fellBack = false;
    const useFallback = (): void => {
      fellBack = true;
    };

    // --- README: usage ---
    // From a URL, in one line (the agent card download goes through the peer's breaker too). Private
    // addresses are refused unless allowed: these peers run on this machine (local development).
    const local = { allowPrivateAddresses: ['127.0.0.1'] };
    const planner = await createA2aClient(plannerUrl, local);
    // ...or around a client you already have (its requests are yours: no address policy).
    const billing = protectA2aClient(await new ClientFactory().createFromUrl(billingUrl), { peer: 'billing' });

    try {
      const reply = await planner.sendMessage(request);
      for await (const event of billing.sendMessageStream(request)) handle(event);
      void reply;
    } catch (error) {
      // Open (the peer is down), timed out, or a stream went quiet: the guide's fallback.
      if (CircuitBreakerError.isInstance(error)) useFallback();
      else throw error; // the peer answered, e.g. TaskNotFoundError: not the breaker's business
    }
    // --- end ---

    expect(fellBack).toBe(false);
    expect(events.at(-1)?.payload?.$case).toBe('statusUpdate');
    expect(Object.keys(getCircuitBreakerRegistry().getStats())).toEqual(expect.arrayContaining([`a2a/${new URL(plannerUrl).host}`, 'a2a/billing']));
  });

  it('One breaker per peer', async () => {
    const reportsUrl = plannerPeer.url;
    const local = { allowPrivateAddresses: ['127.0.0.1'] };
    let shown = false;
    const showReportsLater = (): void => {
      shown = true;
    };

    // --- README: one breaker per peer ---
    // Reports take minutes: their own family, with a longer timeout (breakers `a2a-slow/{peer}`).
    const reports = await createA2aClient(reportsUrl, { ...local, name: 'a2a-slow', breaker: { timeoutMs: 120_000 } });
    if (breakerFor(reports).state === 'open') showReportsLater();
    // --- end ---

    expect(shown).toBe(false);
    expect(breakerFor(reports).name).toBe(`a2a-slow/${new URL(reportsUrl).host}`);
    expect(breakerFor(reports).options.timeoutMs).toBe(120_000);
  });
});
