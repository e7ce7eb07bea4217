import { request } from 'node:http';
import type { Message } from '@a2a-js/sdk';
import type { Client } from '@a2a-js/sdk/client';

import { textMessageRequest as textRequest } from '@phlow/a2a';

export { textRequest };

/** The relay's structured result, as the agent puts it in the answer's metadata. */
export interface RelayAnswer {
  readonly text: string;
  readonly relay: {
    readonly ok: boolean;
    readonly peer: string;
    readonly breaker?: string;
    readonly url?: string;
    readonly via?: string;
    readonly reply?: string;
    readonly recorded?: string;
    readonly status?: number;
    readonly message?: string;
    readonly retryAfterMs?: number;
    readonly notes: string[];
  };
}

/** Relays through the agent's A2A skill ("<peer> <text>"); bounded by `withinMs` (the agent's own timeouts are longer). */
export async function relay(client: Client, peer: string, text: string, withinMs = 10_000): Promise<RelayAnswer> {
  const result = await client.sendMessage(textRequest(`${peer} ${text}`), { signal: AbortSignal.timeout(withinMs) });
  if (!('role' in result)) throw new Error(`expected a message, got a task: ${JSON.stringify(result)}`);
  const message = result as Message;
  let answer = '';
  for (const part of message.parts) if (part.content?.$case === 'text') answer = part.content.value;
  return { text: answer, relay: (message.metadata as { relay: RelayAnswer['relay'] }).relay };
}

export interface Health {
  readonly status: 'healthy' | 'degraded';
  readonly open_breakers: string[];
  readonly open_foreign_breakers: string[];
  readonly breaker_stats: Record<string, { state: string; failure_count: number; total_rejections: number; total_calls: number }>;
  readonly outbox: { pending: number; replayed: number; dropped: number; stored: number };
}

export async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

export async function chaos(agentUrl: string, dependency: string, action: string): Promise<void> {
  // The dashboard's request: same-origin JSON (the chaos controls refuse anything a hostile page could send).
  const response = await fetch(`${agentUrl}/chaos/${dependency}/${action}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`chaos ${dependency} ${action}: ${response.status} ${await response.text()}`);
}

export interface ChaosState {
  readonly dependencies: { name: string; breaker?: string; faults: Record<string, unknown>; forwarded: number; received: number }[];
}

/** Requests the dependency's fault proxy received (forwarded or answered with a fault). */
export async function received(agentUrl: string, dependency: string): Promise<number> {
  const state = await getJson<ChaosState>(`${agentUrl}/chaos`);
  const entry = state.dependencies.find((d) => d.name === dependency);
  if (entry === undefined) throw new Error(`no dependency ${dependency}`);
  return entry.received;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

/**
 * One HTTP request with node:http, so any header can be set (`Host`, `Origin`, a wrong `Content-Length`)
 * and the body sent as raw bytes. Bounded at 10 s.
 */
export function rawRequest(url: string, options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<RawResponse> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: target.hostname, port: target.port, path: `${target.pathname}${target.search}`, method: options.method ?? 'GET', headers: options.headers, timeout: 10_000, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${options.method ?? 'GET'} ${url}: no answer within 10 s`)));
    req.on('error', reject);
    req.end(options.body);
  });
}
