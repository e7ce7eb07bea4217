import { CircuitBreakerRegistry, type PolicyEvent } from '@phlow/circuit-breaker';
import { A2aPeer } from '@phlow/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { breakerFor, createA2aClient } from './index.js';
import { peerFallback, PeersUnavailableError } from './peer-fallback.js';
import { textRequest } from './test-support.test-util.js';

const local = { allowPrivateAddresses: ['127.0.0.1'] };

describe('peerFallback: alternative peers, real A2A peers on loopback', () => {
  const started: A2aPeer[] = [];
  const peer = async (name: string) => {
    const p = new A2aPeer({ name });
    await p.start();
    started.push(p);
    return p;
  };
  afterEach(async () => {
    await Promise.all(started.splice(0).map((p) => p.stop()));
  });

  it('answers from the next peer when the first is down, says why, and reports a fallback event', async () => {
    const registry = new CircuitBreakerRegistry({ logger: false });
    const events: PolicyEvent[] = [];
    registry.onPolicyEvent((e) => events.push(e));
    const primary = await peer('primary');
    const backup = await peer('backup');
    const primaryClient = await createA2aClient(primary.url, { ...local, peer: 'primary', registry });
    const backupClient = await createA2aClient(backup.url, { ...local, peer: 'backup', registry });
    await primary.stop(); // refused connections from now on
    const planners = peerFallback([primaryClient, backupClient], { name: 'planner', registry });
    const answer = await planners.sendMessage(textRequest('plan'));
    expect(answer.peer).toBe('backup');
    expect(answer.index).toBe(1);
    expect(answer.skipped.map((s) => [s.peer, s.reason])).toEqual([['primary', 'error']]);
    expect(events).toEqual([expect.objectContaining({ type: 'fallback', policy: 'planner', tier: 'backup', tierIndex: 1, skipped: [{ tier: 'primary', reason: 'error' }] })]);
    // Once the primary's breaker is open it is skipped without a request.
    breakerFor(primaryClient).forceOpen();
    const again = await planners.sendMessage(textRequest('plan'));
    expect(again.skipped.map((s) => s.reason)).toEqual(['rejected']);
  });

  it('answers from the first peer with nothing skipped and no event', async () => {
    const registry = new CircuitBreakerRegistry({ logger: false });
    const events: PolicyEvent[] = [];
    registry.onPolicyEvent((e) => events.push(e));
    const only = await peer('only');
    const client = await createA2aClient(only.url, { ...local, peer: 'only', registry });
    const answer = await peerFallback([client], { registry }).sendMessage(textRequest('hi'));
    expect(answer).toMatchObject({ peer: 'only', index: 0, skipped: [] });
    expect(events).toEqual([]);
  });

  it('rejects with PeersUnavailableError listing every peer when none answers', async () => {
    const registry = new CircuitBreakerRegistry({ logger: false });
    const a = await peer('a');
    const b = await peer('b');
    const clients = [await createA2aClient(a.url, { ...local, peer: 'a', registry }), await createA2aClient(b.url, { ...local, peer: 'b', registry })];
    await a.stop();
    await b.stop();
    const error = await peerFallback(clients, { registry }).sendMessage(textRequest('hi')).catch((e: unknown) => e);
    expect(PeersUnavailableError.isInstance(error)).toBe(true);
    expect((error as PeersUnavailableError).failures.map((f) => f.peer)).toEqual(['a', 'b']);
  });

  it("passes the request's own error and the caller's abort straight to the caller", async () => {
    const registry = new CircuitBreakerRegistry({ logger: false });
    const a = await peer('a');
    const b = await peer('b');
    const clients = [await createA2aClient(a.url, { ...local, peer: 'a', registry }), await createA2aClient(b.url, { ...local, peer: 'b', registry })];
    const chain = peerFallback(clients, { registry });
    const asked: string[] = [];
    // An unknown task is the request's fault: the next peer would answer the same.
    const notFound = await chain.call((client, name) => { asked.push(name); return client.getTask({ id: 'no-such-task', historyLength: 0 } as never); }).catch((e: unknown) => e);
    expect(PeersUnavailableError.isInstance(notFound)).toBe(false);
    expect(asked).toEqual(['a']);
    const controller = new AbortController();
    controller.abort(new Error('caller left'));
    await expect(chain.sendMessage(textRequest('hi'), { signal: controller.signal })).rejects.toThrow('caller left');
  });

  it('validates its arguments', () => {
    expect(() => peerFallback([])).toThrow('peerFallback needs at least one protected client');
    expect(() => peerFallback([{ sendMessage() {} } as never])).toThrow('peerFallback: client 0 is not protected');
    expect(() => peerFallback([], { names: 'x' } as never)).toThrow('unknown option "names"');
  });
  it('an abort while a peer call ignores its signal ends the call at once with the reason, the late failure unhandled nowhere', async () => {
    const registry = new CircuitBreakerRegistry({ logger: false });
    const primary = await peer('primary');
    const client = await createA2aClient(primary.url, { ...local, peer: 'primary', registry });
    const planners = peerFallback([client], { registry });
    let fail!: (error: Error) => void;
    const controller = new AbortController();
    const call = planners.call(() => new Promise<never>((_, reject) => (fail = reject)), controller.signal);
    const reason = new Error('caller left');
    controller.abort(reason);
    await expect(call).rejects.toBe(reason);
    fail(new Error('late'));
    await new Promise<void>((resolve) => setImmediate(resolve));
    await expect(planners.call('nope' as never)).rejects.toThrow(/call needs a function.*nope/);
  });
  it('falls through a peer whose @phlow/resilience bulkhead or rate limiter refused, or whose timeout policy gave up', async () => {
    // @phlow/resilience is not a dependency of this package: its errors are built here the way any copy
    // of it builds them (the same marker keys; resilience's own suite pins those keys).
    const { errorMarker } = await import('@phlow/circuit-breaker/internal');
    class BulkheadRejectedError extends Error {}
    errorMarker('phlow.resilience.bulkhead-rejected-error').mark(BulkheadRejectedError, 'BulkheadRejectedError');
    class TimeoutError extends Error {}
    errorMarker('phlow.resilience.timeout-error').mark(TimeoutError, 'TimeoutError');
    const registry = new CircuitBreakerRegistry({ logger: false });
    const [a, b, c] = await Promise.all([peer('a'), peer('b'), peer('c')]);
    const clients = await Promise.all([a, b, c].map((p, i) => createA2aClient(p.url, { ...local, peer: `p${i}`, registry })));
    const chain = peerFallback(clients, { registry });
    const answer = await chain.call(async (_client, name) => {
      if (name === 'p0') throw new BulkheadRejectedError('full');
      if (name === 'p1') throw new TimeoutError('slow');
      return name;
    });
    expect(answer.peer).toBe('p2');
    expect(answer.skipped.map((s) => [s.peer, s.reason])).toEqual([['p0', 'rejected'], ['p1', 'timeout']]);
  });
});
