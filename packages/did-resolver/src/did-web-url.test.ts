import { describe, expect, it } from 'vitest';
import { didWebLocation } from './did-web-url.js';

describe('didWebLocation', () => {
  it('maps hosts, ports and paths per the did:web spec', () => {
    expect(didWebLocation('localhost%3A8443')).toEqual({
      url: 'https://localhost:8443/.well-known/did.json',
      hostname: 'localhost',
      authority: 'localhost:8443',
    });
    expect(didWebLocation('host:users:alice')).toEqual({
      url: 'https://host/users/alice/did.json',
      hostname: 'host',
      authority: 'host',
    });
    expect(didWebLocation('W3C-CCG.GitHub.io:user%20s:alice')).toMatchObject({
      url: 'https://w3c-ccg.github.io/user%20s/alice/did.json',
      authority: 'w3c-ccg.github.io',
    });
  });

  it('refuses ids that are not a domain name or would leave their path', () => {
    for (const id of [
      '',
      '127.0.0.1',
      '127.0.0.1%3A8443',
      '%5B%3A%3A1%5D',
      'localhost%3A0',
      'localhost%3A99999',
      'localhost%3Ahttp',
      'exa_mple.com',
      '-bad.example',
      'example.com:..:admin',
      'example.com::alice',
      'example.com:a%2Fb',
      'example.com:a%3Fq',
      'example.com:%E0%A4%A',
      'user%40example.com',
    ]) {
      expect(typeof didWebLocation(id), id).toBe('string');
    }
  });

  it.each([
    ['0x7f.1', '127.0.0.1'],
    ['2130706433', '127.0.0.1'],
    ['0177.0.0.1', '127.0.0.1'],
    ['127.1', '127.0.0.1'],
    ['127.0.0.1.', '127.0.0.1'],
    ['0', '0.0.0.0'],
    ['0X7F000001%3A8443', '127.0.0.1'],
    ['%31%32%37.0.0.1%3A8443', '127.0.0.1'],
    ['0xa9.0xfe.0xa9.0xfe', '169.254.169.254'],
    ['%5B%3A%3Affff%3A127.0.0.1%5D', '::ffff:7f00:1'],
    ['%5B%3A%3A1%5D%3A8443', '::1'],
  ])('did:web:%s is an IP address once the URL parser reads it (%s): refused', (id, address) => {
    const answer = didWebLocation(id);
    expect(answer).toMatch(/is an IP address/);
    if (!/^(%5b|%31|127\.0\.0\.1$)/i.test(id)) expect(answer).toContain(`URL parsers read it as ${address}`);
  });

  it('refuses zone ids, double encoding and hosts the URL parser rejects', () => {
    for (const id of ['%5Bfe80%3A%3A1%25eth0%5D', '%2531%2532%2537.0.0.1', 'example.0x10', '1.2.3.4.5', 'exa%20mple.com']) {
      expect(typeof didWebLocation(id), id).toBe('string');
    }
  });

  it('judges Unicode and percent-encoded spellings as the URL parser maps them: digits that become an address are refused', () => {
    for (const [id, address] of [
      ['127%2e0%2e0%2e1', '127.0.0.1'],
      ['%EF%BC%91%EF%BC%92%EF%BC%97.0.0.1', '127.0.0.1'], // fullwidth digits
      ['%E2%91%A0%E2%91%A1%E2%91%A6.0.0.1', '127.0.0.1'], // circled digits
      ['127%E3%80%820%E3%80%820%E3%80%821', '127.0.0.1'], // ideographic full stops
      ['%EF%BC%90', '0.0.0.0'],
      ['169.254.169.254%3A443', '169.254.169.254'],
    ] as const) {
      const refusal = didWebLocation(id);
      expect(refusal, id).toMatch(/is an IP address.*; did:web requires a domain name$/);
      expect(refusal as string, id).toContain(address);
    }
    // Names that the parser maps to another name are that name: judged later, on what it resolves to,
    // and keyed by it (a soft hyphen or fullwidth letters do not make a new breaker key).
    expect(didWebLocation('%EF%BD%8C%EF%BD%8F%EF%BD%83%EF%BD%81%EF%BD%8C%EF%BD%88%EF%BD%8F%EF%BD%93%EF%BD%94')).toMatchObject({ hostname: 'localhost', authority: 'localhost' });
    expect(didWebLocation('ex%C2%ADample.com%3A8443')).toMatchObject({ hostname: 'example.com', authority: 'example.com:8443' });
    expect(didWebLocation('localhost%2e')).toMatch(/is not a valid domain name/);
  });

  it('keys the breaker by the canonical authority: case, and the default port, do not make a new host', () => {
    expect(didWebLocation('Example.COM%3A443')).toMatchObject({ authority: 'example.com', url: 'https://example.com/.well-known/did.json' });
    expect(didWebLocation('example.com%3A8443')).toMatchObject({ authority: 'example.com:8443' });
  });
});
