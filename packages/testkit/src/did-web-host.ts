import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, globalAgent as httpsGlobalAgent, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { Agent, fetch as undiciFetch, type Dispatcher } from 'undici';
import { Emitter, toDisposable, type Disposable } from './disposable.js';
import { close, listen } from './listen.js';
import { checkPort, typeError } from './option-errors.js';
import { generateLoopbackCertificate, type CertificatePair } from './self-signed-certificate.js';

const COMPONENT = 'DidWebHost';

/** A DID document, or a function building it from the DID (which contains the port, known only after start). */
export type DidDocumentSource = Readonly<Record<string, unknown>> | ((did: string) => Readonly<Record<string, unknown>>);

/** A canned answer for negative tests: any status and body, or no answer at all. */
export interface RawDidResponse {
  /** HTTP status. Default 200. */
  readonly status?: number;
  /** Body sent as is (e.g. broken JSON). Default empty. */
  readonly body?: string;
  /** Content type. Default `application/json`. */
  readonly contentType?: string;
  /** Never answer (the connection stays open until the client gives up or the host stops). */
  readonly hang?: boolean;
}

/** Options of a {@link DidWebHost}. */
export interface DidWebHostOptions {
  /**
   * Documents by DID path: `''` is the host's own DID (`/.well-known/did.json`), `'users/alice'` is
   * `did:web:localhost%3A<port>:users:alice` (`/users/alice/did.json`).
   */
  readonly documents?: Readonly<Record<string, DidDocumentSource>>;
  /** Port to listen on (on 127.0.0.1); 0 (the default) takes a free one. */
  readonly port?: number;
  /** Use this certificate instead of generating one. */
  readonly certificate?: CertificatePair;
}

/** Emitted by {@link DidWebHost.onRequest} for each request once answered (or left hanging). */
export interface DidWebRequestEvent {
  /** The request path, e.g. `/.well-known/did.json`. */
  readonly path: string;
  /** The DID path it maps to (`''` for the root DID), undefined for paths outside did:web's layout. */
  readonly didPath: string | undefined;
  readonly status: number | 'hang';
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** Maps a request path to a did:web path (`/.well-known/did.json` → `''`, `/a/b/did.json` → `'a/b'`). */
function didPathOf(path: string): string | undefined {
  if (path === '/.well-known/did.json') return '';
  const match = /^\/(.+)\/did\.json$/.exec(path);
  return match?.[1];
}

function checkDidPath(option: string, path: unknown): string {
  if (typeof path !== 'string' || !/^([A-Za-z0-9._~%-]+(\/[A-Za-z0-9._~%-]+)*)?$/.test(path)) {
    throw typeError(COMPONENT, option, path, "a DID path: '' for the host's DID or segments like 'users/alice'");
  }
  return path;
}

/**
 * A did:web host: HTTPS on 127.0.0.1 with a freshly generated self-signed certificate (SAN localhost and
 * 127.0.0.1), serving DID documents from a map that tests can change at runtime.
 *
 * Clients must trust {@link DidWebHost.ca}: pass {@link DidWebHost.dispatcher} to undici's `fetch`, use
 * {@link DidWebHost.fetch}, start Node with `NODE_EXTRA_CA_CERTS=<caFile>`, or for node-fetch based
 * resolvers (web-did-resolver) add the CA to `https.globalAgent.options.ca`. See the README.
 */
export class DidWebHost {
  readonly #documents = new Map<string, DidDocumentSource>();
  readonly #raw = new Map<string, RawDidResponse>();
  #port: number;
  readonly #givenCertificate: CertificatePair | undefined;
  #certificate: CertificatePair | undefined;
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  #tempDir: string | undefined;
  #caFile: string | undefined;
  #agent: Agent | undefined;
  #state: 'new' | 'started' | 'stopped' = 'new';
  readonly #requests = new Emitter<DidWebRequestEvent>();

  constructor(options: DidWebHostOptions = {}) {
    if (typeof options !== 'object' || options === null) throw typeError(COMPONENT, 'options', options, 'an object');
    this.#port = options.port === undefined ? 0 : checkPort(COMPONENT, 'port', options.port);
    const certificate = options.certificate;
    if (certificate !== undefined && (typeof certificate.cert !== 'string' || typeof certificate.key !== 'string')) {
      throw typeError(COMPONENT, 'certificate', certificate, 'an object { cert, key } of PEM strings');
    }
    this.#givenCertificate = certificate;
    for (const [path, document] of Object.entries(options.documents ?? {})) this.setDocument(path, document);
  }

  /** Generates the certificate (unless given), writes the CA file and starts listening on 127.0.0.1. */
  async start(): Promise<void> {
    if (this.#state !== 'new') throw new Error(`${COMPONENT}: start() called on a host that is ${this.#state}`);
    this.#state = 'started';
    this.#certificate = this.#givenCertificate ?? (await generateLoopbackCertificate());
    this.#tempDir = await mkdtemp(join(tmpdir(), 'phlow-did-web-'));
    this.#caFile = join(this.#tempDir, 'ca.pem');
    await writeFile(this.#caFile, this.#certificate.cert);
    this.#agent = new Agent({ connect: { ca: this.#certificate.cert } });
    const server = createServer({ cert: this.#certificate.cert, key: this.#certificate.key }, (req, res) => this.#handle(req, res));
    server.on('secureConnection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    this.#server = server;
    this.#port = await listen(server, this.#port, '127.0.0.1');
  }

  /** Closes connections (also hanging ones), the listener, the client agent and removes the CA file. Idempotent. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    const wasStarted = this.#state === 'started';
    this.#state = 'stopped';
    if (!wasStarted) return;
    for (const socket of this.#sockets) socket.destroy();
    if (this.#server !== undefined) await close(this.#server);
    await this.#agent?.destroy();
    if (this.#tempDir !== undefined) await rm(this.#tempDir, { recursive: true, force: true });
  }

  /** The same as {@link DidWebHost.stop}, so `await using` stops it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /** The port listened on. */
  get port(): number {
    return this.#port;
  }

  /** `https://localhost:<port>`. */
  get url(): string {
    return `https://localhost:${this.#port}`;
  }

  /** The host's own DID, `did:web:localhost%3A<port>`. */
  get did(): string {
    return this.didFor('');
  }

  /** The DID for a path: `didFor('users/alice')` → `did:web:localhost%3A<port>:users:alice`. */
  didFor(path: string): string {
    const checked = checkDidPath('path', path);
    return `did:web:localhost%3A${this.#port}${checked === '' ? '' : `:${checked.split('/').join(':')}`}`;
  }

  /** The PEM certificate clients must trust (self-signed, so it is its own CA). */
  get ca(): string {
    return this.#started().cert;
  }

  /** Path of a file holding {@link DidWebHost.ca} (for `NODE_EXTRA_CA_CERTS` or tools); removed by stop(). */
  get caFile(): string {
    this.#started();
    return this.#caFile as string;
  }

  /**
   * An undici 8 dispatcher that trusts the host's certificate, for undici's fetch:
   * `fetch(url, { dispatcher: host.dispatcher })` with `import { fetch } from 'undici'`. Node's global
   * fetch takes it only where Node bundles undici 8 (Node 26); Node 22's and 24's refuse it.
   */
  get dispatcher(): Dispatcher {
    this.#started();
    return this.#agent as Agent;
  }

  /** `fetch` (undici's, matching {@link DidWebHost.dispatcher}) that trusts the host's certificate. */
  fetch(input: string | URL, init: Parameters<typeof undiciFetch>[1] = {}): ReturnType<typeof undiciFetch> {
    return undiciFetch(input, { ...init, dispatcher: this.dispatcher });
  }

  /**
   * Makes node:https's global agent trust the host (on top of the usual root CAs) until disposed.
   * For clients that take no fetch or CA option, such as web-did-resolver (node-fetch on the global agent).
   */
  trustGlobalAgent(): Disposable {
    const ca = this.ca;
    const options = httpsGlobalAgent.options;
    const previous = options.ca;
    options.ca = [...rootCertificates, ca];
    return toDisposable(() => {
      options.ca = previous;
    });
  }

  /** Serves `document` for the DID path (replacing any document or raw response there). */
  setDocument(path: string, document: DidDocumentSource): void {
    const checked = checkDidPath('path', path);
    if (typeof document !== 'function' && (typeof document !== 'object' || document === null || Array.isArray(document))) {
      throw typeError(COMPONENT, 'document', document, 'a DID document object or a function (did) => document');
    }
    this.#raw.delete(checked);
    this.#documents.set(checked, document);
  }

  /** Stops serving the DID path (it answers 404 afterwards). Returns whether something was served there. */
  deleteDocument(path: string): boolean {
    const checked = checkDidPath('path', path);
    const raw = this.#raw.delete(checked);
    return this.#documents.delete(checked) || raw;
  }

  /** Answers the DID path with a canned response (status, raw body, or a hang) until set or deleted again. */
  setRawResponse(path: string, response: RawDidResponse): void {
    const checked = checkDidPath('path', path);
    if (typeof response !== 'object' || response === null) throw typeError(COMPONENT, 'response', response, 'an object { status?, body?, contentType?, hang? }');
    if (response.status !== undefined && (!Number.isInteger(response.status) || response.status < 100 || response.status > 599)) {
      throw typeError(COMPONENT, 'response.status', response.status, 'an HTTP status code from 100 to 599');
    }
    this.#documents.delete(checked);
    this.#raw.set(checked, response);
  }

  /** Calls `listener` for each request. */
  onRequest(listener: (event: DidWebRequestEvent) => void): Disposable {
    return this.#requests.subscribe(listener);
  }

  #started(): CertificatePair {
    if (this.#certificate === undefined) throw new Error(`${COMPONENT}: call start() first`);
    return this.#certificate;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    // Node accepts request targets that are no valid URL (`GET http://a:99999/x`); a throw here would end the process.
    const parsed = URL.parse(req.url ?? '/', 'https://localhost');
    if (parsed === null) {
      res.writeHead(400).end();
      return;
    }
    const path = parsed.pathname;
    const didPath = didPathOf(path);
    const report = (status: number | 'hang'): void =>
      this.#requests.emit({ path, didPath, status, headers: { ...req.headers } });
    const raw = didPath === undefined ? undefined : this.#raw.get(didPath);
    if (raw !== undefined) {
      if (raw.hang === true) {
        req.resume();
        report('hang');
        return;
      }
      const status = raw.status ?? 200;
      res.writeHead(status, { 'content-type': raw.contentType ?? 'application/json' });
      res.end(raw.body ?? '');
      report(status);
      return;
    }
    const source = didPath === undefined ? undefined : this.#documents.get(didPath);
    if (source === undefined || didPath === undefined || (req.method !== 'GET' && req.method !== 'HEAD')) {
      const status = source === undefined ? 404 : 405;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: status === 404 ? `no DID document at ${path}` : `method ${req.method} not allowed` }));
      report(status);
      return;
    }
    const document = typeof source === 'function' ? source(this.didFor(didPath)) : source;
    const body = JSON.stringify(document);
    res.writeHead(200, { 'content-type': 'application/did+json', 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
    report(200);
  }
}

/**
 * A minimal DID document for `did` with one Ed25519 verification method (JsonWebKey2020), usable for
 * `authentication` and `assertionMethod`. Pass a public JWK or let it generate one.
 */
export function basicDidDocument(did: string, publicKeyJwk?: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const jwk = publicKeyJwk ?? (generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }) as Record<string, unknown>);
  const keyId = `${did}#key-1`;
  return {
    '@context': ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/suites/jws-2020/v1'],
    id: did,
    verificationMethod: [{ id: keyId, type: 'JsonWebKey2020', controller: did, publicKeyJwk: jwk }],
    authentication: [keyId],
    assertionMethod: [keyId],
  };
}
