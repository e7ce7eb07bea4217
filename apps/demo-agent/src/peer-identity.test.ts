import { describe, expect, it } from 'vitest';
import { LastKnownAddresses } from './last-known-addresses.js';
import { AgentDidNamespace, parseTarget } from './peer-identity.js';

const HOST = 'agents.example.com%3A8443';
const ns = new AgentDidNamespace(HOST);

describe('parseTarget', () => {
  it('takes agent ids and DIDs', () => {
    expect(parseTarget('alpha')).toEqual({ kind: 'agent', id: 'alpha' });
    expect(parseTarget('agent_2.b-c')).toEqual({ kind: 'agent', id: 'agent_2.b-c' });
    expect(parseTarget(`did:web:${HOST}:agents:alpha`)).toEqual({ kind: 'did', did: `did:web:${HOST}:agents:alpha` });
    expect(parseTarget('did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK')).toMatchObject({ kind: 'did' });
  });

  it('refuses what would become another path, a DID URL or an unbounded key, naming what is expected', () => {
    for (const bad of ['', 'al pha', '../alpha', 'alpha/beta', 'a:b', '-alpha', 'x'.repeat(65), 'did:web:evil.example/agents/alpha', 'did:web:evil.example:agents:alpha?x=1', 'did:web:evil.example:agents:alpha#a2a', 'did:web:evil.example:', 'did:WEB:x', 'did:web:%zz', `did:web:${'a'.repeat(260)}`, 'did:web:\u0430gents.example.com:agents:alpha', 'did:web:agents.example.com:agents:\u0430lpha', '\u0430lpha', 'alpha\u200b']) {
      const parsed = parseTarget(bad);
      expect(parsed, bad).toHaveProperty('error');
      expect((parsed as { error: string }).error).toMatch(/is not a peer: expected an agent id .* or a DID/);
    }
    expect((parseTarget('x'.repeat(500)) as { error: string }).error).toContain('(500 characters)');
  });
});

describe('AgentDidNamespace', () => {
  it('an agent DID on the configured host is that agent: one breaker with the id', () => {
    expect(ns.didOf('alpha')).toBe(`did:web:${HOST}:agents:alpha`);
    expect(ns.identityOf(`did:web:${HOST}:agents:alpha`)).toEqual({ family: 'a2a', key: 'alpha' });
    expect(ns.expectedIdentity({ kind: 'agent', id: 'alpha' })).toEqual({ family: 'a2a', key: 'alpha' });
  });

  it('the same agent id on any other host, port, path or spelling is its own peer, keyed by the whole DID', () => {
    for (const did of [
      'did:web:evil.example:agents:alpha',
      'did:web:agents.example.com%3A9443:agents:alpha',
      'did:web:agents.example.com:agents:alpha',
      `did:web:${HOST}:x:agents:alpha`,
      `did:web:${HOST}:agents:alpha:x`,
      'did:web:AGENTS.example.com%3A8443:agents:alpha',
      `did:web:${HOST.replace('%3A', '%3a')}:agents:alpha`,
      'did:web:agents.example.com.%3A8443:agents:alpha',
      'did:web:agents.example.com%3A08443:agents:alpha',
      `did:web:${HOST}:agents:alpha%2F..`,
      `did:web:${HOST}:agents:%61lpha`,
    ]) {
      expect(ns.identityOf(did), did).toEqual({ family: 'a2a-did', key: did });
    }
  });

  it('an id that differs from alpha by one character on the configured host is another agent, never alpha', () => {
    for (const id of ['alpha.', 'alpha-', 'Alpha', 'alpha_']) expect(ns.identityOf(`did:web:${HOST}:agents:${id}`)).toEqual({ family: 'a2a', key: id });
  });

  it('without a DID host every DID is keyed by itself', () => {
    const none = new AgentDidNamespace(undefined);
    expect(none.didOf('alpha')).toBeUndefined();
    expect(none.identityOf(`did:web:${HOST}:agents:alpha`)).toEqual({ family: 'a2a-did', key: `did:web:${HOST}:agents:alpha` });
  });
});

describe('LastKnownAddresses', () => {
  const alpha = { family: 'a2a', key: 'alpha' } as const;

  it('an address from a DID document never replaces the registry\'s', () => {
    const known = new LastKnownAddresses();
    known.remember(alpha, 'http://registry.example', 'registry');
    known.remember(alpha, 'http://from-a-document.example', 'did');
    expect(known.get(alpha)).toEqual({ url: 'http://registry.example', source: 'registry' });
    known.remember(alpha, 'http://registry-moved.example', 'registry');
    expect(known.get(alpha)?.url).toBe('http://registry-moved.example');
  });

  it('keeps DID addresses when the registry never named the peer; each family is bounded on its own', () => {
    const known = new LastKnownAddresses({ a2a: 2, 'a2a-did': 2 });
    known.remember(alpha, 'http://a.example', 'did');
    known.remember(alpha, 'http://a2.example', 'did');
    expect(known.get(alpha)?.url).toBe('http://a2.example');
    // A flood of strangers' DIDs pushes out strangers' addresses (least recently used first), never alpha's.
    for (let i = 0; i < 1_000; i++) known.remember({ family: 'a2a-did', key: `did:web:evil${i}.example` }, 'http://x', 'did');
    expect(known.get(alpha)?.url).toBe('http://a2.example');
    expect(known.get({ family: 'a2a-did', key: 'did:web:evil0.example' })).toBeUndefined();
    expect(known.get({ family: 'a2a-did', key: 'did:web:evil999.example' })?.url).toBe('http://x');
    known.remember({ family: 'a2a', key: 'beta' }, 'http://b.example', 'registry');
    known.remember({ family: 'a2a', key: 'delta' }, 'http://d.example', 'registry');
    expect(known.get(alpha)).toBeUndefined();
    expect(() => new LastKnownAddresses({ a2a: 0, 'a2a-did': 1 })).toThrow('maxEntries must be an integer >= 1; got 0');
  });
});
