/**
 * The demo's configuration, from environment variables. Every dependency has an embedded stand-in
 * (the testkit's), used when its variable is not set; setting it points the agent at the real thing.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { isAgentId } from './peer-identity.js';

export interface DemoConfig {
  /** Where the agent listens (`HOST`, `PORT`; default 127.0.0.1:8080, `PORT=0` takes a free port). */
  readonly host: string;
  readonly port: number;
  /** `SUPABASE_URL` + `SUPABASE_KEY` (or `SUPABASE_ANON_KEY`): a real project with `agent_cards` and `messages`. */
  readonly supabaseUrl: string | undefined;
  readonly supabaseKey: string | undefined;
  /** `PEER_URLS`: `alpha=http://host:port,beta=...`, real A2A peers seeded into the stand-in registry. */
  readonly peerUrls: ReadonlyMap<string, string> | undefined;
  /** `DID_WEB_HOST`: the did:web host whose `agents:<id>` documents name peers (`did:web:<host>:agents:<id>`). */
  readonly didWebHost: string | undefined;
  /**
   * `A2A_ALLOW_PRIVATE=1`: peers' A2A endpoints may be on private addresses (loopback, LAN). Without it
   * only the embedded peers' loopback addresses are allowed, and none when peers come from `PEER_URLS`.
   */
  readonly a2aAllowPrivate: boolean;
  /** `DID_CA_FILE`: PEM file of CA certificates to trust for did:web hosts (a private PKI), besides Node's roots. */
  readonly didCa: string | undefined;
  /**
   * `ALLOWED_HOSTS`: the host names requests may carry in their `Host` header (comma list), against DNS
   * rebinding. Default: `HOST`, `127.0.0.1`, `localhost` and `[::1]`.
   */
  readonly allowedHosts: readonly string[];
  /** `ADMIN_TOKEN`: guards `POST /admin/reset` (and lets scripts use the chaos controls); generated (and printed) when unset. */
  readonly adminToken: string;
  /** `PHLOW_RECOVERY_MS`: how long every breaker stays open before a probe (demo default 10 s). */
  readonly recoveryTimeoutMs: number;
  /** `PHLOW_PEER_TIMEOUT_MS`: a peer call's timeout (default 5 s; the adapter's default is 20 s). */
  readonly peerTimeoutMs: number;
  /** `PHLOW_SUPABASE_TIMEOUT_MS` (default 10 s, the guide's) and `PHLOW_DID_TIMEOUT_MS` (default 15 s). */
  readonly supabaseTimeoutMs: number;
  readonly didTimeoutMs: number;
  /** `PHLOW_DID_CACHE_TTL_MS`: fresh DID documents are reused this long (default 5 s, so the host is seen). */
  readonly didCacheTtlMs: number;
  /** `OTEL_EXPORTER_OTLP_ENDPOINT` (and the other standard OTEL_* variables): OTLP export besides `/metrics`. */
  readonly otlpEndpoint: string | undefined;
  /**
   * `PHLOW_OUTBOX_PATH`: the SQLite file where exchanges wait for Supabase; it survives restarts and
   * crashes. Default `.phlow/outbox.sqlite` under the working directory for a real project (`SUPABASE_URL`).
   * The embedded stand-in's database lives and dies with the process, so what waits for it cannot land
   * in the next one: its outbox is `.phlow/outbox-embedded-<pid>.sqlite`, removed at a clean stop
   * (`outboxIsTemporary`).
   */
  readonly outboxPath: string;
  readonly outboxIsTemporary: boolean;
  /** `PHLOW_SHUTDOWN_MS`: on SIGTERM, how long requests in flight get to finish (default 10 s). */
  readonly shutdownMs: number;
  /**
   * `PHLOW_RECORD_DIR`: record every breaker's calls there (JSONL, rotated; `@phlow/tune`), for
   * `phlow-tune` to replay. Unset: no recording.
   */
  readonly recordDir: string | undefined;
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${name} must be an integer >= ${min}; got ${JSON.stringify(raw)}`);
  return value;
}

function peerUrls(raw: string | undefined): ReadonlyMap<string, string> | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const peers = new Map<string, string>();
  for (const entry of raw.split(',')) {
    const [id, url] = entry.split('=').map((s) => s.trim());
    if (id === undefined || !isAgentId(id) || url === undefined || !/^https?:\/\//.test(url)) {
      throw new TypeError(`PEER_URLS must be a comma list of id=http(s)://url (id: letters, digits, '.', '_', '-'); got ${JSON.stringify(entry)}`);
    }
    peers.set(id, url.replace(/\/+$/, ''));
  }
  return peers;
}

function flag(env: NodeJS.ProcessEnv, name: string): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '' || raw === '0') return false;
  if (raw === '1') return true;
  throw new TypeError(`${name} must be 1 (on) or 0 (off); got ${JSON.stringify(raw)}`);
}

function caFile(path: string | undefined): string | undefined {
  if (path === undefined || path === '') return undefined;
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (error) {
    throw new TypeError(`DID_CA_FILE must name a readable PEM file; got ${JSON.stringify(path)} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new TypeError(`DID_CA_FILE must hold PEM certificates ("-----BEGIN CERTIFICATE-----"); ${JSON.stringify(path)} does not`);
  return pem;
}

function hostList(raw: string | undefined, host: string): readonly string[] {
  if (raw === undefined || raw.trim() === '') return [...new Set([host, '127.0.0.1', 'localhost', '[::1]'])];
  const hosts = raw.split(',').map((s) => s.trim());
  for (const entry of hosts) {
    if (!/^[A-Za-z0-9.-]+$|^\[[0-9A-Fa-f:.]+\]$|^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*$/.test(entry)) {
      throw new TypeError(`ALLOWED_HOSTS must be a comma list of host names or IP addresses without port (e.g. "agent.example.com,127.0.0.1"); got ${JSON.stringify(entry)}`);
    }
  }
  return hosts;
}

function outboxPath(given: string | undefined, supabaseUrl: string | undefined): { outboxPath: string; outboxIsTemporary: boolean } {
  if (given !== undefined && given !== '') {
    if (given.includes('\u0000')) throw new TypeError(`PHLOW_OUTBOX_PATH must be a file path; got ${JSON.stringify(given)}`);
    return { outboxPath: resolve(given), outboxIsTemporary: false };
  }
  if (supabaseUrl !== undefined) return { outboxPath: resolve('.phlow/outbox.sqlite'), outboxIsTemporary: false };
  return { outboxPath: resolve(`.phlow/outbox-embedded-${process.pid}.sqlite`), outboxIsTemporary: true };
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): DemoConfig {
  const supabaseUrl = env['SUPABASE_URL'] || undefined;
  const supabaseKey = env['SUPABASE_KEY'] || env['SUPABASE_ANON_KEY'] || undefined;
  if (supabaseUrl !== undefined && supabaseKey === undefined) {
    throw new TypeError('SUPABASE_URL is set but SUPABASE_KEY (or SUPABASE_ANON_KEY) is not: give both, or neither for the embedded stand-in');
  }
  const host = env['HOST'] || '127.0.0.1';
  return {
    host,
    port: integer(env, 'PORT', 8080, 0),
    supabaseUrl,
    supabaseKey,
    peerUrls: peerUrls(env['PEER_URLS']),
    didWebHost: env['DID_WEB_HOST'] || undefined,
    a2aAllowPrivate: flag(env, 'A2A_ALLOW_PRIVATE'),
    didCa: caFile(env['DID_CA_FILE']),
    allowedHosts: hostList(env['ALLOWED_HOSTS'], host),
    adminToken: env['ADMIN_TOKEN'] || randomBytes(12).toString('hex'),
    recoveryTimeoutMs: integer(env, 'PHLOW_RECOVERY_MS', 10_000, 1),
    peerTimeoutMs: integer(env, 'PHLOW_PEER_TIMEOUT_MS', 5_000, 1),
    supabaseTimeoutMs: integer(env, 'PHLOW_SUPABASE_TIMEOUT_MS', 10_000, 1),
    didTimeoutMs: integer(env, 'PHLOW_DID_TIMEOUT_MS', 15_000, 1),
    didCacheTtlMs: integer(env, 'PHLOW_DID_CACHE_TTL_MS', 5_000, 0),
    otlpEndpoint: env['OTEL_EXPORTER_OTLP_ENDPOINT'] || undefined,
    ...outboxPath(env['PHLOW_OUTBOX_PATH'], supabaseUrl),
    shutdownMs: integer(env, 'PHLOW_SHUTDOWN_MS', 10_000, 0),
    recordDir: recordDir(env['PHLOW_RECORD_DIR']),
  };
}

function recordDir(given: string | undefined): string | undefined {
  if (given === undefined || given === '') return undefined;
  if (given.includes('\u0000')) throw new TypeError(`PHLOW_RECORD_DIR must be a directory path; got ${JSON.stringify(given)}`);
  return resolve(given);
}
