/**
 * A stranger's DID must not make the agent connect to the machine it runs on. Real did:web hosts on
 * loopback (the testkit's HTTPS host), real @phlow/did-resolver drivers with their address policy,
 * did-resolver's Resolver; a plain TCP listener counts every connection that reaches it.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { getWebResolver } from '@phlow/did-resolver';
import { DidWebHost, basicDidDocument, generateLoopbackCertificate } from '@phlow/testkit';
import { Resolver } from 'did-resolver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { byDidWebHost, didWebAuthority } from './did-drivers.js';

describe('didWebAuthority', () => {
  it('is the host and port as the URL parser normalises them', () => {
    expect(didWebAuthority('localhost%3A8443:agents:alpha')).toBe('localhost:8443');
    expect(didWebAuthority('LOCALHOST%3a8443:agents:alpha')).toBe('localhost:8443');
    expect(didWebAuthority('Example.COM')).toBe('example.com');
    expect(didWebAuthority('example.com%3A443')).toBe('example.com');
    expect(didWebAuthority('127.1%3A8443')).toBe('127.0.0.1:8443');
  });

  it('is undefined for what names no host', () => {
    for (const id of ['', '%E0%A4%A', 'evil.example%2F..', 'user%40localhost', 'localhost%3A99999', 'a%20b', 'localhost%23x']) expect(didWebAuthority(id), id).toBeUndefined();
  });
});

describe('byDidWebHost', () => {
  const certificate = generateLoopbackCertificate();
  let own: DidWebHost;
  let stranger: DidWebHost;
  let listener: Server;
  let connections = 0;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    own = new DidWebHost({ certificate: await certificate });
    stranger = new DidWebHost({ certificate: await certificate });
    listener = createServer((socket) => {
      connections++;
      sockets.add(socket);
      socket.destroy();
    });
    await Promise.all([own.start(), stranger.start(), new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve))]);
    own.setDocument('agents/alpha', basicDidDocument(own.didFor('agents/alpha')));
    stranger.setDocument('agents/alpha', basicDidDocument(stranger.didFor('agents/alpha')));
  });
  afterAll(async () => {
    await Promise.all([own?.stop(), stranger?.stop(), new Promise<void>((resolve) => listener?.close(() => resolve()))]);
  });

  const resolverFor = () => {
    const ca = own.ca;
    const driver = byDidWebHost(own.did.slice('did:web:'.length), getWebResolver({ ca, allowPrivateAddresses: ['127.0.0.1', '::1'] }).web, getWebResolver({ ca, allowPrivateAddresses: false }).web);
    return new Resolver({ web: driver });
  };

  it('resolves the operator\'s host on loopback, and refuses strangers\' loopback hosts without connecting', async () => {
    const resolver = resolverFor();
    let ownRequests = 0;
    let strangerRequests = 0;
    const a = own.onRequest(() => ownRequests++);
    const b = stranger.onRequest(() => strangerRequests++);
    try {
      expect((await resolver.resolve(own.didFor('agents/alpha'))).didDocument?.id).toBe(own.didFor('agents/alpha'));
      expect(ownRequests).toBe(1);
      const refused = await resolver.resolve(stranger.didFor('agents/alpha'));
      expect(refused.didDocument).toBeNull();
      expect(JSON.stringify(refused.didResolutionMetadata)).toMatch(/loopback/);
      // Any port of the machine, as a stranger's DID names it: not one connection.
      const port = (listener.address() as { port: number }).port;
      for (const did of [`did:web:localhost%3A${port}`, `did:web:127.0.0.1%3A${port}:agents:x`, `did:web:127.1%3A${port}`, `did:web:%5B%3A%3A1%5D%3A${port}`]) {
        expect((await resolver.resolve(did)).didDocument, did).toBeNull();
      }
      expect(strangerRequests).toBe(0);
      expect(connections).toBe(0);
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it('other spellings of the operator\'s host go to the operator\'s driver (they reach the same host), and are still not its DIDs', async () => {
    const resolver = resolverFor();
    let ownRequests = 0;
    const counting = own.onRequest(() => ownRequests++);
    try {
      const [authority, path] = [own.did.slice('did:web:'.length), ':agents:alpha'];
      for (const spelling of [authority.toUpperCase(), authority.replace('%3A', '%3a')]) await resolver.resolve(`did:web:${spelling}${path}`);
      expect(ownRequests).toBe(2);
    } finally {
      counting.dispose();
    }
  });

  it('names a DID host that is not a did:web authority', () => {
    expect(() => byDidWebHost('%zz', getWebResolver().web, getWebResolver().web)).toThrow('the DID host "%zz" is not a did:web authority (host, or host%3Aport)');
  });
});
