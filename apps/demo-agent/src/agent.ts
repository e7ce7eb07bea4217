/**
 * The demo agent: a real A2A server (@a2a-js/sdk on Express 5) whose skill relays a message to a peer,
 * plus the operator's side: `/health/circuit-breakers` (the guide's shape), `/metrics` (Prometheus),
 * a live dashboard at `/` with chaos controls, and a token-protected admin reset.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Role, type AgentCard, type Message } from '@a2a-js/sdk';
import { AgentEvent, DefaultRequestHandler, InMemoryTaskStore, type AgentExecutor } from '@a2a-js/sdk/server';
import { UserBuilder, agentCardHandler, jsonRpcHandler, restHandler } from '@a2a-js/sdk/server/express';
import { CircuitBreakerRegistry, jsonLineLogger, type CircuitBreakerStats } from '@phlow/circuit-breaker';
import { messageText } from '@phlow/a2a';
import { CircuitBreakerResolver, getWebResolver } from '@phlow/did-resolver';
import { instrumentCircuitBreakers, traceContextLogger } from '@phlow/otel';
import { startTelemetry } from '@phlow/otel/sdk';
import { circuitBreakerOf, createClient } from '@phlow/supabase';
import type { Faults, FaultProxy } from '@phlow/testkit';
import express, { type Request, type Response } from 'express';
import WebSocket from 'ws';
import type { DemoConfig } from './config.js';
import { DASHBOARD_HTML } from './dashboard.js';
import { breakerHealth } from './health.js';
import { HostAllowList, allowedHostsOnly } from './host-allow-list.js';
import { EventStreams } from './event-streams.js';
import { detailBody, jsonErrors, jsonNotFound, jsonRpcErrorBody, restErrorBody, sendError, type ErrorBody } from './http-errors.js';
import { jsonBody } from './json-body.js';
import { adminOnly, operatorOnly } from './operator-requests.js';
import { Outbox } from './outbox.js';
import { DID_PEERS, OPERATOR_PEERS } from './peer-identity.js';
import { Relay, parseRelayText, type RelayResult } from './relay.js';
import { pagePolicy, securityHeaders } from './security-headers.js';
import type { Dependencies } from './stand-ins.js';

export const A2A_JSONRPC_PATH = '/a2a/jsonrpc';
export const A2A_REST_PATH = '/a2a/rest';

/** The chaos actions the dashboard offers, as FaultProxy faults. */
export const CHAOS_ACTIONS: Readonly<Record<string, Faults | null>> = {
  down: { refuse: true },
  hang: { blackHole: true },
  error503: { errorStatus: { status: 503 } },
  slow: { latency: { ms: 1_500 } },
  heal: null,
};

/** Body caps of the A2A endpoints: what a text relay needs, far from what hurts. */
const A2A_BODY = { limit: '100kb', maxDepth: 32, types: ['application/json', 'application/a2a+json'], required: false } as const;
const JSON_RPC_BODY = { ...A2A_BODY, object: 'a JSON-RPC request object { "jsonrpc": "2.0", "id", "method", "params" }' };
const REST_BODY = { ...A2A_BODY, object: 'a JSON object (an A2A HTTP+JSON request)' };
/** `POST /relay` takes `{ "to", "text" }`. */
const RELAY_OBJECT = 'a JSON object { "to": "<agent id or DID>", "text": "<message>" }';
const RELAY_BODY = { limit: '64kb', maxDepth: 8, types: ['application/json'], required: true, object: RELAY_OBJECT } as const;

/** The error shape of a request's route family: the A2A bindings' own, `{ detail }` elsewhere. */
function errorBodyFor(req: Request): ErrorBody {
  const path = req.originalUrl.split('?', 1)[0]!;
  if (path === A2A_JSONRPC_PATH || path.startsWith(`${A2A_JSONRPC_PATH}/`)) return jsonRpcErrorBody;
  if (path === A2A_REST_PATH || path.startsWith(`${A2A_REST_PATH}/`)) return restErrorBody;
  return detailBody;
}

/** Name of the resolver of strangers' DIDs: their hosts' breakers are `foreign-did-web/<host>`. */
const FOREIGN_DID = 'foreign-did';

/** The dashboard runs its own script only, and talks to this agent only. */
const DASHBOARD_POLICY = pagePolicy(DASHBOARD_HTML);

/**
 * Slow clients (slowloris): headers must arrive within 10 s and a whole request (a body sent a byte at
 * a time) within 30 s, checked every second; Node's defaults (60 s and 5 min, checked every 30 s) let
 * a few hundred trickling connections hold the agent's sockets for minutes. Server-sent event streams
 * are answers, not requests: these bounds do not cut them.
 */
const SERVER_TIMEOUTS = { headersTimeout: 10_000, requestTimeout: 30_000, connectionsCheckingInterval: 1_000 } as const;

/** Most dashboards (server-sent event streams) served at once. */
const MAX_EVENT_STREAMS = 100;
/** Most bytes a dashboard may leave unread (a few seconds of snapshots) before its stream is closed. */
const MAX_EVENT_BACKLOG_BYTES = 1_000_000;

export interface RunningAgent {
  readonly url: string;
  readonly adminToken: string;
  readonly registry: CircuitBreakerRegistry;
  readonly relay: Relay;
  stop(): Promise<void>;
}

interface Sample {
  readonly t: number;
  readonly calls: number;
  readonly failures: number;
  readonly rejections: number;
}

export async function startAgent(config: DemoConfig, deps: Dependencies): Promise<RunningAgent> {
  const otlp = config.otlpEndpoint !== undefined;
  const telemetry = await startTelemetry({
    serviceName: process.env['OTEL_SERVICE_NAME'] ?? 'phlow-demo-agent',
    prometheus: { host: '127.0.0.1', port: 0 },
    ...(otlp && process.env['OTEL_METRICS_EXPORTER'] === undefined ? { metricsExporters: ['prometheus', 'otlp'] as const } : {}),
    ...(otlp && process.env['OTEL_TRACES_EXPORTER'] === undefined ? { tracesExporters: ['otlp'] as const } : {}),
  });
  // State changes as JSON lines on stderr (with the trace id when inside a span).
  const registry = new CircuitBreakerRegistry({ logger: traceContextLogger(jsonLineLogger()) });
  const instrumentation = instrumentCircuitBreakers(registry);

  const supabase = createClient(deps.supabaseUrl, deps.supabaseKey, {
    circuitBreaker: { registry, name: 'supabase', failureThreshold: 3, recoveryTimeoutMs: config.recoveryTimeoutMs, timeoutMs: config.supabaseTimeoutMs },
    realtime: { transport: WebSocket as never },
    auth: { persistSession: false, autoRefreshToken: false },
  });
  const didCas = [deps.didCa, config.didCa].filter((pem): pem is string => pem !== undefined);
  const didCa = didCas.length === 0 ? {} : { ca: didCas };
  // The embedded DID host is on loopback; a real one must not resolve to a private address (SSRF guard)
  // unless told. The loopback exception is the operator's DID host's alone: strangers' DIDs never get
  // it (else a DID naming localhost:<port> makes the agent connect to any port of its machine).
  const didAllowPrivate = process.env['DID_ALLOW_PRIVATE'] === '1';
  const didBreaker = { failureThreshold: 3, recoveryTimeoutMs: config.recoveryTimeoutMs, timeoutMs: config.didTimeoutMs };
  const didCache = { ttlMs: config.didCacheTtlMs, staleIfErrorMs: 86_400_000 };
  const resolver = new CircuitBreakerResolver(getWebResolver({ allowPrivateAddresses: didAllowPrivate ? true : deps.embedded.includes('did-host') ? ['127.0.0.1', '::1'] : false, ...didCa }), {
    registry,
    breaker: didBreaker,
    cache: { ...didCache, maxEntries: 1_000 },
  });
  // Strangers' DIDs: a resolver, breaker family (`foreign-did-web/<host>`) and cache of their own.
  const didPeerResolver = new CircuitBreakerResolver(getWebResolver({ allowPrivateAddresses: didAllowPrivate, ...didCa }), {
    registry,
    name: FOREIGN_DID,
    breaker: didBreaker,
    maxHosts: 200,
    cache: { ...didCache, maxEntries: 1_000 },
  });
  // One breaker per Supabase API: the registry and the messages are both REST (`supabase/rest`).
  const supabaseBreaker = circuitBreakerOf(supabase).name;
  const outbox = new Outbox(supabase, registry, supabaseBreaker);
  const relay = new Relay({
    registry,
    supabase,
    resolver,
    didPeerResolver,
    didWebHost: deps.didWebHost,
    peerBreaker: { failureThreshold: 3, recoveryTimeoutMs: config.recoveryTimeoutMs, timeoutMs: config.peerTimeoutMs },
    // The embedded peers listen on loopback; real ones must not be on a private address (SSRF guard) unless told.
    peerAddresses: config.a2aAllowPrivate ? true : deps.embedded.some((name) => name.startsWith('peer-')) ? ['127.0.0.1', '::1'] : false,
    // Strangers' endpoints (DIDs on other hosts) never reach a private address unless the operator says so.
    didPeerAddresses: config.a2aAllowPrivate,
    outbox,
  });

  // --- the A2A server ---
  const app = express();
  app.disable('x-powered-by');
  app.use(securityHeaders);
  // DNS rebinding: answer only requests addressed to one of our names.
  app.use(allowedHostsOnly(new HostAllowList(config.allowedHosts)));
  const server: Server = createServer(SERVER_TIMEOUTS, app);
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    // headersTimeout starts with a request's first byte: a connection that never sends one would be
    // held for ever. Until its first request it gets as long as headers do (the server destroys a
    // socket that times out), then no socket timeout: requests and streams have their own bounds.
    socket.setTimeout(SERVER_TIMEOUTS.headersTimeout);
  });
  server.on('request', (req: IncomingMessage) => req.socket.setTimeout(0));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;

  const card: AgentCard = {
    name: 'phlow-demo-agent',
    description: 'Relays a message to a peer agent named by agent id or DID, through circuit breakers on every dependency.',
    supportedInterfaces: [
      { url: `${url}${A2A_JSONRPC_PATH}`, protocolBinding: 'JSONRPC', tenant: '', protocolVersion: '1.0' },
      { url: `${url}${A2A_REST_PATH}`, protocolBinding: 'HTTP+JSON', tenant: '', protocolVersion: '1.0' },
    ],
    provider: undefined,
    version: '0.1.0',
    capabilities: { streaming: true, pushNotifications: false, extensions: [] },
    securitySchemes: {},
    securityRequirements: [],
    defaultInputModes: ['text/plain'],
    defaultOutputModes: ['text/plain'],
    skills: [
      {
        id: 'relay',
        name: 'Relay',
        description: 'Send "<peer> <message>": the peer (agent id or DID) is looked up in the registry or by DID, the message relayed, the exchange recorded.',
        tags: ['relay', 'a2a'],
        examples: ['alpha hello', 'gamma how are you?'],
        inputModes: ['text/plain'],
        outputModes: ['text/plain'],
        securityRequirements: [],
      },
    ],
    signatures: [],
  };
  const executor: AgentExecutor = {
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
  const requestHandler = new DefaultRequestHandler(card, new InMemoryTaskStore(), executor);
  app.use('/.well-known/agent-card.json', agentCardHandler({ agentCardProvider: requestHandler }));
  // Our own body reading first (the SDK's parser then finds the body read): caps, and an object.
  app.use(A2A_JSONRPC_PATH, ...jsonBody(JSON_RPC_BODY));
  app.use(A2A_REST_PATH, ...jsonBody(REST_BODY));
  app.use(A2A_JSONRPC_PATH, jsonRpcHandler({ requestHandler, userBuilder: UserBuilder.noAuthentication }));
  app.use(A2A_REST_PATH, restHandler({ requestHandler, userBuilder: UserBuilder.noAuthentication }));

  // --- plain HTTP: relay, health, metrics ---
  app.post('/relay', ...jsonBody(RELAY_BODY), async (req: Request, res: Response) => {
    const { to, text } = req.body as Record<string, unknown>;
    if (typeof to !== 'string' || to === '' || typeof text !== 'string' || text === '') {
      sendError(res, 400, `the body must be ${RELAY_OBJECT}: both non-empty strings`);
      return;
    }
    const result = await relay.relay(to, text);
    if (result.ok) {
      res.json(result);
      return;
    }
    if (result.status === 503) {
      // The guide's answer for an HTTP route whose dependency is down, plus who and when.
      if (result.retryAfterMs !== undefined) res.setHeader('retry-after', String(Math.ceil(result.retryAfterMs / 1000)));
      res.status(503).json({ detail: 'Service temporarily unavailable', peer: result.peer, message: result.message, retry_after_ms: result.retryAfterMs ?? null, notes: result.notes });
      return;
    }
    res.status(result.status).json({ detail: result.message, peer: result.peer, notes: result.notes });
  });

  const didHostBreaker = deps.didWebHost === undefined ? undefined : `did-web/${decodeURIComponent(deps.didWebHost)}`;
  const isForeign = (name: string) => name.startsWith(`${DID_PEERS}/`) || name.startsWith(`${FOREIGN_DID}-web/`) || (name.startsWith('did-web/') && name !== didHostBreaker);
  const health = () => ({ ...breakerHealth(registry.getStats(), isForeign), outbox: outbox.stats });
  app.get('/health/circuit-breakers', (_req, res) => void res.json(health()));
  app.get('/metrics', async (_req, res) => {
    try {
      const scrape = await fetch(telemetry.prometheusUrl!);
      res.status(scrape.status).type(scrape.headers.get('content-type') ?? 'text/plain').send(await scrape.text());
    } catch (error) {
      // The exporter's address is the agent's business, not the scraper's.
      process.stderr.write(`${JSON.stringify({ timestamp: Date.now() / 1000, level: 'error', message: `metrics unavailable: ${(error as Error).message}` })}\n`);
      sendError(res, 503, 'metrics unavailable (logged by the agent)');
    }
  });

  // --- chaos and admin ---
  const breakerOf = (dependency: string): string | undefined => {
    if (dependency === 'supabase') return supabaseBreaker;
    if (dependency === 'did-host') return didHostBreaker;
    if (dependency.startsWith('peer-')) return `a2a/${dependency.slice(5)}`;
    return undefined;
  };
  const chaosState = () =>
    [...deps.proxies].map(([name, proxy]: [string, FaultProxy]) => ({ name, mode: proxy.mode, breaker: breakerOf(name), faults: proxy.faults, forwarded: proxy.mode === 'tcp' ? proxy.stats().connections.accepted : proxy.stats().requests.forwarded, received: proxy.stats().requests.received }));
  app.get('/chaos', (_req, res) => void res.json({ actions: Object.keys(CHAOS_ACTIONS), dependencies: chaosState() }));
  app.post('/chaos/:dependency/:action', operatorOnly(config.adminToken), async (req: Request, res: Response) => {
    const dependency = String(req.params['dependency']);
    const action = String(req.params['action']);
    const proxy = deps.proxies.get(dependency);
    if (proxy === undefined) {
      res.status(404).json({ detail: `no chaos control for ${dependency}; known: ${[...deps.proxies.keys()].join(', ')} (dependencies from the environment have none)` });
      return;
    }
    if (!Object.hasOwn(CHAOS_ACTIONS, action)) {
      res.status(400).json({ detail: `unknown action ${action}; allowed: ${Object.keys(CHAOS_ACTIONS).join(', ')}` });
      return;
    }
    const faults = CHAOS_ACTIONS[action];
    try {
      if (faults === null || faults === undefined) await proxy.clearFaults();
      else await proxy.setFaults(faults);
    } catch (error) {
      // e.g. an HTTP status on a TCP proxy (the DID host's: TLS passes through it unread).
      res.status(400).json({ detail: `${dependency} cannot ${action}: ${(error as Error).message}` });
      return;
    }
    process.stderr.write(`${JSON.stringify({ timestamp: Date.now() / 1000, level: 'info', message: `chaos: ${dependency} ${action}`, dependency, action, faults: proxy.faults })}\n`);
    broadcast();
    res.json({ dependency, action, faults: proxy.faults });
  });
  app.post('/admin/reset', adminOnly(config.adminToken), (_req: Request, res: Response) => {
    registry.resetAll();
    broadcast();
    res.json({ reset: Object.keys(registry.getStats()) });
  });

  // --- dashboard: state snapshots, pushed by server-sent events ---
  // Two minutes of per-second samples, zeros before start-up, so the chart is drawn from the first second.
  // The latest state changes, newest first, for the dashboard's event list.
  const transitions: { at: number; name: string; from: string; to: string; reason: string }[] = [];
  const transitionSubscription = registry.onStateChange((e) => {
    transitions.unshift({ at: Date.now(), name: e.breaker.name, from: e.from, to: e.to, reason: e.reason });
    transitions.length = Math.min(transitions.length, 20);
  });
  const samples: Sample[] = Array.from({ length: 120 }, (_, i) => ({ t: Date.now() - (120 - i) * 1_000, calls: 0, failures: 0, rejections: 0 }));
  let last = { calls: 0, failures: 0, rejections: 0 };
  const totals = (stats: Record<string, CircuitBreakerStats>) => {
    let calls = 0;
    let failures = 0;
    let rejections = 0;
    for (const s of Object.values(stats)) {
      calls += s.total_calls;
      failures += s.total_failures;
      rejections += s.total_rejections;
    }
    return { calls, failures, rejections };
  };
  const sampler = setInterval(() => {
    const now = totals(registry.getStats());
    samples.push({
      t: Date.now(),
      calls: Math.max(0, now.calls - last.calls),
      failures: Math.max(0, now.failures - last.failures),
      rejections: Math.max(0, now.rejections - last.rejections),
    });
    if (samples.length > 120) samples.shift();
    last = now;
  }, 1_000);
  const snapshot = () => {
    const now = Date.now();
    const stats = registry.getStats();
    return {
      now,
      status: health().status,
      breakers: Object.entries(stats).map(([name, s]) => ({
        name,
        state: s.state,
        failure_count: s.failure_count,
        failure_threshold: s.failure_threshold,
        total_calls: s.total_calls,
        total_failures: s.total_failures,
        total_rejections: s.total_rejections,
        retry_in_ms: s.retry_at === null ? null : Math.max(0, s.retry_at - now),
      })),
      dependencies: chaosState(),
      outbox: outbox.stats,
      relays: relay.counts,
      transitions,
      samples,
    };
  };
  const streams = new EventStreams({ maxStreams: MAX_EVENT_STREAMS, maxBacklogBytes: MAX_EVENT_BACKLOG_BYTES });
  const broadcast = () => {
    if (streams.size > 0) streams.broadcast(JSON.stringify(snapshot()));
  };
  const pusher = setInterval(broadcast, 500);
  app.get('/api/state', (_req, res) => void res.json(snapshot()));
  app.get('/events', (_req: Request, res: Response) => {
    if (!streams.hasRoom) {
      sendError(res, 503, `too many dashboards open (${MAX_EVENT_STREAMS}); close one and reload`);
      return;
    }
    streams.open(res, JSON.stringify(snapshot()));
  });
  app.get('/', (_req, res) => void res.type('html').set('content-security-policy', DASHBOARD_POLICY).send(DASHBOARD_HTML));
  app.use(jsonNotFound(errorBodyFor));
  app.use(jsonErrors(errorBodyFor));

  // Warm up: create every known peer's breaker and client, cache its DID document, touch the registry,
  // so the dashboard lists every breaker from the start. Failures here are the breakers' business.
  await Promise.allSettled([
    supabase.from('agent_cards').select('id').limit(1).retry(false),
    ...deps.peers.map((peer) => relay.clientFor({ family: OPERATOR_PEERS, key: peer.id }, peer.url)),
    ...deps.peers.flatMap((peer) => (peer.did === undefined ? [] : [resolver.resolve(peer.did)])),
  ]);

  let stopped = false;
  return {
    url,
    adminToken: config.adminToken,
    registry,
    relay,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      clearInterval(sampler);
      clearInterval(pusher);
      transitionSubscription.dispose();
      outbox.dispose();
      streams.closeAll();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      instrumentation.dispose();
      await telemetry.shutdown();
    },
  };
}
