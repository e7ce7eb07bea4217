/**
 * The card agentCard builds is one the real SDK serves and reads: a server built on it (the SDK's request
 * handler and Express bindings) answers a client the SDK's ClientFactory makes from it, over each binding.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { Role, type AgentCard, type Message } from '@a2a-js/sdk';
import { ClientFactory, JsonRpcTransportFactory, RestTransportFactory } from '@a2a-js/sdk/client';
import { AgentEvent, DefaultRequestHandler, InMemoryTaskStore, type AgentExecutor } from '@a2a-js/sdk/server';
import { UserBuilder, agentCardHandler, jsonRpcHandler, restHandler } from '@a2a-js/sdk/server/express';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { A2aPeer, messageText } from './a2a-peer.js';
import { agentCard, type AgentCardOptions } from './agent-card.js';
import { close } from './listen.js';

const textMessage = (text: string, role: Role): Message => ({
  messageId: randomUUID(),
  contextId: '',
  taskId: '',
  role,
  parts: [{ content: { $case: 'text', value: text }, metadata: undefined, filename: '', mediaType: 'text/plain' }],
  metadata: undefined,
  extensions: [],
  referenceTaskIds: [],
});

/** An agent that answers `round-trip: <text>`, served on the card agentCard builds. */
let server: Server;
let card: AgentCard;
let url: string;
beforeAll(async () => {
  const app = express();
  server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  card = agentCard({
    name: 'round-trip',
    description: 'Answers what it is sent, prefixed.',
    jsonRpcUrl: `${url}/rpc`,
    restUrl: `${url}/rest`,
    skills: [{ id: 'answer', name: 'Answer', description: 'Answers what it is sent.', examples: ['hello'] }],
  });
  const executor: AgentExecutor = {
    execute: async (context, bus) => void bus.publish(AgentEvent.message(textMessage(`round-trip: ${messageText(context.userMessage)}`, Role.ROLE_AGENT))),
    cancelTask: async () => undefined,
  };
  const requestHandler = new DefaultRequestHandler(card, new InMemoryTaskStore(), executor);
  app.use('/.well-known/agent-card.json', agentCardHandler({ agentCardProvider: requestHandler }));
  app.use('/rpc', jsonRpcHandler({ requestHandler, userBuilder: UserBuilder.noAuthentication }));
  app.use('/rest', restHandler({ requestHandler, userBuilder: UserBuilder.noAuthentication }));
});
afterAll(() => close(server));

describe('agentCard', () => {
  for (const binding of ['JSONRPC', 'HTTP+JSON'] as const) {
    it(`builds a card the SDK's client reaches the agent through (${binding})`, async () => {
      const factory = new ClientFactory({ transports: [new JsonRpcTransportFactory(), new RestTransportFactory()], preferredTransports: [binding] });
      const client = await factory.createFromAgentCard(card);
      const answer = await client.sendMessage({ tenant: '', message: textMessage('hello', Role.ROLE_USER), configuration: undefined, metadata: undefined });
      expect(messageText(answer as Message)).toBe('round-trip: hello');
    });
  }

  it('is the card the SDK serves, every field as built (JSON-RPC first)', async () => {
    const served = (await (await fetch(`${url}/.well-known/agent-card.json`)).json()) as Record<string, unknown>;
    expect(served).toMatchObject({ name: 'round-trip', version: '0.1.0', capabilities: { streaming: true, pushNotifications: false } });
    expect(card.supportedInterfaces.map((i) => i.protocolBinding)).toEqual(['JSONRPC', 'HTTP+JSON']);
    expect(card.skills[0]).toEqual({ id: 'answer', name: 'Answer', description: 'Answers what it is sent.', tags: [], examples: ['hello'], inputModes: ['text/plain'], outputModes: ['text/plain'], securityRequirements: [] });
  });

  it("is the A2aPeer's card", async () => {
    const peer = new A2aPeer({ name: 'carded' });
    await peer.start();
    try {
      const client = await new ClientFactory().createFromUrl(peer.url);
      expect((await client.getAgentCard()).name).toBe('carded');
      expect(peer.agentCard).toEqual(
        agentCard({
          name: 'carded',
          description: peer.agentCard.description,
          jsonRpcUrl: `${peer.url}/a2a/jsonrpc`,
          restUrl: `${peer.url}/a2a/rest`,
          skills: [{ id: 'echo', name: 'Echo', description: 'Answers with the text it was sent.', tags: ['test'], examples: ['hello'] }],
        }),
      );
    } finally {
      await peer.stop();
    }
  });

  it('names the option, the value and what is allowed', () => {
    const base: AgentCardOptions = { name: 'x', description: 'y', jsonRpcUrl: 'http://127.0.0.1:1/rpc', skills: [] };
    expect(() => agentCard({ ...base, name: '' })).toThrow('agentCard: option "name" must be a non-empty string, got ""');
    expect(() => agentCard({ ...base, jsonRpcUrl: '/rpc' })).toThrow('agentCard: option "jsonRpcUrl" must be an absolute http(s) URL, got "/rpc"');
    expect(() => agentCard({ name: 'x', description: 'y', skills: [] })).toThrow('agentCard: option "jsonRpcUrl" must be an absolute http(s) URL (or restUrl');
    expect(() => agentCard({ ...base, skills: [{ id: 'a', name: 'A', description: 'd', tags: 'x' as never }] })).toThrow('agentCard: option "skills[0].tags" must be an array of strings, got "x"');
    expect(() => agentCard({ ...base, streaming: 'yes' as never })).toThrow('agentCard: option "streaming" must be true or false, got "yes"');
  });
});
