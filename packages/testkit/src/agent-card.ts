import type { AgentCard, AgentSkill } from '@a2a-js/sdk';
import { typeError } from './option-errors.js';

const COMPONENT = 'agentCard';

/** A skill on an {@link agentCard}: text in, text out, no security requirement. */
export interface AgentCardSkill {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  /** Keywords. Default none. */
  readonly tags?: readonly string[];
  /** Example prompts. Default none. */
  readonly examples?: readonly string[];
}

/** What an {@link agentCard} says about the agent; the rest of the card takes the values a plain text agent has. */
export interface AgentCardOptions {
  readonly name: string;
  readonly description: string;
  /** Absolute URL of the JSON-RPC binding, e.g. `http://127.0.0.1:4000/a2a/jsonrpc`. At least one of the two URLs. */
  readonly jsonRpcUrl?: string;
  /** Absolute URL of the HTTP+JSON (REST) binding, e.g. `http://127.0.0.1:4000/a2a/rest`. */
  readonly restUrl?: string;
  readonly skills: readonly AgentCardSkill[];
  /** The agent's version. Default `'0.1.0'`. */
  readonly version?: string;
  /** Whether the agent streams (`sendMessageStream`). Default true. */
  readonly streaming?: boolean;
}

function checkText(option: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') throw typeError(COMPONENT, option, value, 'a non-empty string');
  return value;
}

function checkUrl(option: string, value: unknown): string {
  if (typeof value !== 'string' || !URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol)) {
    throw typeError(COMPONENT, option, value, 'an absolute http(s) URL');
  }
  return value;
}

function checkWords(option: string, value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((word) => typeof word === 'string')) throw typeError(COMPONENT, option, value, 'an array of strings');
  return [...(value as string[])];
}

function skill(value: unknown, index: number): AgentSkill {
  const option = `skills[${index}]`;
  if (typeof value !== 'object' || value === null) throw typeError(COMPONENT, option, value, 'an object { id, name, description, tags?, examples? }');
  const given = value as Record<string, unknown>;
  return {
    id: checkText(`${option}.id`, given['id']),
    name: checkText(`${option}.name`, given['name']),
    description: checkText(`${option}.description`, given['description']),
    tags: checkWords(`${option}.tags`, given['tags']),
    examples: checkWords(`${option}.examples`, given['examples']),
    inputModes: ['text/plain'],
    outputModes: ['text/plain'],
    securityRequirements: [],
  };
}

/**
 * A complete `@a2a-js/sdk` AgentCard for a text agent (protocol 1.0, no security scheme, text in and
 * out), from what differs between agents: name, description, where its bindings listen, its skills.
 * JSON-RPC comes first among the interfaces, so clients that take the first one prefer it.
 *
 * @example
 * const card = agentCard({
 *   name: 'echo',
 *   description: 'Echoes what it is sent.',
 *   jsonRpcUrl: `${url}/a2a/jsonrpc`,
 *   restUrl: `${url}/a2a/rest`,
 *   skills: [{ id: 'echo', name: 'Echo', description: 'Answers with the text it was sent.' }],
 * });
 * new DefaultRequestHandler(card, new InMemoryTaskStore(), executor);
 */
export function agentCard(options: AgentCardOptions): AgentCard {
  if (typeof options !== 'object' || options === null) throw typeError(COMPONENT, 'options', options, 'an object');
  const interfaces: AgentCard['supportedInterfaces'] = [];
  const iface = (url: string, protocolBinding: string) => interfaces.push({ url, protocolBinding, tenant: '', protocolVersion: '1.0' });
  if (options.jsonRpcUrl !== undefined) iface(checkUrl('jsonRpcUrl', options.jsonRpcUrl), 'JSONRPC');
  if (options.restUrl !== undefined) iface(checkUrl('restUrl', options.restUrl), 'HTTP+JSON');
  if (interfaces.length === 0) throw typeError(COMPONENT, 'jsonRpcUrl', undefined, 'an absolute http(s) URL (or restUrl: a card needs one interface at least)');
  if (!Array.isArray(options.skills)) throw typeError(COMPONENT, 'skills', options.skills, 'an array of { id, name, description, tags?, examples? }');
  if (options.streaming !== undefined && typeof options.streaming !== 'boolean') throw typeError(COMPONENT, 'streaming', options.streaming, 'true or false');
  return {
    name: checkText('name', options.name),
    description: checkText('description', options.description),
    supportedInterfaces: interfaces,
    provider: undefined,
    version: options.version === undefined ? '0.1.0' : checkText('version', options.version),
    capabilities: { streaming: options.streaming ?? true, pushNotifications: false, extensions: [] },
    securitySchemes: {},
    securityRequirements: [],
    defaultInputModes: ['text/plain'],
    defaultOutputModes: ['text/plain'],
    skills: options.skills.map(skill),
    signatures: [],
  };
}
