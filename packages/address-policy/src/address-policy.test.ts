import { describe, expect, it } from 'vitest';
import { AddressNotAllowedError, findAddressRefusal } from './address-not-allowed-error.js';
import { AddressPolicy } from './address-policy.js';

describe('AddressPolicy', () => {
  it('refuses by default, names host, address and category', () => {
    const policy = new AddressPolicy();
    expect(policy.enforced).toBe(true);
    expect(() => policy.check('localhost', ['127.0.0.1'])).toThrow(new AddressNotAllowedError('localhost', '127.0.0.1', 'loopback'));
    expect(() => policy.check('example.com', ['93.184.215.14', '10.0.0.1'])).toThrow(/example\.com resolves to 10\.0\.0\.1 \(private\); refused/);
    expect(policy.verdict('example.com', '93.184.215.14')).toBeUndefined();
  });

  it('checkUrl refuses an IP literal however it is spelled, and leaves names to the connection', () => {
    const policy = new AddressPolicy();
    expect(() => policy.checkUrl('http://0x7f.1:8080/')).toThrow(/127\.0\.0\.1 is a loopback address/);
    expect(() => policy.checkUrl('http://[::ffff:a9fe:a9fe]/')).toThrow(/::ffff:a9fe:a9fe is a metadata address/);
    expect(policy.checkUrl('https://localhost:8443/x').hostname).toBe('localhost');
    expect(new AddressPolicy({ allowPrivateAddresses: true }).checkUrl('http://127.1/').hostname).toBe('127.0.0.1');
  });

  it('an allow-list matches canonical host names, addresses and CIDR ranges (IPv4-mapped included)', () => {
    const policy = new AddressPolicy({ allowPrivateAddresses: ['Did-Host.Test.', '10.0.0.0/8', '::1', '127.0.0.1'] });
    expect(policy.verdict('did-host.test', '192.168.1.1')).toBeUndefined();
    expect(policy.verdict('other.test', '192.168.1.1')).toBe('private');
    expect(policy.verdict('x', '10.9.9.9')).toBeUndefined();
    expect(policy.verdict('x', '::ffff:10.9.9.9')).toBeUndefined();
    expect(policy.verdict('x', '127.0.0.2')).toBe('loopback');
    expect(policy.verdict('x', '::1')).toBeUndefined();
    expect(policy.verdict('x', '::ffff:127.0.0.1')).toBeUndefined();
  });

  it('rejects bad entries, naming the option, the value and what is allowed', () => {
    expect(() => new AddressPolicy({ allowPrivateAddresses: 'yes' as never })).toThrow(/allowPrivateAddresses must be true, false or a list/);
    expect(() => new AddressPolicy({ allowPrivateAddresses: ['0x7f.1'] })).toThrow('allowPrivateAddresses[0] "0x7f.1" is read as the IP address 127.0.0.1 by URL parsers; write "127.0.0.1"');
    expect(() => new AddressPolicy({ allowPrivateAddresses: ['2130706433'] })).toThrow(/write "127\.0\.0\.1"/);
    expect(() => new AddressPolicy({ allowPrivateAddresses: ['10.0.0.0/33'] })).toThrow(/allowPrivateAddresses\[0\] must be a host name/);
    expect(() => new AddressPolicy({ allowPrivateAddresses: ['a b'] })).toThrow(/must be a host name/);
    expect(() => new AddressPolicy({ allowPrivateAddresses: [''] })).toThrow(/must be a host name/);
    expect(() => new AddressPolicy({ allowPrivateAddresses: ['fe80::1%eth0'] })).toThrow(/must be a host name/);
    expect(() => new AddressPolicy({ allowPrivateAddresses: ['ok.test', 7 as never] }, 'did.allow')).toThrow(/did\.allow\[1\] must be/);
  });

  it('errors are recognised across copies and found in a cause chain', () => {
    const error = new AddressNotAllowedError('h', '10.0.0.1', 'private');
    expect(error).toBeInstanceOf(TypeError);
    expect(AddressNotAllowedError.isInstance({ ...error, [Symbol.for('phlow.address-policy.address-not-allowed-error')]: true })).toBe(true);
    expect(AddressNotAllowedError.isInstance(new TypeError('fetch failed'))).toBe(false);
    expect(findAddressRefusal(new TypeError('fetch failed', { cause: error }))).toBe(error);
  });
});
