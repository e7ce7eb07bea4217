import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalHost } from './canonical-host.js';
import { classifyAddress } from './classify-address.js';
import { pickFrom, refusedAddress, spellHost } from './host-spellings.js';

const picks = fc.array(fc.nat(), { minLength: 64, maxLength: 64 });
const picker = pickFrom;

describe('host spellings (the generator the property tests rely on)', () => {
  it('every spelling is read by the URL parser as the address it spells, and that address is refused', () => {
    fc.assert(
      fc.property(picks, (values) => {
        const pick = picker(values);
        const address = refusedAddress(pick);
        const spelling = spellHost(address, pick);
        const host = canonicalHost(`http://${spelling}:8080/`);
        expect(classifyAddress(host.hostname), `${spelling} → ${host.hostname}`).toBeDefined();
        expect(host.address).toBe(canonicalHost(`http://${address.includes(':') ? `[${address}]` : address}/`).address);
      }),
      { numRuns: 2_000, seed: 12 },
    );
  });

  it('produces the forms the guard must see: shortened, decimal, hex, octal, percent-encoded, dotted IPv6 tails', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(picks, (values) => {
        const pick = picker(values);
        const spelling = spellHost(refusedAddress(pick), pick);
        if (/^\d+$/.test(spelling)) seen.add('decimal');
        if (/0x/i.test(spelling)) seen.add('hex');
        if (/(^|\.)0[0-7]/.test(spelling)) seen.add('octal');
        if (/%[0-9a-f]{2}/i.test(spelling)) seen.add('percent');
        if (/^[^.[]+\.[^.]+$/.test(spelling)) seen.add('two parts');
        if (/\.$/.test(spelling)) seen.add('trailing dot');
        if (/^\[.*\d+\.\d+\.\d+\.\d+\]$/.test(spelling)) seen.add('dotted tail');
        if (/^\[[^\]]*[A-F]/.test(spelling)) seen.add('uppercase v6');
      }),
      { numRuns: 2_000, seed: 7 },
    );
    expect([...seen].sort()).toEqual(['decimal', 'dotted tail', 'hex', 'octal', 'percent', 'trailing dot', 'two parts', 'uppercase v6'].sort());
  });
});
