import { describe, expect, it } from 'vitest';
import { readConfig } from './config.js';
import { parseRelayText } from './relay.js';

describe('parseRelayText', () => {
  it('takes the first word as the peer (agent id or DID) and the rest as the message', () => {
    expect(parseRelayText('alpha hello there')).toEqual({ target: 'alpha', text: 'hello there' });
    expect(parseRelayText('  @beta   hi\nsecond line ')).toEqual({ target: 'beta', text: 'hi\nsecond line' });
    expect(parseRelayText('did:web:localhost%3A8443:agents:gamma ping')).toEqual({ target: 'did:web:localhost%3A8443:agents:gamma', text: 'ping' });
  });

  it('refuses a message without a peer or without text', () => {
    expect(parseRelayText('alpha')).toBeUndefined();
    expect(parseRelayText('   ')).toBeUndefined();
  });
});

describe('readConfig', () => {
  it('has embedded defaults and a generated admin token', () => {
    const config = readConfig({});
    expect(config).toMatchObject({ host: '127.0.0.1', port: 8080, supabaseUrl: undefined, peerUrls: undefined, recoveryTimeoutMs: 10_000, peerTimeoutMs: 5_000 });
    expect(config.adminToken).toMatch(/^[0-9a-f]{24}$/);
    expect(config.allowedHosts).toEqual(['127.0.0.1', 'localhost', '[::1]']);
    expect(readConfig({ HOST: '0.0.0.0', ALLOWED_HOSTS: 'agent.example.com, ::1' }).allowedHosts).toEqual(['agent.example.com', '::1']);
  });

  it('reads real dependencies and tuning from the environment', () => {
    const config = readConfig({ SUPABASE_URL: 'https://x.supabase.co', SUPABASE_ANON_KEY: 'k', PEER_URLS: 'alpha=https://a.example/, beta=http://b:9000', ADMIN_TOKEN: 't', PHLOW_RECOVERY_MS: '1000' });
    expect(config.supabaseKey).toBe('k');
    expect([...config.peerUrls!]).toEqual([['alpha', 'https://a.example'], ['beta', 'http://b:9000']]);
    expect(config.adminToken).toBe('t');
    expect(config.recoveryTimeoutMs).toBe(1000);
  });

  it('names the variable, the value and what is allowed when a value is wrong', () => {
    expect(() => readConfig({ PORT: 'eighty' })).toThrow(RangeError);
    expect(() => readConfig({ PORT: 'eighty' })).toThrow('PORT must be an integer >= 0; got "eighty"');
    expect(() => readConfig({ PEER_URLS: 'alpha' })).toThrow(`PEER_URLS must be a comma list of id=http(s)://url (id: letters, digits, '.', '_', '-'); got "alpha"`);
    expect(() => readConfig({ PEER_URLS: 'a/b=http://x' })).toThrow('got "a/b=http://x"');
    expect(() => readConfig({ ALLOWED_HOSTS: 'agent.example.com:8080' })).toThrow('ALLOWED_HOSTS must be a comma list of host names or IP addresses without port (e.g. "agent.example.com,127.0.0.1"); got "agent.example.com:8080"');
    expect(() => readConfig({ A2A_ALLOW_PRIVATE: 'yes' })).toThrow('A2A_ALLOW_PRIVATE must be 1 (on) or 0 (off); got "yes"');
    expect(() => readConfig({ DID_CA_FILE: '/nonexistent/ca.pem' })).toThrow('DID_CA_FILE must name a readable PEM file; got "/nonexistent/ca.pem" (ENOENT)');
    expect(() => readConfig({ SUPABASE_URL: 'https://x.supabase.co' })).toThrow(/SUPABASE_KEY/);
  });
});
