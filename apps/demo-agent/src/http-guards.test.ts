import { describe, expect, it } from 'vitest';
import { HostAllowList, canonicalHost } from './host-allow-list.js';
import { charsetOf, depthExceeds } from './json-body.js';
import { pagePolicy } from './security-headers.js';
import { isSameOrigin } from './operator-requests.js';

describe('HostAllowList', () => {
  const list = new HostAllowList(['127.0.0.1', 'localhost', '::1', 'Agent.Example.com']);

  it('answers the names the agent is reached by, compared as the URL parser normalises them (any port)', () => {
    for (const host of ['127.0.0.1:8080', '127.0.0.1', 'LOCALHOST:1', '[::1]:8080', '[0:0:0:0:0:0:0:1]', 'agent.example.COM', '127.1:80', '0x7f.0.0.1']) {
      expect(list.allows(host), host).toBe(true);
    }
  });

  it('refuses every other name, and text that is not a Host header', () => {
    for (const host of [undefined, '', 'evil.example', 'evil.example:8080', 'localhost.evil.example', '127.0.0.1.nip.io', 'evil@127.0.0.1', '127.0.0.1/x', '127.0.0.1 ', '[::2]', '[::ffff:127.0.0.2]']) {
      expect(list.allows(host), String(host)).toBe(false);
    }
    expect(canonicalHost('evil@127.0.0.1')).toBeUndefined();
  });

  it('names a configured entry that is not a host', () => {
    expect(() => new HostAllowList(['exa mple'])).toThrow('allowed host "exa mple" is not a host name or IP address');
  });
});

describe('isSameOrigin', () => {
  it('is the origin the request was sent to: same host and port', () => {
    expect(isSameOrigin('http://127.0.0.1:8080', '127.0.0.1:8080')).toBe(true);
    expect(isSameOrigin('https://agent.example.com', 'agent.example.com')).toBe(true);
    expect(isSameOrigin('http://localhost:8080', 'LOCALHOST:8080')).toBe(true);
  });

  it('refuses another site, another port, null and non-web origins', () => {
    for (const [origin, host] of [
      ['http://evil.example', '127.0.0.1:8080'],
      ['http://127.0.0.1:9999', '127.0.0.1:8080'],
      ['http://localhost:8080', '127.0.0.1:8080'],
      ['null', '127.0.0.1:8080'],
      ['file://', '127.0.0.1:8080'],
      ['http://127.0.0.1:8080', undefined],
      ['http://127.0.0.1:8080', 'evil@127.0.0.1:8080'],
    ] as const) {
      expect(isSameOrigin(origin, host), `${origin} ${host}`).toBe(false);
    }
  });
});

describe('depthExceeds', () => {
  const nested = (depth: number): unknown => {
    let value: unknown = 1;
    for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { a: value };
    return value;
  };

  it('counts objects and arrays without recursion, even 100 000 levels deep', () => {
    expect(depthExceeds(nested(32), 32)).toBe(false);
    expect(depthExceeds(nested(33), 32)).toBe(true);
    expect(depthExceeds(nested(100_000), 32)).toBe(true);
    expect(depthExceeds(null, 1)).toBe(false);
    expect(depthExceeds({ a: 1, b: [1, 2], c: { d: 'x' } }, 2)).toBe(false);
  });
});

describe('charsetOf', () => {
  it('reads the charset however it is spelled, and the one that is not UTF-8 when it is given twice', () => {
    expect(charsetOf('application/json')).toBeUndefined();
    expect(charsetOf(undefined)).toBeUndefined();
    expect(charsetOf('application/json; charset=UTF-8')).toBe('utf-8');
    expect(charsetOf('application/json;charset="utf-7"')).toBe('utf-7');
    expect(charsetOf('application/json; CHARSET = utf-16le ')).toBe('utf-16le');
    expect(charsetOf('application/json; charset=utf-8; charset=utf-7')).toBe('utf-7');
    expect(charsetOf('application/json; charset=utf-7; charset=utf-8')).toBe('utf-7');
  });
});

describe('pagePolicy', () => {
  it('allows exactly the page\'s own inline scripts (by hash), no other source, and no framing', () => {
    const policy = pagePolicy('<p>x</p><script>run()</script>');
    // sha256("run()"), computed independently: printf 'run()' | openssl dgst -sha256 -binary | base64
    expect(policy).toContain("script-src 'sha256-AvyuiL0SD1mVY3NNxR+V2uo+lhk6RMFrytWmRt6CrJQ='");
    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain("frame-ancestors 'none'");
    expect(policy).not.toContain('unsafe-eval');
    expect(policy).not.toMatch(/script-src[^;]*unsafe-inline/);
  });
});
