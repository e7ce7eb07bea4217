// The `@phlow/address-policy/testing` entry: generators and a spy for tests of an address guard.
export { pickFrom, refusedAddress, spellHost, spellIpv4, spellIpv6 } from './host-spellings.js';
export type { Pick } from './host-spellings.js';
export { addressRefusalOf, spyOnConnections } from './connection-spy.js';
export type { ConnectionSpy } from './connection-spy.js';
