// Shared by this package's tests only (excluded from the build). The testkit's Supabase stand-in serves
// PostgREST only, so this real node:http server stands where Supabase's gateway does: it serves storage
// object downloads itself (and a few hostile REST answers) and forwards every other request to the
// stand-in's fault proxy.
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { CircuitBreakerRegistry } from '@phlow/circuit-breaker';
import type { SupabaseClient } from '@supabase/supabase-js';
import { afterEach } from 'vitest';
import { createClient, type SupabaseProtectionOptions } from './index.js';
import { Project, projectForFile, testClientOptions } from './test-setup.test-util.js';

/** Byte `i` of every stored object: a pattern a reader can check without the server's copy. */
export const byteAt = (i: number): number => (i * 31 + 7) & 0xff;

/** A storage object: its size, whether its body waits after the first chunk until `release`, or whether it is never answered. */
export interface StoredObject {
  readonly size: number;
  readonly held?: boolean;
  readonly hangs?: boolean;
}

/** What happened to one hostile REST answer. */
export interface HostileAnswer {
  /** Bytes the server got onto the socket before the client went away. */
  written: number;
  /** The client closed the connection (the server never finished). */
  closed: boolean;
}

const CHUNK = 64 * 1024;

export class Gateway {
  readonly #server: Server;
  readonly #target: URL;
  readonly #objects = new Map<string, StoredObject>();
  readonly #held = new Map<string, (() => void)[]>();
  /** Download requests received, by object path. */
  readonly downloads = new Map<string, number>();
  /** Bodies of downloads sent completely. */
  completed = 0;
  /** Hostile REST answers by table name. */
  readonly hostile = new Map<string, HostileAnswer>();
  /** REST requests served by the gateway itself (not forwarded). */
  hostileRequests = 0;
  #url = '';

  constructor(target: string) {
    this.#target = new URL(target);
    this.#server = createServer((req, res) => this.#handle(req, res));
    this.#server.keepAliveTimeout = 500;
  }

  get url(): string {
    return this.#url;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.#url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const waiting of this.#held.values()) for (const release of waiting) release();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Stores an object at `bucket/path`. */
  put(path: string, object: StoredObject): void {
    this.#objects.set(path, object);
  }

  /** Lets every held download of `path` send the rest of its body. */
  release(path: string): void {
    for (const release of this.#held.get(path)?.splice(0) ?? []) release();
  }

  /** Downloads of `path` waiting for `release` (their headers and first chunk sent). */
  heldCount(path: string): number {
    return this.#held.get(path)?.length ?? 0;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', 'http://gateway').pathname;
    const object = /^\/storage\/v1\/object\/(.+)$/.exec(path);
    if (object !== null && req.method === 'GET' && !object[1]!.startsWith('info/')) return void this.#download(decodeURIComponent(object[1]!), res);
    const table = /^\/rest\/v1\/(hostile_[a-z_]+)$/.exec(path);
    if (table !== null) return void this.#hostile(table[1]!, res);
    this.#forward(req, res);
  }

  async #download(path: string, res: ServerResponse): Promise<void> {
    this.downloads.set(path, (this.downloads.get(path) ?? 0) + 1);
    const stored = this.#objects.get(path);
    if (stored === undefined) {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ statusCode: '404', error: 'not_found', message: 'Object not found' }));
      return;
    }
    if (stored.hangs === true) return;
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(stored.size) });
    let aborted = false;
    res.on('close', () => (aborted = !res.writableFinished));
    for (let offset = 0; offset < stored.size && !aborted; offset += CHUNK) {
      const chunk = new Uint8Array(Math.min(CHUNK, stored.size - offset));
      for (let i = 0; i < chunk.length; i++) chunk[i] = byteAt(offset + i);
      const flushed = res.write(chunk);
      if (offset === 0 && stored.held === true) {
        await new Promise<void>((resolve) => {
          const waiting = this.#held.get(path) ?? [];
          waiting.push(resolve);
          this.#held.set(path, waiting);
        });
      } else if (!flushed) {
        await new Promise<void>((resolve) => {
          res.once('drain', resolve);
          res.once('close', resolve);
        });
      }
    }
    if (aborted) return;
    res.end(() => this.completed++);
  }

  /**
   * Hostile PostgREST answers: `hostile_endless` streams rows until the client goes away (no
   * Content-Length); `hostile_announced` announces 1 GiB; `hostile_gzip` sends 64 MiB of zeros
   * gzipped into ~64 KiB; `hostile_broken` sends half a chunked body, then the connection dies;
   * `hostile_labelled_stream` streams rows endlessly like `hostile_endless`, labelled `text/event-stream`.
   */
  #hostile(table: string, res: ServerResponse): void {
    this.hostileRequests++;
    const answer: HostileAnswer = { written: 0, closed: false };
    this.hostile.set(table, answer);
    res.on('close', () => (answer.closed = !res.writableFinished));
    if (table === 'hostile_announced') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(1024 ** 3) });
      res.write('[');
      return;
    }
    if (table === 'hostile_gzip') {
      const body = gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20));
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': String(body.length) });
      answer.written = body.length;
      res.end(body);
      return;
    }
    res.writeHead(200, { 'content-type': table === 'hostile_labelled_stream' ? 'text/event-stream' : 'application/json' });
    if (table === 'hostile_broken') {
      res.write('[{"id":"a1"},');
      setImmediate(() => res.socket?.destroy());
      return;
    }
    const row = Buffer.from(`{"id":"${'x'.repeat(100)}"},`.repeat(Math.floor(CHUNK / 110)));
    res.write('[');
    const pump = (): void => {
      while (!res.destroyed) {
        answer.written += row.length;
        if (!res.write(row)) {
          res.once('drain', pump);
          return;
        }
      }
    };
    pump();
  }

  #forward(req: IncomingMessage, res: ServerResponse): void {
    const upstream = httpRequest(
      { host: this.#target.hostname, port: this.#target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  }
}

/** The stand-in reached through a gateway of its own per client (real clock, fresh registry); `stopGateways` after each test. */
export class GatewayProject extends Project {
  readonly #gateways: Gateway[] = [];

  /** A client through a new gateway, its breakers timing out after `timeoutMs` unless `protection.breaker` says otherwise. */
  async gatewayClient(timeoutMs: number, protection: SupabaseProtectionOptions = {}): Promise<{ supabase: SupabaseClient; gateway: Gateway }> {
    const gateway = new Gateway((await this.proxy()).url);
    await gateway.start();
    this.#gateways.push(gateway);
    const supabase = createClient(gateway.url, 'test-key', {
      ...testClientOptions,
      protection: { registry: new CircuitBreakerRegistry({ logger: false }), ...protection, breaker: { timeoutMs, ...protection.breaker } },
    });
    return { supabase, gateway };
  }

  async stopGateways(): Promise<void> {
    for (const gateway of this.#gateways.splice(0)) await gateway.stop();
  }
}

/** A {@link GatewayProject} for the test file calling this (see `projectForFile`), its gateways stopped after each test. */
export function gatewayProjectForFile(): GatewayProject {
  const project = projectForFile(new GatewayProject());
  afterEach(() => project.stopGateways());
  return project;
}
