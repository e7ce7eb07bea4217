/**
 * The agent's A2A side, on @a2a-js/sdk's server: its card at `/.well-known/agent-card.json`, the
 * JSON-RPC and HTTP+JSON (REST) bindings, and the executor whose one skill is the relay.
 */
import { randomUUID } from 'node:crypto';
import { Role, type AgentCard, type Message } from '@a2a-js/sdk';
import { AgentEvent, DefaultRequestHandler, InMemoryTaskStore, type AgentExecutor } from '@a2a-js/sdk/server';
import { UserBuilder, agentCardHandler, jsonRpcHandler, restHandler } from '@a2a-js/sdk/server/express';
import { messageText } from '@phlow/a2a';
import { agentCard } from '@phlow/testkit';
import type { Express, Request } from 'express';
import { detailBody, jsonRpcErrorBody, restErrorBody, type ErrorBody } from './http-errors.js';
import { jsonBody } from './json-body.js';
import { parseRelayText, type Relay, type RelayResult } from './relay.js';

export const A2A_JSONRPC_PATH = '/a2a/jsonrpc';
export const A2A_REST_PATH = '/a2a/rest';

/** Body caps of the A2A endpoints: what a text relay needs, far from what hurts. */
const A2A_BODY = { limit: '100kb', maxDepth: 32, types: ['application/json', 'application/a2a+json'], required: false } as const;
const JSON_RPC_BODY = { ...A2A_BODY, object: 'a JSON-RPC request object { "jsonrpc": "2.0", "id", "method", "params" }' };
const REST_BODY = { ...A2A_BODY, object: 'a JSON object (an A2A HTTP+JSON request)' };

/** The error shape of a request's route family: the A2A bindings' own, `{ detail }` elsewhere. */
export function errorBodyFor(req: Request): ErrorBody {
  const path = req.originalUrl.split('?', 1)[0]!;
  if (path === A2A_JSONRPC_PATH || path.startsWith(`${A2A_JSONRPC_PATH}/`)) return jsonRpcErrorBody;
  if (path === A2A_REST_PATH || path.startsWith(`${A2A_REST_PATH}/`)) return restErrorBody;
  return detailBody;
}

/** The demo agent's card, for an agent reached at `url`. */
export function demoAgentCard(url: string): AgentCard {
  return agentCard({
    name: 'phlow-demo-agent',
    description: 'Relays a message to a peer agent named by agent id or DID, through circuit breakers on every dependency.',
    jsonRpcUrl: `${url}${A2A_JSONRPC_PATH}`,
    restUrl: `${url}${A2A_REST_PATH}`,
    skills: [
      {
        id: 'relay',
        name: 'Relay',
        description: 'Send "<peer> <message>": the peer (agent id or DID) is looked up in the registry or by DID, the message relayed, the exchange recorded.',
        tags: ['relay', 'a2a'],
        examples: ['alpha hello', 'gamma how are you?'],
      },
    ],
  });
}

/** Answers each message with the relay's outcome: the peer's reply, or why there is none (and the whole result in the metadata). */
export function relayExecutor(relay: Pick<Relay, 'relay'>): AgentExecutor {
  return {
    execute: async (context, bus) => {
      const parsed = parseRelayText(messageText(context.userMessage));
      const result: RelayResult =
        parsed === undefined
          ? { ok: false, status: 400, peer: '', message: 'Send "<peer> <message>", e.g. "alpha hello" (peer: an agent id or a DID)', notes: [] }
          : await relay.relay(parsed.target, parsed.text);
      const text = result.ok ? `${result.peer} answered: ${result.reply}` : result.message;
      const message: Message = {
        messageId: randomUUID(),
        contextId: context.contextId,
        taskId: '',
        role: Role.ROLE_AGENT,
        parts: [{ content: { $case: 'text', value: text }, metadata: undefined, filename: '', mediaType: 'text/plain' }],
        metadata: { relay: result },
        extensions: [],
        referenceTaskIds: [],
      };
      bus.publish(AgentEvent.message(message));
    },
    cancelTask: async () => undefined,
  };
}

/** Mounts the card and both bindings on `app` for an agent reached at `url`. */
export function mountA2aRoutes(app: Express, { url, relay }: { readonly url: string; readonly relay: Pick<Relay, 'relay'> }): void {
  const requestHandler = new DefaultRequestHandler(demoAgentCard(url), new InMemoryTaskStore(), relayExecutor(relay));
  app.use('/.well-known/agent-card.json', agentCardHandler({ agentCardProvider: requestHandler }));
  // Our own body reading first (the SDK's parser then finds the body read): caps, and an object.
  app.use(A2A_JSONRPC_PATH, ...jsonBody(JSON_RPC_BODY));
  app.use(A2A_REST_PATH, ...jsonBody(REST_BODY));
  app.use(A2A_JSONRPC_PATH, jsonRpcHandler({ requestHandler, userBuilder: UserBuilder.noAuthentication }));
  app.use(A2A_REST_PATH, restHandler({ requestHandler, userBuilder: UserBuilder.noAuthentication }));
}
