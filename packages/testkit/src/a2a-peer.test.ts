import { randomUUID } from 'node:crypto';
import { Role, TaskState, type Message, type SendMessageRequest, type StreamResponse, type Task } from '@a2a-js/sdk';
import { ClientFactory, DefaultAgentCardResolver, JsonRpcTransportFactory, RestTransportFactory, type Client } from '@a2a-js/sdk/client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { A2A_JSONRPC_PATH, A2A_REST_PATH, A2aPeer, messageText } from './a2a-peer.js';
import { FaultProxy } from './fault-proxy.js';

function request(text: string): SendMessageRequest {
  return {
    tenant: '',
    message: { messageId: randomUUID(), contextId: '', taskId: '', role: Role.ROLE_USER, parts: [{ content: { $case: 'text', value: text }, metadata: undefined, filename: '', mediaType: 'text/plain' }], metadata: undefined, extensions: [], referenceTaskIds: [] },
    configuration: undefined,
    metadata: undefined,
  };
}

function factory(preferred: 'JSONRPC' | 'HTTP+JSON' = 'JSONRPC'): ClientFactory {
  return new ClientFactory({
    transports: [new JsonRpcTransportFactory(), new RestTransportFactory()],
    cardResolver: new DefaultAgentCardResolver(),
    preferredTransports: [preferred],
  });
}

function isTask(result: Message | Task): result is Task {
  return 'status' in result;
}

describe('A2aPeer with the real @a2a-js/sdk client', () => {
  const peer = new A2aPeer({ name: 'test-peer' });
  let client: Client;

  beforeAll(async () => {
    await peer.start();
    client = await factory().createFromUrl(peer.url);
  });
  afterAll(() => peer.stop());
  beforeEach(() => {
    peer.setBehavior({ kind: 'echo' });
    peer.clearRequests();
  });

  it('serves its agent card with JSON-RPC and REST interfaces', async () => {
    const response = await fetch(`${peer.url}/.well-known/agent-card.json`);
    const card = (await response.json()) as { name: string; supportedInterfaces: { url: string; protocolBinding: string }[] };
    expect(card.name).toBe('test-peer');
    expect(card.supportedInterfaces.map((i) => [i.protocolBinding, i.url])).toEqual([
      ['JSONRPC', `${peer.url}${A2A_JSONRPC_PATH}`],
      ['HTTP+JSON', `${peer.url}${A2A_REST_PATH}`],
    ]);
  });

  it('echoes over JSON-RPC and records the request headers (traceparent)', async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const result = await client.sendMessage(request('hello'), { serviceParameters: { traceparent } });
    expect(isTask(result)).toBe(false);
    expect(messageText(result as Message)).toBe('echo: hello');
    const rpc = peer.requests.find((r) => r.url === A2A_JSONRPC_PATH);
    expect(rpc?.method).toBe('POST');
    expect(rpc?.headers['traceparent']).toBe(traceparent);
  });

  it('echoes over the REST binding too', async () => {
    const rest = await factory('HTTP+JSON').createFromUrl(peer.url);
    const result = await rest.sendMessage(request('via rest'));
    expect(messageText(result as Message)).toBe('echo: via rest');
    expect(peer.requests.some((r) => r.url.startsWith(A2A_REST_PATH))).toBe(true);
  });

  it('runs a task to completed; getTask returns it with its artifacts', async () => {
    peer.setBehavior({ kind: 'task', steps: 2 });
    const result = await client.sendMessage(request('plan'));
    expect(isTask(result)).toBe(true);
    const task = result as Task;
    expect(task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    const fetched = await client.getTask({ tenant: '', id: task.id, historyLength: undefined });
    expect(fetched.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(fetched.artifacts.map((a) => a.artifactId)).toEqual(['step-1', 'step-2']);
    expect(messageText(fetched.status?.message)).toBe('done: plan');
  });

  it('streams the lifecycle: task, working, artifacts, completed', async () => {
    peer.setBehavior({ kind: 'task', steps: 3, stepDelayMs: 5 });
    const kinds: string[] = [];
    let last: StreamResponse | undefined;
    for await (const event of client.sendMessageStream(request('stream me'))) {
      const payload = event.payload;
      if (payload?.$case === 'statusUpdate') kinds.push(`status:${TaskState[payload.value.status?.state ?? 0]}`);
      else kinds.push(payload?.$case ?? 'none');
      last = event;
    }
    expect(kinds).toEqual(['task', 'status:TASK_STATE_WORKING', 'artifactUpdate', 'artifactUpdate', 'artifactUpdate', 'status:TASK_STATE_COMPLETED']);
    expect(last?.payload?.$case).toBe('statusUpdate');
  });

  it('a failing executor comes back as a failed task (the SDK turns the throw into TASK_STATE_FAILED)', async () => {
    peer.setBehavior({ kind: 'fail', message: 'kaput' });
    const result = await client.sendMessage(request('x'));
    expect(isTask(result)).toBe(true);
    expect((result as Task).status?.state).toBe(TaskState.TASK_STATE_FAILED);
    expect(messageText((result as Task).status?.message)).toBe('Agent execution error: kaput');
  });

  it('a task can end failed', async () => {
    peer.setBehavior({ kind: 'task', steps: 0, finalState: 'failed' });
    const result = (await client.sendMessage(request('doomed'))) as Task;
    expect(result.status?.state).toBe(TaskState.TASK_STATE_FAILED);
  });

  it('delays until the client aborts', async () => {
    peer.setBehavior({ kind: 'delay', ms: 10_000 });
    const error = await client.sendMessage(request('slow'), { signal: AbortSignal.timeout(100) }).catch((e: unknown) => e);
    expect((error as Error).name).toMatch(/TimeoutError|AbortError/);
  });

  it('a short delay then echoes', async () => {
    peer.setBehavior({ kind: 'delay', ms: 20 });
    expect(messageText((await client.sendMessage(request('later'))) as Message)).toBe('echo: later');
  });

  it('cancels a running task', async () => {
    peer.setBehavior({ kind: 'task', steps: 1, stepDelayMs: 10_000 });
    const stream = client.sendMessageStream(request('long'));
    const first = await stream.next();
    expect(first.value?.payload?.$case).toBe('task');
    const taskId = (first.value?.payload?.value as Task).id;
    const canceled = await client.cancelTask({ tenant: '', id: taskId, metadata: undefined });
    expect(canceled.status?.state).toBe(TaskState.TASK_STATE_CANCELED);
    await stream.return(undefined);
  });

  it('unknown task → TaskNotFound error from the SDK', async () => {
    await expect(client.getTask({ tenant: '', id: 'no-such-task', historyLength: undefined })).rejects.toThrow(/not found/i);
  });

  it('through a FaultProxy: injected 503 and refused connections reach the client', async () => {
    const proxy = new FaultProxy({ target: peer.url });
    await proxy.start();
    try {
      const card = { ...peer.agentCard, supportedInterfaces: [{ ...peer.agentCard.supportedInterfaces[0]!, url: `${proxy.url}${A2A_JSONRPC_PATH}` }] };
      const viaProxy = await factory().createFromAgentCard(card);
      expect(messageText((await viaProxy.sendMessage(request('through'))) as Message)).toBe('echo: through');
      await proxy.setFaults({ errorStatus: { status: 503 } });
      await expect(viaProxy.sendMessage(request('x'))).rejects.toThrow(/503/);
      await proxy.setFaults({ refuse: true });
      const refused = await viaProxy.sendMessage(request('x')).catch((e: unknown) => e);
      expect((refused as { cause?: { code?: string } }).cause?.code).toBe('ECONNREFUSED');
      expect(proxy.stats().requests).toMatchObject({ forwarded: 1, injected: 1 });
    } finally {
      await proxy.stop();
    }
  });

  it('rejects bad behaviours naming option, value and what is allowed', () => {
    expect(() => peer.setBehavior({ kind: 'sing' } as never)).toThrow(new TypeError('A2aPeer: option "behavior.kind" must be "echo", "delay", "fail" or "task", got "sing"'));
    expect(() => peer.setBehavior({ kind: 'delay', ms: -1 })).toThrow(new RangeError('A2aPeer: option "behavior.ms" must be a finite number >= 0, got -1'));
    expect(() => new A2aPeer({ behavior: { kind: 'task', steps: 1.5 } })).toThrow(/"behavior.steps" must be an integer from 0 to 1000, got 1.5/);
  });
});
