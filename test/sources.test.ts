import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareNames } from '../src/source/collect.js';
import { SourcePaths } from '../src/source/sources.js';

const BASE = '/evidence/root';

/** Names drawn from a few parts, so repeats and unsorted runs are common. */
const nameArb = fc.array(fc.constantFrom('a', 'b', 'z', 'é', 'dir/x', 'dir/y', '0'), { minLength: 1, maxLength: 3 }).map((xs) => xs.join('/'));
const inputArb = fc.array(fc.record({ name: nameArb, elsewhere: fc.boolean(), tag: fc.nat(9) }), { maxLength: 40 });

describe('SourcePaths', () => {
  it('answers like the Map of the same pairs (last path wins, first position kept)', () => {
    fc.assert(
      fc.property(inputArb, fc.boolean(), (input, sortFirst) => {
        const rows = sortFirst ? [...input].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) : input;
        const abs = rows.map((r) => (r.elsewhere ? `/elsewhere/${r.tag}/${r.name}` : path.join(BASE, r.name)));
        const names = rows.map((r) => r.name);
        const map = new Map(names.map((n, i) => [n, abs[i]!] as const));
        const sources = new SourcePaths(BASE, names, (i) => abs[i]!);
        expect(sources.size).toBe(map.size);
        expect([...sources]).toEqual([...map]);
        expect([...sources.keys()]).toEqual([...map.keys()]);
        expect([...sources.values()]).toEqual([...map.values()]);
        for (const probe of [...names, 'missing', 'a/missing', '']) {
          expect(sources.has(probe)).toBe(map.has(probe));
          expect(sources.get(probe)).toBe(map.get(probe));
        }
      }),
    );
  });

  it('keeps no path string for a file under the base', () => {
    const names = ['a.log', 'b.log', 'c.log'];
    const sources = new SourcePaths(BASE, names, (i) => (i === 1 ? '/mnt/b.log' : path.join(BASE, names[i]!)));
    expect((sources as unknown as { other: Map<string, string> }).other).toEqual(new Map([['b.log', '/mnt/b.log']]));
    expect(sources.get('a.log')).toBe('/evidence/root/a.log');
  });
});

describe('compareNames', () => {
  it('orders like the UTF-8 bytes, surrogate pairs and U+E000… included', () => {
    // Code units around the places where UTF-16 and UTF-8 order part: the surrogates, U+E000-U+FFFF.
    const unit = fc.constantFrom('a', 'Z', '/', '!', '\0', 'é', '中', '\uD7FF', '\uE000', '\uFFFD', '\u{1F600}', '\u{10000}', '\uFF01');
    const name = fc.array(unit, { maxLength: 6 }).map((xs) => xs.join(''));
    fc.assert(
      fc.property(name, name, (a, b) => {
        expect(Math.sign(compareNames(a, b))).toBe(Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b))));
      }),
      { numRuns: 2000 },
    );
  });
});
