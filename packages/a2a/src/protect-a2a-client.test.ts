import { context, SpanStatusCode, trace } from '@opentelemetry/api';
import { TaskState, type Message, type StreamResponse, type Task } from '@a2a-js/sdk';
import type { Client } from '@a2a-js/sdk/client';
import { CircuitBreakerError, CircuitBreakerRegistry, CircuitOpenError, CircuitTimeoutError, isTransient } from '@phlow/circuit-breaker';
import { EVENT_REJECTED, EVENT_TIMEOUT, SPAN_ATTR_NAME, SPAN_ATTR_STATE } from '@phlow/otel';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import { A2A_JSONRPC_PATH, messageText } from '@phlow/testkit';
import { rejection, waitFor } from '@phlow/test-helpers';
import { describe, expect, it } from 'vitest';
import { A2aStreamIdleTimeoutError } from './errors.js';
import { a2aProtectionOf, breakerFor, protectA2aClient } from './protect-a2a-client.js';
import type { ProtectA2aClientOptions } from './a2a-protection-options.js';
import { freshEachTest, PeerBehindProxy, serveDuringFile, setUpTracing, textRequest, traceparentOf } from './test-support.test-util.js';

const tracing = setUpTracing();
const alpha = new PeerBehindProxy('alpha');
const beta = new PeerBehindProxy('beta');
let registry: CircuitBreakerRegistry;

serveDuringFile(alpha, beta);
freshEachTest(tracing, (fresh) => (registry = fresh), alpha, beta);

async function protect(side: PeerBehindProxy, options: Partial<ProtectA2aClientOptions> = {}): Promise<Client> {
  return protectA2aClient(await side.client(), { peer: side.peer.agentCard.name, registry, tracerProvider: tracing.tracerProvider, url: side.proxy.url, ...options });
}

function isTask(result: Message | Task): result is Task {
  return 'status' in result;
}

describe('protectA2aClient: messages and tasks through the real SDK', () => {
  it('sends a message and traces it as a client span named by the A2A method', async () => {
    const client = await protect(alpha);
    const reply = await client.sendMessage(textRequest('hello'));
    expect(messageText(reply as Message)).toBe('echo: hello');
    const [span] = tracing.spans('a2a SendMessage');
    expect(span?.kind).toBe(2); // SpanKind.CLIENT
    expect(span?.attributes).toMatchObject({
      'rpc.system': 'jsonrpc',
      'rpc.method': 'SendMessage',
      'phlow.a2a.peer': 'alpha',
      'phlow.a2a.protocol_binding': 'JSONRPC',
      'server.address': '127.0.0.1',
      'server.port': alpha.proxy.port,
      [SPAN_ATTR_NAME]: 'a2a/alpha',
      [SPAN_ATTR_STATE]: 'closed',
    });
    expect(span?.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('runs a task, gets it and cancels another, with the task id on the spans', async () => {
    const client = await protect(alpha);
    alpha.peer.setBehavior({ kind: 'task', steps: 2 });
    const task = (await client.sendMessage(textRequest('plan'))) as Task;
    expect(isTask(task) && task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    const fetched = await client.getTask({ tenant: '', id: task.id, historyLength: undefined });
    expect(fetched.artifacts.map((a) => a.artifactId)).toEqual(['step-1', 'step-2']);
    expect(tracing.spans('a2a SendMessage')[0]?.attributes['phlow.a2a.task.id']).toBe(task.id);
    expect(tracing.spans('a2a GetTask')[0]?.attributes['phlow.a2a.task.id']).toBe(task.id);

    alpha.peer.setBehavior({ kind: 'task', steps: 1, stepDelayMs: 30_000 });
    const stream = client.sendMessageStream(textRequest('long'));
    const first = await stream.next();
    const running = first.value?.payload?.value as Task;
    const canceled = await client.cancelTask({ tenant: '', id: running.id, metadata: undefined });
    expect(canceled.status?.state).toBe(TaskState.TASK_STATE_CANCELED);
    await stream.return(undefined);
    expect(tracing.spans('a2a CancelTask')[0]?.attributes['phlow.a2a.task.id']).toBe(running.id);
  });

  it('streams every event, and the stream span covers the whole stream', async () => {
    const client = await protect(alpha);
    alpha.peer.setBehavior({ kind: 'task', steps: 3, stepDelayMs: 5 });
    const kinds: string[] = [];
    for await (const event of client.sendMessageStream(textRequest('stream me'))) kinds.push(event.payload?.$case ?? 'none');
    expect(kinds).toEqual(['task', 'statusUpdate', 'artifactUpdate', 'artifactUpdate', 'artifactUpdate', 'statusUpdate']);
    const [span] = tracing.spans('a2a SendStreamingMessage');
    expect(span?.attributes).toMatchObject({ 'rpc.method': 'SendStreamingMessage', 'phlow.a2a.stream.events': 6, [SPAN_ATTR_STATE]: 'closed' });
    expect(span?.attributes['phlow.a2a.task.id']).toEqual(expect.any(String));
    expect(span?.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('the rest of the surface: listTasks, resubscribeTask, getAgentCard, push-notification configs', async () => {
    const client = await protect(alpha);
    alpha.peer.setBehavior({ kind: 'task', steps: 2, stepDelayMs: 200 });
    const stream = client.sendMessageStream(textRequest('watch me'));
    const running = (await stream.next()).value?.payload?.value as Task;
    const resubscribed: string[] = [];
    for await (const event of client.resubscribeTask({ tenant: '', id: running.id })) resubscribed.push(event.payload?.$case ?? 'none');
    expect(resubscribed.at(-1)).toBe('statusUpdate');
    await stream.return(undefined);
    expect(tracing.spans('a2a SubscribeToTask')[0]?.attributes['phlow.a2a.task.id']).toBe(running.id);

    const listed = await client.listTasks({ tenant: '', contextId: '', status: TaskState.TASK_STATE_UNSPECIFIED, pageToken: '', statusTimestampAfter: undefined });
    expect(listed.tasks.map((t) => t.id)).toContain(running.id);
    expect(tracing.spans('a2a ListTasks')).toHaveLength(1);

    expect((await client.getAgentCard()).name).toBe('alpha');
    expect(tracing.spans('a2a GetExtendedAgentCard')).toHaveLength(1);

    const push = await rejection(client.getTaskPushNotificationConfig({ tenant: '', taskId: running.id, id: 'c' }));
    expect((push as { reason?: string }).reason).toBe('PUSH_NOTIFICATION_NOT_SUPPORTED');
    expect(tracing.spans('a2a GetTaskPushNotificationConfig')[0]?.attributes).toMatchObject({ 'phlow.a2a.counted_as_failure': false, 'phlow.a2a.task.id': running.id });
    expect(a2aProtectionOf(client)?.breaker.getStats()).toMatchObject({ total_failures: 0 });
  });

  it('leaves everything else of the client as it was', async () => {
    const plain = await alpha.client();
    const client = protectA2aClient(plain, { peer: 'alpha', registry, tracerProvider: tracing.tracerProvider });
    expect(client.protocolVersion).toBe(plain.protocolVersion);
    expect(client.transport).toBe(plain.transport);
    expect(a2aProtectionOf(client)).toMatchObject({ peer: 'alpha', client: plain });
    expect(a2aProtectionOf(client)?.breaker.name).toBe('a2a/alpha');
    expect(a2aProtectionOf(plain)).toBeUndefined();
    expect(() => protectA2aClient(client, { peer: 'again' })).toThrow(/already protected \(peer "alpha"\)/);
  });
});

describe('one breaker per peer', () => {
  it('a refused peer opens only its own breaker; the other peer keeps working', async () => {
    const a = await protect(alpha);
    const b = await protect(beta);
    await alpha.proxy.setFaults({ refuse: true });
    for (let i = 0; i < 3; i++) {
      const error = await rejection(a.sendMessage(textRequest(`down ${i}`)));
      expect((error as { cause?: { code?: string } }).cause?.code).toBe('ECONNREFUSED');
      expect(isTransient(error)).toBe(true); // never sent: safe to retry, even a SendMessage
    }
    expect(registry.get('a2a/alpha')?.state).toBe('open');
    const accepted = alpha.proxy.stats().connections.accepted;
    const rejected = await rejection(a.sendMessage(textRequest('fast fail')));
    expect(CircuitOpenError.isInstance(rejected)).toBe(true);
    expect(isTransient(rejected)).toBe(false); // our own refusal: a retry would meet it again
    expect((rejected as CircuitOpenError).breakerName).toBe('a2a/alpha');
    expect(alpha.proxy.stats().connections.accepted).toBe(accepted); // never left the process

    expect(messageText((await b.sendMessage(textRequest('still here'))) as Message)).toBe('echo: still here');
    expect(registry.get('a2a/beta')?.state).toBe('closed');

    const spans = tracing.spans('a2a SendMessage').filter((s) => s.attributes['phlow.a2a.peer'] === 'alpha');
    expect(spans.at(-1)?.events.map((e) => e.name)).toContain(EVENT_REJECTED);
    expect(spans.at(-1)?.attributes[ATTR_ERROR_TYPE]).toBe('CircuitOpenError');
    expect(spans[0]?.attributes['phlow.a2a.counted_as_failure']).toBe(true);
  });

  it('the family is bounded: an open peer breaker still being called is not evicted at once; the new peer is told when it gets one', async () => {
    const a = await protect(alpha, { name: 'a2a-small', maxKeys: 1 });
    await alpha.proxy.setFaults({ refuse: true });
    for (let i = 0; i < 3; i++) await rejection(a.sendMessage(textRequest('x')));
    expect(registry.get('a2a-small/alpha')?.state).toBe('open');
    const full = await rejection(protect(beta, { name: 'a2a-small', maxKeys: 1 }));
    expect(full).toMatchObject({ name: 'CircuitFamilyFullError', key: 'beta', maxKeys: 1 });
    // Within one recovery timeout (the A2A default, 45 s), never "forever".
    const { retryAfterMs } = full as { retryAfterMs: number };
    expect(retryAfterMs).toBeGreaterThan(0);
    expect(retryAfterMs).toBeLessThanOrEqual(45_000);
  });

  it('a scan of one-off peers (a client built, handed out and called once each) pushes out only itself, never a regular peer', async () => {
    const a = await protect(alpha, { name: 'a2a-scan', maxKeys: 2 });
    for (let i = 0; i < 2; i++) await a.sendMessage(textRequest('regular'));
    const regular = registry.get('a2a-scan/alpha');
    for (let i = 0; i < 5; i++) {
      const scan = await protect(beta, { name: 'a2a-scan', maxKeys: 2, peer: `scan-${i}` });
      expect(breakerFor(scan).name).toBe(`a2a-scan/scan-${i}`);
      await scan.sendMessage(textRequest('once'));
    }
    expect(registry.get('a2a-scan/alpha')).toBe(regular);
    expect(registry.get('a2a-scan/scan-3')).toBeUndefined();
    expect(registry.get('a2a-scan/scan-4')?.state).toBe('closed');
  });

  it('HTTP 503 from the peer counts as a failure', async () => {
    const a = await protect(alpha);
    await alpha.proxy.setFaults({ errorStatus: { status: 503 } });
    for (let i = 0; i < 3; i++) {
      const unavailable = await rejection(a.sendMessage(textRequest('x')));
      expect(String(unavailable)).toMatch(/503/);
      expect(isTransient(unavailable)).toBe(true); // "not now": worth another try
    }
    expect(registry.get('a2a/alpha')?.state).toBe('open');
  });

  it('JSON-RPC error answers on the wire: -32603 counts, -32601 and -32600 do not', async () => {
    const a = await protect(alpha);
    const answer = (code: number, status: number) =>
      alpha.proxy.setFaults({ errorStatus: { status, body: JSON.stringify({ jsonrpc: '2.0', id: 1, error: { code, message: `code ${code}` } }), headers: { 'content-type': 'application/json' } } });
    await answer(-32601, 404);
    for (let i = 0; i < 3; i++) expect(await rejection(a.sendMessage(textRequest('x')))).toMatchObject({ envelopeCode: -32601 });
    await answer(-32600, 400);
    for (let i = 0; i < 3; i++) expect(await rejection(a.getTask({ tenant: '', id: 't', historyLength: undefined }))).toMatchObject({ envelopeCode: -32600 });
    expect(registry.get('a2a/alpha')?.getStats()).toMatchObject({ state: 'closed', total_failures: 0, total_ignored: 6 });
    await answer(-32603, 500);
    for (let i = 0; i < 3; i++) {
      const internal = await rejection(a.sendMessage(textRequest('x')));
      expect(internal).toMatchObject({ envelopeCode: -32603 });
      expect(isTransient(internal)).toBe(false); // the peer answered with a protocol error
    }
    expect(registry.get('a2a/alpha')?.state).toBe('open');
    const last = tracing.spans('a2a SendMessage').at(-1);
    expect(last?.attributes).toMatchObject({ 'rpc.jsonrpc.error_code': -32603, 'phlow.a2a.counted_as_failure': true, [ATTR_ERROR_TYPE]: 'JsonRpcTransportError' });
  });

  it('a stream refused at open counts too', async () => {
    const a = await protect(alpha);
    await alpha.proxy.setFaults({ errorStatus: { status: 502 } });
    for (let i = 0; i < 3; i++) await rejection(a.sendMessageStream(textRequest('x')).next());
    expect(registry.get('a2a/alpha')?.state).toBe('open');
  });
});

describe('invalid requests never trip', () => {
  it('unknown tasks, uncancelable tasks and invalid params leave the breaker closed', async () => {
    const a = await protect(alpha);
    for (let i = 0; i < 5; i++) {
      const error = await rejection(a.getTask({ tenant: '', id: `no-such-task-${i}`, historyLength: undefined }));
      expect((error as { reason?: string }).reason).toBe('TASK_NOT_FOUND');
    }
    alpha.peer.setBehavior({ kind: 'task', steps: 0 });
    const done = (await a.sendMessage(textRequest('quick'))) as Task;
    for (let i = 0; i < 3; i++) {
      const error = await rejection(a.cancelTask({ tenant: '', id: done.id, metadata: undefined }));
      expect((error as { reason?: string }).reason).toBe('TASK_NOT_CANCELABLE');
    }
    for (let i = 0; i < 3; i++) {
      const error = await rejection(a.sendMessage({ ...textRequest('x'), message: undefined }));
      expect((error as { envelopeCode?: number }).envelopeCode).toBe(-32602);
    }
    const breaker = registry.get('a2a/alpha')!;
    expect(breaker.state).toBe('closed');
    expect(breaker.getStats()).toMatchObject({ failure_count: 0, total_failures: 0, total_ignored: 11 });

    const span = tracing.spans('a2a GetTask')[0]!;
    expect(span.status.code).toBe(SpanStatusCode.ERROR); // the call failed, for its caller
    expect(span.attributes).toMatchObject({ 'rpc.jsonrpc.error_code': -32001, 'phlow.a2a.counted_as_failure': false, 'phlow.a2a.task.id': 'no-such-task-0' });
  });
});

describe('timeouts abort the HTTP request', () => {
  it('a peer that does not answer in time: CircuitTimeoutError, the connection is closed by the client, a failure', async () => {
    const a = await protect(alpha, { name: 'a2a-fast', breaker: { timeoutMs: 300 } });
    alpha.peer.setBehavior({ kind: 'delay', ms: 60_000 });
    using closes = alpha.watchCloses();
    const before = alpha.abortedByClient;
    const error = await rejection(a.sendMessage(textRequest('slow')));
    expect(CircuitTimeoutError.isInstance(error)).toBe(true);
    expect(isTransient(error)).toBe(false); // the message may have been delivered: not safe to repeat
    await waitFor('the proxy to see the client abort', () => alpha.abortedByClient > before);
    expect(closes.closedBy).toContain('client');
    expect(registry.get('a2a-fast/alpha')?.getStats()).toMatchObject({ failure_count: 1 });
    await alpha.proxy.setFaults({ blackHole: true }); // the peer's own delay covers messages only
    const read = await rejection(a.getTask({ tenant: '', id: 't', historyLength: undefined }));
    expect(CircuitTimeoutError.isInstance(read)).toBe(true);
    expect(isTransient(read)).toBe(true); // a read that timed out: repeating it is harmless
    const [span] = tracing.spans('a2a SendMessage');
    expect(span?.events.map((e) => e.name)).toContain(EVENT_TIMEOUT);
    expect(span?.status.code).toBe(SpanStatusCode.ERROR);
  });

  it("the caller's own abort is not a failure and not a span error", async () => {
    const a = await protect(alpha);
    alpha.peer.setBehavior({ kind: 'delay', ms: 60_000 });
    const controller = new AbortController();
    const pending = a.sendMessage(textRequest('never mind'), { signal: controller.signal });
    await waitFor('the request to reach the peer', () => alpha.peer.requests.some((r) => r.url === A2A_JSONRPC_PATH));
    controller.abort(new Error('user gave up'));
    expect(String(await rejection(pending))).toMatch(/user gave up/);
    expect(registry.get('a2a/alpha')?.getStats()).toMatchObject({ failure_count: 0 });
    expect(tracing.spans('a2a SendMessage')[0]?.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('a stream whose first event does not come in time: the breaker timeout', async () => {
    const a = await protect(alpha, { name: 'a2a-fast', breaker: { timeoutMs: 300 } });
    alpha.peer.setBehavior({ kind: 'delay', ms: 60_000, then: { kind: 'task' } });
    const before = alpha.abortedByClient;
    const error = await rejection(a.sendMessageStream(textRequest('slow start')).next());
    expect(CircuitTimeoutError.isInstance(error)).toBe(true);
    await waitFor('the proxy to see the client abort', () => alpha.abortedByClient > before);
    expect(registry.get('a2a-fast/alpha')?.getStats()).toMatchObject({ failure_count: 1 });
  });

  it('a stream that goes quiet between events: A2aStreamIdleTimeoutError, request aborted, a failure', async () => {
    const a = await protect(alpha, { streamIdleTimeoutMs: 1_000 }); // generous: 'working' follows 'task' at once, even on a loaded machine
    alpha.peer.setBehavior({ kind: 'task', steps: 2, stepDelayMs: 60_000 });
    using closes = alpha.watchCloses();
    const before = alpha.abortedByClient;
    const received: string[] = [];
    let caught: unknown;
    try {
      for await (const event of a.sendMessageStream(textRequest('then silence'))) received.push(event.payload?.$case ?? 'none');
    } catch (error) {
      caught = error;
    }
    expect(received).toEqual(['task', 'statusUpdate']); // submitted, working; then the first step never comes
    expect(caught).toBeInstanceOf(A2aStreamIdleTimeoutError);
    expect(CircuitBreakerError.isInstance(caught)).toBe(true);
    expect(caught).toMatchObject({ idleTimeoutMs: 1_000, eventsReceived: 2, breakerName: 'a2a/alpha' });
    await waitFor('the proxy to see the client abort', () => alpha.abortedByClient > before);
    expect(closes.closedBy).toContain('client');
    expect(registry.get('a2a/alpha')?.getStats()).toMatchObject({ failure_count: 1 });
    const [span] = tracing.spans('a2a SendStreamingMessage');
    expect(span?.attributes).toMatchObject({ [ATTR_ERROR_TYPE]: 'A2aStreamIdleTimeoutError', 'phlow.a2a.stream.events': 2, 'phlow.a2a.counted_as_failure': true });
  });

  it("the caller's abort mid-stream: rejects with its reason, request closed, neither a failure nor a span error", async () => {
    const a = await protect(alpha);
    alpha.peer.setBehavior({ kind: 'task', steps: 2, stepDelayMs: 60_000 });
    const controller = new AbortController();
    const before = alpha.abortedByClient;
    const reason = new Error('user closed the chat');
    let received = 0;
    const error = await rejection(
      (async () => {
        for await (const _ of a.sendMessageStream(textRequest('long'), { signal: controller.signal })) {
          void _;
          if (++received === 2) controller.abort(reason);
        }
      })(),
    );
    expect(error).toBe(reason);
    await waitFor('the proxy to see the client abort', () => alpha.abortedByClient > before);
    expect(registry.get('a2a/alpha')?.getStats()).toMatchObject({ total_failures: 0 });
    expect(tracing.spans('a2a SendStreamingMessage')[0]?.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('leaving a stream early closes its request and ends the span without error', async () => {
    const a = await protect(alpha);
    alpha.peer.setBehavior({ kind: 'task', steps: 2, stepDelayMs: 60_000 });
    const before = alpha.abortedByClient;
    let first: StreamResponse | undefined;
    for await (const event of a.sendMessageStream(textRequest('just the first'))) {
      first = event;
      break;
    }
    expect(first?.payload?.$case).toBe('task');
    await waitFor('the proxy to see the client abort', () => alpha.abortedByClient > before);
    const [span] = tracing.spans('a2a SendStreamingMessage');
    expect(span?.status.code).toBe(SpanStatusCode.UNSET);
    expect(span?.attributes['phlow.a2a.stream.events']).toBe(1);
    expect(registry.get('a2a/alpha')?.getStats()).toMatchObject({ failure_count: 0 });
  });
});

describe('W3C trace context reaches the peer', () => {
  it('the peer receives a traceparent naming the client span, in the caller trace', async () => {
    const a = await protect(alpha);
    const parent = tracing.tracer.startSpan('agent turn');
    await context.with(trace.setSpan(context.active(), parent), () => a.sendMessage(textRequest('traced')));
    parent.end();
    const span = tracing.spans('a2a SendMessage')[0]!;
    expect(span.spanContext().traceId).toBe(parent.spanContext().traceId);
    expect(span.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    const received = alpha.peer.requests.filter((r) => r.url === A2A_JSONRPC_PATH);
    expect(received).toHaveLength(1);
    expect(received[0]?.headers['traceparent']).toBe(traceparentOf(span));
  });

  it('streams and caller service parameters too', async () => {
    const a = await protect(alpha);
    alpha.peer.setBehavior({ kind: 'task', steps: 1 });
    const stream = a.sendMessageStream(textRequest('traced stream'), { serviceParameters: { 'x-caller': 'kept' } });
    for await (const _ of stream) void _;
    const span = tracing.spans('a2a SendStreamingMessage')[0]!;
    const received = alpha.peer.requests.find((r) => r.url === A2A_JSONRPC_PATH);
    expect(received?.headers['traceparent']).toBe(traceparentOf(span));
    expect(received?.headers['x-caller']).toBe('kept');
  });
});

describe('options', () => {
  it('reject bad values naming the option, the value and what is allowed', async () => {
    const plain = await alpha.client();
    expect(() => protectA2aClient(plain, {} as ProtectA2aClientOptions)).toThrow(
      new TypeError('protectA2aClient: peer must be a non-empty string (a host or agent name); got undefined'),
    );
    expect(() => protectA2aClient(plain, { peer: 'p', maxKeys: 0 })).toThrow(new RangeError('protectA2aClient: maxKeys must be an integer >= 1; got 0'));
    expect(() => protectA2aClient(plain, { peer: 'p', idleTtlMs: 0 })).toThrow(new RangeError('protectA2aClient: idleTtlMs must be a number >= 1 and <= 2147483647; got 0'));
    expect(() => protectA2aClient(plain, { peer: 'p', streamIdleTimeoutMs: -1 })).toThrow(RangeError);
    expect(() => protectA2aClient(plain, { peer: 'p', name: 'a/b' })).toThrow(/protectA2aClient: name must be a non-empty string without "\/".*; got "a\/b"/);
    expect(() => protectA2aClient(plain, { peer: 'p', url: 'not a url' })).toThrow(/protectA2aClient: url must be an absolute URL string; got "not a url"/);
    expect(() => protectA2aClient(plain, { peer: 'p', registry: {} as never })).toThrow(/protectA2aClient: registry must be a CircuitBreakerRegistry; got \{\}/);
    expect(() => protectA2aClient(plain, { peer: 'p', tracerProvider: tracing.tracer as never })).toThrow(/protectA2aClient: tracerProvider must be an OpenTelemetry TracerProvider/);
    expect(() => protectA2aClient(plain, { peer: 'p', peeer: 'typo' } as ProtectA2aClientOptions)).toThrow(/unknown option "peeer"/);
    expect(() => protectA2aClient({} as Client, { peer: 'p' })).toThrow(/client must be an @a2a-js\/sdk Client/);
    expect(() => protectA2aClient(plain, { peer: 'p', registry, breaker: { failureThreshold: 0 } })).toThrow(RangeError);
  });

  it.each([
    ['family', 'a2a-old'],
    ['maxPeers', 10],
    ['peerIdleTtlMs', 60_000],
    ['tracer', trace.getTracer('old')],
  ])('refuse the old option %s, listing the options there are', async (option, value) => {
    const plain = await alpha.client();
    expect(() => protectA2aClient(plain, { peer: 'p', registry, [option]: value } as ProtectA2aClientOptions)).toThrow(
      new TypeError(`protectA2aClient: unknown option "${option}"; allowed: name, registry, breaker, maxKeys, idleTtlMs, tracerProvider, peer, url, streamIdleTimeoutMs`),
    );
  });

  it('name the family and bound it: the peer breaker is {name}/{peer}', async () => {
    const client = await protect(alpha, { name: 'planners', maxKeys: 5, idleTtlMs: 60_000 });
    expect(breakerFor(client).name).toBe('planners/alpha');
    expect(registry.getFamily('planners')).toMatchObject({ maxKeys: 5, idleTtlMs: 60_000 });
  });

  it('send the spans to the tracerProvider given, under the @phlow/a2a scope', async () => {
    await (await protect(alpha)).sendMessage(textRequest('scoped'));
    expect(tracing.spans('a2a SendMessage')[0]?.instrumentationScope.name).toBe('@phlow/a2a');
  });

  it('use the guide defaults, and a second client with other breaker options for the same family throws', async () => {
    const a = await protect(alpha);
    const breaker = a2aProtectionOf(a)!.breaker;
    expect(breaker.options).toMatchObject({ recoveryTimeoutMs: 45_000, timeoutMs: 20_000 });
    expect(breaker.getStats()).toMatchObject({ failure_threshold: 3 });
    await expect(protect(beta, { breaker: { timeoutMs: 1_000 } })).rejects.toThrow(/already exists with a different timeoutMs/);
  });
});

describe('breakerFor', () => {
  it("hands out the protected client's peer breaker, the one its calls go through", async () => {
    const client = await protect(alpha);
    const breaker = breakerFor(client);
    expect(breaker.name).toBe('a2a/alpha');
    expect(breaker).toBe(registry.get('a2a/alpha'));
    await alpha.proxy.setFaults({ refuse: true });
    for (let i = 0; i < 3; i++) await rejection(client.sendMessage(textRequest('down')));
    expect(breakerFor(client).state).toBe('open');
  });

  it('refuses a client this package did not protect, naming itself', async () => {
    const plain = await alpha.client();
    expect(() => breakerFor(plain)).toThrow(
      new TypeError('breakerFor: client must be a client protected by @phlow/a2a (protectA2aClient, createA2aClient); got an unprotected object'),
    );
    expect(() => breakerFor(undefined as never)).toThrow(/^breakerFor: client must be .*; got undefined$/);
  });
});
