import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DidWebHost, basicDidDocument } from './did-web-host.js';
import { generateLoopbackCertificate } from './self-signed-certificate.js';
import { Agent, fetch } from 'undici';

describe('generateLoopbackCertificate', () => {
  it('gives every certificate its own subject, so a client can trust two hosts at once', async () => {
    const [a, b] = await Promise.all([generateLoopbackCertificate(), generateLoopbackCertificate()]);
    expect(new X509Certificate(a.cert).subject).not.toBe(new X509Certificate(b.cert).subject);

    const hosts = [new DidWebHost(), new DidWebHost()];
    await Promise.all(hosts.map((h) => h.start()));
    try {
      for (const h of hosts) h.setDocument('', basicDidDocument(h.did));
      // One client trusting both CAs reaches both hosts.
      const dispatcher = new Agent({ connect: { ca: hosts.map((h) => h.ca) } });
      try {
        for (const h of hosts) {
          const response = await fetch(`${h.url}/.well-known/did.json`, { dispatcher });
          expect(response.status).toBe(200);
          expect(((await response.json()) as { id: string }).id).toBe(h.did);
        }
      } finally {
        await dispatcher.close();
      }
    } finally {
      await Promise.all(hosts.map((h) => h.stop()));
    }
  });
});
