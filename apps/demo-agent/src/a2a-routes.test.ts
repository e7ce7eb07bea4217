/**
 * The agent's A2A side on a real server, read and called by the real @a2a-js/sdk client over both
 * bindings. The relay behind the skill is a recording stand-in: the routes' work is to carry its result.
 */
import { randomUUID } from 'node:crypto';
import { Role, type Message } from '@a2a-js/sdk';
import { ClientFactory, JsonRpcTransportFactory, RestTransportFactory } from '@a2a-js/sdk/client';
import { messageText } from '@phlow/a2a';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { A2A_JSONRPC_PATH, A2A_REST_PATH, demoAgentCard, errorBodyFor, mountA2aRoutes } from './a2a-routes.js';
import { jsonErrors, jsonNotFound } from './http-errors.js';
import { startHttpServer, type HttpServer } from './http-server.js';
import type { RelayResult } from './relay.js';

let agent: HttpServer;
const relayed: { target: string; text: string }[] = [];
const relay = {
  relay: async (target: string, text: string): Promise<RelayResult> => {
    relayed.push({ target, text });
    return { ok: true, peer: target, breaker: `a2a/${target}`, url: 'http://peer.example', via: 'registry', reply: `echo: ${text}`, recorded: 'stored', notes: [] };
  },
};

beforeAll(async () => {
  agent = await startHttpServer({ host: '127.0.0.1', port: 0, allowedHosts: ['127.0.0.1'] });
  mountA2aRoutes(agent.app, { url: agent.url, relay });
  agent.app.use(jsonNotFound(errorBodyFor));
  agent.app.use(jsonErrors(errorBodyFor));
});
afterAll(() => agent?.close());

const send = (text: string) => ({
  tenant: '',
  message: { messageId: randomUUID(), contextId: '', taskId: '', role: Role.ROLE_USER, parts: [{ content: { $case: 'text' as const, value: text }, metadata: undefined, filename: '', mediaType: 'text/plain' }], metadata: undefined, extensions: [], referenceTaskIds: [] },
  configuration: undefined,
  metadata: undefined,
});

describe('A2A routes', () => {
  it('serve the demo card, naming both bindings on the address the agent listens on', async () => {
    const card = await (await fetch(`${agent.url}/.well-known/agent-card.json`)).json();
    expect(card).toMatchObject({ name: 'phlow-demo-agent', skills: [{ id: 'relay' }] });
    expect(card).toEqual(JSON.parse(JSON.stringify(demoAgentCard(agent.url))));
    expect(demoAgentCard(agent.url).supportedInterfaces.map((i) => i.url)).toEqual([`${agent.url}${A2A_JSONRPC_PATH}`, `${agent.url}${A2A_REST_PATH}`]);
  });

  for (const binding of ['JSONRPC', 'HTTP+JSON'] as const) {
    it(`relay "<peer> <message>" and answer with the peer's reply and the whole result (${binding})`, async () => {
      const factory = new ClientFactory({ transports: [new JsonRpcTransportFactory(), new RestTransportFactory()], preferredTransports: [binding] });
      const client = await factory.createFromUrl(agent.url);
      const answer = (await client.sendMessage(send(`alpha hello ${binding}`))) as Message;
      expect(messageText(answer)).toBe(`alpha answered: echo: hello ${binding}`);
      expect(answer.metadata).toMatchObject({ relay: { ok: true, peer: 'alpha', via: 'registry' } });
      expect(relayed.at(-1)).toEqual({ target: 'alpha', text: `hello ${binding}` });
    });
  }

  it('answer a message that names no peer with how to write one, relaying nothing', async () => {
    const before = relayed.length;
    const client = await new ClientFactory().createFromUrl(agent.url);
    const answer = (await client.sendMessage(send('hello'))) as Message;
    expect(messageText(answer)).toBe('Send "<peer> <message>", e.g. "alpha hello" (peer: an agent id or a DID)');
    expect(answer.metadata).toMatchObject({ relay: { ok: false, status: 400 } });
    expect(relayed.length).toBe(before);
  });

  it("answer errors in each binding's own shape", async () => {
    const rpc = await fetch(`${agent.url}${A2A_JSONRPC_PATH}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[]' });
    expect(await rpc.json()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32600 } });
    const rest = await fetch(`${agent.url}${A2A_REST_PATH}/nowhere`);
    expect(await rest.json()).toMatchObject({ error: { code: 404 } });
  });
});
