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
});
