import { describe, expect, it } from 'vitest';
import { AddressGuard, AddressNotAllowedError, classifyAddress } from './address-policy.js';

describe('classifyAddress', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['fd12:3456::1', 'private'],
    ['100.64.0.1', 'shared'],
    ['169.254.169.254', 'metadata'],
    ['100.100.100.200', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['169.254.1.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['2002:7f00:1::', 'loopback'],
    ['64:ff9b::10.0.0.1', 'private'],
    ['not-an-ip', 'reserved'],
  ])('%s is %s', (address, category) => {
    expect(classifyAddress(address)).toBe(category);
  });

  it.each(['93.184.215.14', '8.8.8.8', '2606:4700::1111', '172.32.0.1', '::ffff:8.8.8.8'])('%s is public', (address) => {
    expect(classifyAddress(address)).toBeUndefined();
  });
});

describe('AddressGuard', () => {
  it('refuses the host when any one of its addresses is refused', () => {
    const guard = new AddressGuard(false);
    expect(() => guard.check('a.example', ['93.184.215.14'])).not.toThrow();
    const error = (() => {
      try {
        guard.check('a.example', ['93.184.215.14', '10.0.0.7']);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(AddressNotAllowedError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ host: 'a.example', address: '10.0.0.7', category: 'private' });
    expect((error as Error).message).toMatch(/allowPrivateAddresses/);
  });

  it('lets listed addresses and ranges through, and nothing else', () => {
    const guard = new AddressGuard(['127.0.0.1', '10.0.0.0/8']);
    expect(() => guard.check('h', ['127.0.0.1', '10.9.9.9', '::ffff:127.0.0.1'])).not.toThrow();
    expect(() => guard.check('h', ['127.0.0.2'])).toThrow(/loopback/);
    expect(() => guard.check('h', ['::1'])).toThrow(/loopback/);
    expect(new AddressGuard(true).checks).toBe(false);
  });

  it('rejects a malformed allow list naming the entry', () => {
    expect(() => new AddressGuard(['127.0.0.1', 'localhost'])).toThrow(/allowPrivateAddresses\[1\].*"localhost"/);
    expect(() => new AddressGuard(['10.0.0.0/33'])).toThrow(TypeError);
  });
});
