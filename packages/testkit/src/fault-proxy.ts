// Why hand-written: the fault injectors that exist are out-of-process (Toxiproxy, a Go binary that cannot be
// installed from npm here) or unmaintained Node proxies (http-proxy, last release 2020) without fault hooks.
// The proxy below is node:net + node:http only, so tests run it in-process and switch faults synchronously.
import { Agent, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse, Server as HttpServer, request as httpRequest } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Emitter, type Disposable } from './disposable.js';
import { createControlServer } from './fault-proxy-control.js';
import { copyStats, emptyStats, type FaultProxyStats } from './fault-proxy-stats.js';
import { drawLatency, normalizeFaults, type Faults } from './faults.js';
import { close, listen, urlHost } from './listen.js';
import { checkHost, checkPort, typeError } from './option-errors.js';
import { ShapedPipe } from './shaped-pipe.js';
import { writeShaped } from './slow-write.js';

const COMPONENT = 'FaultProxy';

/** Options of a {@link FaultProxy}. */
export interface FaultProxyOptions {
  /**
   * Where traffic goes: a URL (`http://127.0.0.1:54321`, `https://localhost:8443`, `postgres://127.0.0.1:5432`,
   * `tcp://127.0.0.1:6379`) or `{ host, port }`.
   */
  readonly target: string | { readonly host: string; readonly port: number };
  /**
   * `'http'` parses requests (counts them, injects statuses, trickles bodies); `'tcp'` moves bytes only and
   * suits TLS and database protocols. Default: `'http'` for `http:` targets, `'tcp'` otherwise.
   */
  readonly mode?: 'http' | 'tcp';
  /** Address to listen on. Default `'127.0.0.1'`. */
  readonly host?: string;
  /** Port to listen on; 0 (the default) takes a free one. */
  readonly port?: number;
  /** Faults in force from the start. Default: none. */
  readonly faults?: Faults;
  /** Start the HTTP control endpoint (see {@link FaultProxy.controlUrl}). Default `true`. */
  readonly control?: boolean;
  /** Port of the control endpoint; 0 (the default) takes a free one. */
  readonly controlPort?: number;
  /** Source of randomness in [0, 1) for jitter and error rates; inject one for repeatable tests. Default `Math.random`. */
  readonly random?: () => number;
}

/** Who closed a client connection first. */
export type ClosedBy = 'client' | 'upstream' | 'proxy';

/** Emitted by {@link FaultProxy.onConnectionClose}. */
export interface ConnectionCloseEvent {
  /** Sequence number of the connection, from 1. */
  readonly id: number;
  readonly closedBy: ClosedBy;
}

/** What the proxy did with one HTTP request. */
export type RequestOutcome = 'forwarded' | 'injected' | 'blackHoled' | 'reset';

/** Emitted by {@link FaultProxy.onRequest} once the proxy decided what to do with a request. */
export interface ProxiedRequestEvent {
  readonly method: string;
  readonly url: string;
  /** Request headers as the client sent them (lower-case names). */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly outcome: RequestOutcome;
}

interface Connection {
  readonly id: number;
  readonly client: Socket;
  upstream?: Socket;
  readonly controller: AbortController;
  closedBy?: ClosedBy;
  clientHungUp: boolean;
}

interface Target {
  readonly host: string;
  readonly port: number;
  readonly protocol: string;
}

// Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection and are not forwarded.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);
const DEFAULT_PORTS: Readonly<Record<string, number>> = { 'http:': 80, 'https:': 443, 'postgres:': 5432, 'postgresql:': 5432, 'redis:': 6379 };

function parseTarget(value: unknown): Target {
  if (typeof value === 'string') {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw typeError(COMPONENT, 'target', value, 'a URL such as "http://127.0.0.1:8080" or "tcp://127.0.0.1:5432", or { host, port }');
    }
    const port = url.port === '' ? DEFAULT_PORTS[url.protocol] : Number(url.port);
    if (port === undefined || url.hostname === '') {
      throw typeError(COMPONENT, 'target', value, 'a URL with a host and a port (or an http/https/postgres/redis URL with a default port)');
    }
    return { host: url.hostname.replace(/^\[|\]$/g, ''), port, protocol: url.protocol };
  }
  if (typeof value === 'object' && value !== null && 'host' in value && 'port' in value) {
    const { host, port } = value as { host: unknown; port: unknown };
    return { host: checkHost(COMPONENT, 'target.host', host), port: checkPort(COMPONENT, 'target.port', port), protocol: 'tcp:' };
  }
  throw typeError(COMPONENT, 'target', value, 'a URL such as "http://127.0.0.1:8080" or an object { host, port }');
}

function forwardableHeaders(headers: IncomingMessage['headers']): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

/**
 * A fault-injecting proxy in front of any TCP or HTTP target, running in the test's own process.
 * Point the client at {@link FaultProxy.url} instead of the target, then switch faults with
 * {@link FaultProxy.setFaults} (or the control endpoint) and watch {@link FaultProxy.stats}.
 *
 * @example
 * ```ts
 * const proxy = new FaultProxy({ target: server.url });
 * await proxy.start();
 * await proxy.setFaults({ errorStatus: { status: 503 } });
 * const response = await fetch(proxy.url); // 503, the server never saw it
 * await proxy.stop();
 * ```
 */
export class FaultProxy {
  /** Whether the proxy parses HTTP (`'http'`) or only moves bytes (`'tcp'`). */
  readonly mode: 'http' | 'tcp';
  readonly #target: Target;
  readonly #host: string;
  #port: number;
  readonly #random: () => number;
  readonly #control: boolean;
  readonly #controlPort: number;
  #faults: Faults;
  #stats = emptyStats();
  readonly #connections = new Set<Connection>();
  readonly #bySocket = new WeakMap<Socket, Connection>();
  #nextConnectionId = 1;
  readonly #server: Server;
  readonly #httpServer: HttpServer | undefined;
  readonly #agent: Agent | undefined;
  #controlServer: HttpServer | undefined;
  #controlUrl: string | undefined;
  #lifetime = new AbortController();
  #state: 'new' | 'started' | 'stopped' = 'new';
  #faultChange: Promise<void> = Promise.resolve();
  readonly #connectionClosed = new Emitter<ConnectionCloseEvent>();
  readonly #requestSeen = new Emitter<ProxiedRequestEvent>();

  constructor(options: FaultProxyOptions) {
    if (typeof options !== 'object' || options === null) throw typeError(COMPONENT, 'options', options, 'an object with at least { target }');
    this.#target = parseTarget(options.target);
    const mode = options.mode ?? (this.#target.protocol === 'http:' ? 'http' : 'tcp');
    if (mode !== 'http' && mode !== 'tcp') throw typeError(COMPONENT, 'mode', mode, '"http" or "tcp"');
    if (mode === 'http' && this.#target.protocol === 'https:') {
      throw typeError(COMPONENT, 'mode', mode, '"tcp" for an https target (the proxy does not terminate TLS; TCP mode passes it through)');
    }
    this.mode = mode;
    this.#host = options.host === undefined ? '127.0.0.1' : checkHost(COMPONENT, 'host', options.host);
    this.#port = options.port === undefined ? 0 : checkPort(COMPONENT, 'port', options.port);
    this.#controlPort = options.controlPort === undefined ? 0 : checkPort(COMPONENT, 'controlPort', options.controlPort);
    if (options.control !== undefined && typeof options.control !== 'boolean') throw typeError(COMPONENT, 'control', options.control, 'a boolean');
    this.#control = options.control ?? true;
    if (options.random !== undefined && typeof options.random !== 'function') {
      throw typeError(COMPONENT, 'random', options.random, 'a function returning a number in [0, 1)');
    }
    this.#random = options.random ?? Math.random;
    this.#faults = normalizeFaults(options.faults ?? {}, mode);

    // Nagle off both ways: a response written as header + body would otherwise wait for the peer's
    // delayed ACK, adding ~40 ms to every other request on loopback.
    this.#server = createServer({ allowHalfOpen: false, noDelay: true }, (socket) => this.#accept(socket));
    if (mode === 'http') {
      // requestTimeout 0: a black-holed or slow request must hang as long as the client lets it, not 300 s.
      this.#httpServer = new HttpServer({ requestTimeout: 0 }, (req, res) => void this.#handleRequest(req, res));
      this.#agent = new Agent({ keepAlive: true });
    }
  }

  /** Starts listening (and the control endpoint). Applies a `refuse` given in the options after binding the port. */
  async start(): Promise<void> {
    if (this.#state !== 'new') throw new Error(`${COMPONENT}: start() called on a proxy that is ${this.#state}`);
    this.#state = 'started';
    this.#port = await listen(this.#server, this.#port, this.#host);
    if (this.#control) {
      this.#controlServer = createControlServer(this);
      const port = await listen(this.#controlServer, this.#controlPort, this.#host);
      this.#controlUrl = `http://${urlHost(this.#host)}:${port}`;
    }
    if (this.#faults.refuse === true) await close(this.#server);
  }

  /** Closes every connection, both listeners and all timers. Idempotent. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    const wasStarted = this.#state === 'started';
    this.#state = 'stopped';
    this.#lifetime.abort();
    await this.#faultChange.catch(() => undefined);
    for (const connection of this.#connections) this.#destroy(connection, 'proxy');
    this.#agent?.destroy();
    if (wasStarted) {
      await close(this.#server);
      if (this.#controlServer !== undefined) {
        this.#controlServer.closeAllConnections();
        await close(this.#controlServer);
      }
    }
  }

  /** The same as {@link FaultProxy.stop}, so `await using` stops it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /** The port the proxy listens on (the real one after `start()` when 0 was asked). */
  get port(): number {
    return this.#port;
  }

  /** `http://host:port` in HTTP mode, `tcp://host:port` in TCP mode. */
  get url(): string {
    return `${this.mode === 'http' ? 'http' : 'tcp'}://${urlHost(this.#host)}:${this.#port}`;
  }

  /** Base URL of the control endpoint (`GET/PUT/PATCH/DELETE /faults`, `GET/DELETE /stats`); undefined when disabled. */
  get controlUrl(): string | undefined {
    return this.#controlUrl;
  }

  /** The faults in force (normalised: switched-off faults are absent). */
  get faults(): Faults {
    return this.#faults;
  }

  /**
   * Replaces the fault set. Resolves once it is in force: for `refuse` the listener is closed (and open
   * connections with it), for `reset` open connections are reset. Calls are applied in order.
   * Throws TypeError/RangeError for an invalid set, leaving the current faults unchanged.
   */
  setFaults(faults: Faults): Promise<void> {
    const next = normalizeFaults(faults, this.mode);
    const change = this.#faultChange.then(() => this.#apply(next));
    this.#faultChange = change.catch(() => undefined);
    return change;
  }

  /** Merges `faults` into the current set; a key set to `undefined` or `false` switches that fault off. */
  patchFaults(faults: { readonly [K in keyof Faults]?: Faults[K] | false }): Promise<void> {
    const merged: Record<string, unknown> = { ...this.#faults };
    for (const [key, value] of Object.entries(faults)) {
      if (value === undefined || value === false) delete merged[key];
      else merged[key] = value;
    }
    return this.setFaults(merged as Faults);
  }

  /** Switches every fault off (reopening the listener after `refuse`). */
  clearFaults(): Promise<void> {
    return this.setFaults({});
  }

  /** A snapshot of the counters. */
  stats(): FaultProxyStats {
    return copyStats(this.#stats);
  }

  /** Sets every counter except `connections.active` back to zero. */
  resetStats(): void {
    const active = this.#stats.connections.active;
    this.#stats = emptyStats();
    this.#stats.connections.active = active;
  }

  /** Calls `listener` whenever a client connection closes, saying who closed it first. */
  onConnectionClose(listener: (event: ConnectionCloseEvent) => void): Disposable {
    return this.#connectionClosed.subscribe(listener);
  }

  /** Calls `listener` for every HTTP request once the proxy decided its outcome (HTTP mode). */
  onRequest(listener: (event: ProxiedRequestEvent) => void): Disposable {
    return this.#requestSeen.subscribe(listener);
  }

  async #apply(next: Faults): Promise<void> {
    const previous = this.#faults;
    this.#faults = next;
    if (this.#state !== 'started') return;
    if (next.reset === true && previous.reset !== true) {
      for (const connection of this.#connections) this.#resetConnection(connection);
    }
    if (next.refuse === true && previous.refuse !== true) {
      for (const connection of this.#connections) this.#destroy(connection, 'proxy');
      await close(this.#server);
    } else if (next.refuse !== true && previous.refuse === true) {
      await listen(this.#server, this.#port, this.#host);
    }
    if (next.reset === true || next.refuse === true) {
      // The FIN/RST went out synchronously; a full turn of the event loop (its I/O poll runs before
      // setImmediate) lets an in-process client see its pooled keep-alive socket die before the caller
      // sends the next request. Otherwise that request races the close and fails with "other side closed".
      // Two setImmediate hops: the first may still run in the current loop iteration, before any new poll.
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  #accept(client: Socket): void {
    const connection: Connection = { id: this.#nextConnectionId++, client, controller: new AbortController(), clientHungUp: false };
    this.#stats.connections.accepted += 1;
    this.#stats.connections.active += 1;
    this.#connections.add(connection);
    this.#bySocket.set(client, connection);
    // Seeing the client's FIN or RST before the socket closes is what tells "closed by the client" apart
    // from the proxy closing it (fault, idle keep-alive timeout, stop).
    client.once('end', () => {
      connection.clientHungUp = true;
    });
    client.on('error', () => {
      connection.clientHungUp = true;
    });
    client.once('close', () => this.#closed(connection));

    if (this.#faults.reset === true || this.#state !== 'started') {
      this.#resetConnection(connection);
      return;
    }
    if (this.#httpServer !== undefined) {
      this.#httpServer.emit('connection', client);
      return;
    }
    this.#pipe(connection);
  }

  #pipe(connection: Connection): void {
    const { client } = connection;
    const upstream = connect({ host: this.#target.host, port: this.#target.port, allowHalfOpen: false, noDelay: true });
    connection.upstream = upstream;
    const signal = AbortSignal.any([connection.controller.signal, this.#lifetime.signal]);
    const context = {
      faults: () => this.#faults,
      random: this.#random,
      signal,
    };
    new ShapedPipe(client, upstream, {
      ...context,
      towardsClient: false,
      onBytes: (n) => (this.#stats.bytes.toUpstream += n),
      onDrained: () => upstream.end(),
    });
    new ShapedPipe(upstream, client, {
      ...context,
      towardsClient: true,
      onBytes: (n) => (this.#stats.bytes.toClient += n),
      onDrained: () => {
        if (connection.closedBy === undefined) connection.closedBy = 'upstream';
        client.end();
      },
    });
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
    });
    upstream.on('error', () => {
      if (!connected) {
        this.#stats.connections.upstreamFailed += 1;
        this.#destroy(connection, 'proxy');
      } else {
        this.#destroy(connection, 'upstream');
      }
    });
    client.once('close', () => upstream.destroy());
  }

  #resetConnection(connection: Connection): void {
    if (connection.client.destroyed) return;
    this.#stats.connections.reset += 1;
    connection.closedBy ??= 'proxy';
    connection.controller.abort();
    connection.upstream?.destroy();
    connection.client.resetAndDestroy();
  }

  #destroy(connection: Connection, closedBy: ClosedBy): void {
    connection.closedBy ??= closedBy;
    connection.controller.abort();
    connection.upstream?.destroy();
    connection.client.destroy();
  }

  #closed(connection: Connection): void {
    if (!this.#connections.delete(connection)) return;
    connection.controller.abort();
    connection.upstream?.destroy();
    this.#stats.connections.active -= 1;
    const closedBy: ClosedBy = connection.closedBy ?? (connection.clientHungUp ? 'client' : 'proxy');
    if (closedBy === 'client') this.#stats.connections.closedByClient += 1;
    else if (closedBy === 'upstream') this.#stats.connections.closedByUpstream += 1;
    else this.#stats.connections.closedByProxy += 1;
    this.#connectionClosed.emit({ id: connection.id, closedBy });
  }

  #report(req: IncomingMessage, outcome: RequestOutcome): void {
    this.#requestSeen.emit({ method: req.method ?? 'GET', url: req.url ?? '/', headers: { ...req.headers }, outcome });
  }

  async #handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requests = this.#stats.requests;
    requests.received += 1;
    const faults = this.#faults;
    if (faults.reset === true) {
      requests.reset += 1;
      this.#report(req, 'reset');
      const connection = this.#bySocket.get(req.socket);
      if (connection !== undefined) this.#resetConnection(connection);
      else req.socket.resetAndDestroy();
      return;
    }
    if (faults.blackHole === true) {
      requests.blackHoled += 1;
      this.#report(req, 'blackHoled');
      // Read and discard the body so the client's upload completes and it waits for an answer that never comes.
      req.resume();
      return;
    }

    const clientGone = new AbortController();
    res.once('close', () => {
      if (res.writableFinished) return;
      const connection = this.#bySocket.get(req.socket);
      // Only count what the client did: a fault or stop() closing the socket also ends the response early.
      if (connection !== undefined && connection.clientHungUp && connection.closedBy === undefined) requests.abortedByClient += 1;
      clientGone.abort();
    });
    const signal = AbortSignal.any([clientGone.signal, this.#lifetime.signal]);
    const delay = drawLatency(faults.latency, this.#random);
    if (delay > 0) {
      try {
        await sleep(delay, undefined, { signal });
      } catch {
        return;
      }
    }

    const injection = this.#faults.errorStatus;
    if (injection !== undefined && this.#random() < (injection.rate ?? 1)) {
      requests.injected += 1;
      this.#report(req, 'injected');
      req.resume();
      const body = injection.body ?? JSON.stringify({ message: `fault injected by @phlow/testkit FaultProxy: HTTP ${injection.status}` });
      res.writeHead(injection.status, {
        'content-type': injection.body === undefined ? 'application/json' : 'text/plain; charset=utf-8',
        'content-length': Buffer.byteLength(body),
        'x-phlow-fault': 'error-status',
        ...injection.headers,
      });
      res.end(body);
      return;
    }
    this.#forward(req, res, signal);
  }

  #forward(req: IncomingMessage, res: ServerResponse, signal: AbortSignal): void {
    const requests = this.#stats.requests;
    requests.forwarded += 1;
    this.#report(req, 'forwarded');
    const upstreamRequest = httpRequest({
      host: this.#target.host,
      port: this.#target.port,
      method: req.method,
      path: req.url,
      headers: forwardableHeaders(req.headers),
      agent: this.#agent,
    });
    // The client going away aborts the request to the target too, so the target sees its socket close.
    const onAbort = (): void => void upstreamRequest.destroy();
    signal.addEventListener('abort', onAbort, { once: true });
    req.on('data', (chunk: Buffer) => (this.#stats.bytes.toUpstream += chunk.length));
    req.pipe(upstreamRequest);

    upstreamRequest.on('error', (error: NodeJS.ErrnoException) => {
      signal.removeEventListener('abort', onAbort);
      if (signal.aborted) return;
      requests.upstreamFailed += 1;
      if (res.headersSent) {
        res.destroy(error);
        return;
      }
      const body = JSON.stringify({ message: `@phlow/testkit FaultProxy: target ${this.#target.host}:${this.#target.port} failed: ${error.code ?? error.message}` });
      res.writeHead(502, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-phlow-proxy-error': 'upstream' });
      res.end(body);
    });

    upstreamRequest.on('response', (upstreamResponse) => {
      res.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.statusMessage, forwardableHeaders(upstreamResponse.headers));
      void this.#relayBody(upstreamResponse, res, signal).then(
        () => {
          signal.removeEventListener('abort', onAbort);
          requests.completed += 1;
          res.end();
        },
        () => {
          signal.removeEventListener('abort', onAbort);
          upstreamRequest.destroy();
          if (!res.destroyed) res.destroy();
        },
      );
    });
  }

  async #relayBody(from: IncomingMessage, to: ServerResponse, signal: AbortSignal): Promise<void> {
    // Read the fault per chunk: switching slowBody on affects responses already streaming.
    for await (const chunk of from) {
      signal.throwIfAborted();
      await writeShaped(to, chunk as Buffer, this.#faults.slowBody, signal);
      this.#stats.bytes.toClient += (chunk as Buffer).length;
    }
    if (!from.complete) throw new Error('target closed the response early');
  }
}
