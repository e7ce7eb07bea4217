/**
 * The embedded dependencies: the testkit's stand-ins, each behind a FaultProxy so the dashboard's chaos
 * controls can break and heal it. A dependency given through the environment is used as it is (and has
 * no chaos control: there is no proxy in front of it).
 */
import { A2aPeer, DidWebHost, FaultProxy, SupabaseStandIn, basicDidDocument } from '@phlow/testkit';
import type { DemoConfig } from './config.js';

/** The registry's schema: the agent cards the relay looks peers up in, and the exchanges it records (through the outbox). */
export const SCHEMA_SQL = `
create table if not exists agent_cards (
  id text primary key,
  name text not null,
  did text unique,
  url text not null,
  description text
);
create table if not exists messages (
  id bigint generated always as identity primary key,
  created_at timestamptz not null default now(),
  peer_id text not null,
  peer_url text not null,
  request text not null,
  reply text not null,
  resolved_via text not null,
  replayed boolean not null default false,
  -- @phlow/supabase-outbox: the write's idempotency key (replayed as insert-ignore-duplicates on it),
  -- its place in acceptance order, and the conversation it belongs to.
  conversation_id text not null default '',
  idempotency_key text unique,
  outbox_seq bigint
);
create index if not exists messages_conversation_order on messages (conversation_id, outbox_seq);
`;

/** A peer the demo knows about: in the registry, or only through its DID document (gamma). */
export interface KnownPeer {
  readonly id: string;
  readonly did: string | undefined;
  readonly url: string;
  readonly inRegistry: boolean;
}

/** What the agent needs to reach its dependencies, and the proxies the chaos controls drive. */
export interface Dependencies {
  readonly supabaseUrl: string;
  readonly supabaseKey: string;
  /** did:web authority of agent DIDs (`localhost%3A<port>`), when there is a DID host. */
  readonly didWebHost: string | undefined;
  /** The stand-in DID host's CA certificate (self-signed), to trust it. */
  readonly didCa: string | undefined;
  readonly peers: readonly KnownPeer[];
  /** Chaos targets by name: `supabase`, `did-host`, `peer-alpha`, ... */
  readonly proxies: ReadonlyMap<string, FaultProxy>;
  /** Which dependencies are embedded stand-ins (the rest came from the environment). */
  readonly embedded: readonly string[];
  stop(): Promise<void>;
}

const STAND_IN_PEERS = [
  { id: 'alpha', inRegistry: true, description: 'Echo agent, in the registry and on the DID host' },
  { id: 'beta', inRegistry: true, description: 'Echo agent, in the registry and on the DID host' },
  { id: 'gamma', inRegistry: false, description: 'Echo agent known only by its DID (not in the registry)' },
] as const;

export async function startDependencies(config: DemoConfig): Promise<Dependencies> {
  const stops: (() => Promise<void>)[] = [];
  const proxies = new Map<string, FaultProxy>();
  const embedded: string[] = [];
  const proxy = async (name: string, target: string, mode?: 'tcp'): Promise<FaultProxy> => {
    const p = new FaultProxy(mode === undefined ? { target } : { target, mode });
    await p.start();
    stops.push(() => p.stop());
    proxies.set(name, p);
    return p;
  };
  try {
    // Peers: real URLs from PEER_URLS, or three testkit A2aPeers (real @a2a-js/sdk servers).
    const peerUrls = new Map<string, { url: string; inRegistry: boolean; description: string }>();
    if (config.peerUrls !== undefined) {
      for (const [id, url] of config.peerUrls) peerUrls.set(id, { url, inRegistry: true, description: `peer ${id}` });
    } else {
      for (const spec of STAND_IN_PEERS) {
        const peer = new A2aPeer({ name: spec.id });
        await peer.start();
        stops.push(() => peer.stop());
        const p = await proxy(`peer-${spec.id}`, peer.url);
        peerUrls.set(spec.id, { url: p.url, inRegistry: spec.inRegistry, description: spec.description });
        embedded.push(`peer-${spec.id}`);
      }
    }

    // DID host: a real one named by DID_WEB_HOST, or the testkit's HTTPS host behind a TCP proxy (TLS
    // passes through); the DIDs name the proxy's port, so every resolution crosses it.
    let didWebHost = config.didWebHost;
    let didCa: string | undefined;
    const didOf = (id: string): string | undefined => (didWebHost === undefined ? undefined : `did:web:${didWebHost}:agents:${id}`);
    if (didWebHost === undefined) {
      const host = new DidWebHost();
      await host.start();
      stops.push(() => host.stop());
      const p = await proxy('did-host', host.url, 'tcp');
      didWebHost = `localhost%3A${p.port}`;
      didCa = host.ca;
      embedded.push('did-host');
      for (const [id, { url }] of peerUrls) {
        const did = didOf(id)!;
        host.setDocument(`agents/${id}`, {
          ...basicDidDocument(did),
          service: [{ id: `${did}#a2a`, type: 'A2AService', serviceEndpoint: url }],
        });
      }
    }

    // Supabase: a real project (its tables are yours), or PostgREST on PGlite with schema and seed data.
    let supabaseUrl = config.supabaseUrl;
    let supabaseKey = config.supabaseKey;
    if (supabaseUrl === undefined) {
      const supabase = new SupabaseStandIn({ schemaSql: SCHEMA_SQL });
      await supabase.start();
      stops.push(() => supabase.stop());
      for (const [id, { url, inRegistry, description }] of peerUrls) {
        if (!inRegistry) continue;
        await supabase.query('insert into agent_cards (id, name, did, url, description) values ($1, $2, $3, $4, $5)', [id, `Peer ${id}`, didOf(id) ?? null, url, description]);
      }
      const p = await proxy('supabase', supabase.url);
      supabaseUrl = p.url;
      supabaseKey = 'demo-anon-key';
      embedded.push('supabase');
    }

    const peers: KnownPeer[] = [...peerUrls].map(([id, { url, inRegistry }]) => ({ id, did: didOf(id), url, inRegistry }));
    return {
      supabaseUrl,
      supabaseKey: supabaseKey!,
      didWebHost,
      didCa,
      peers,
      proxies,
      embedded,
      stop: async () => {
        for (const stop of stops.reverse()) await stop().catch(() => undefined);
      },
    };
  } catch (error) {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    throw error;
  }
}
