import { TracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { DidWebHost, FaultProxy, basicDidDocument, type CertificatePair, type Disposable } from '@phlow/testkit';

/**
 * A did:web host behind a TCP fault proxy: the DIDs name the proxy's port, so every byte passes it.
 * Hosts a client trusts together must share one certificate: each generated one has the same
 * subject, and OpenSSL then checks a host's certificate against the other's key.
 */
export class ProxiedDidHost {
  readonly host: DidWebHost;
  proxy!: FaultProxy;

  constructor(certificate?: CertificatePair) {
    this.host = new DidWebHost(certificate === undefined ? {} : { certificate });
  }

  async start(): Promise<this> {
    await this.host.start();
    this.proxy = new FaultProxy({ target: this.host.url, mode: 'tcp' });
    await this.proxy.start();
    this.host.setDocument('', basicDidDocument(this.did));
    return this;
  }

  async stop(): Promise<void> {
    await this.proxy?.stop();
    await this.host.stop();
  }

  /** `did:web:localhost%3A<proxy port>[:path:segments]`. */
  didFor(path = ''): string {
    return `did:web:localhost%3A${this.proxy.port}${path === '' ? '' : `:${path.split('/').join(':')}`}`;
  }

  get did(): string {
    return this.didFor('');
  }

  /** `localhost:<proxy port>`: the key of this host's breaker. */
  get authority(): string {
    return `localhost:${this.proxy.port}`;
  }

  /** Serves a document for `path` whose id is the proxied DID, with optional services. */
  serve(path: string, services: readonly Record<string, unknown>[] = []): string {
    const did = this.didFor(path);
    this.host.setDocument(path, { ...basicDidDocument(did), ...(services.length > 0 ? { service: services } : {}) });
    return did;
  }

  /** Requests the host itself answered (not those the proxy broke). */
  countRequests(): { readonly count: number } & Disposable {
    let count = 0;
    const subscription = this.host.onRequest(() => count++);
    return {
      get count() {
        return count;
      },
      dispose: () => subscription.dispose(),
      [Symbol.dispose]: () => subscription.dispose(),
    };
  }
}

/** The real OTel SDK with an in-memory exporter. */
export function memoryTracing(): { exporter: InMemorySpanExporter; provider: TracerProvider } {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  return { exporter, provider };
}
