/**
 * The compact findings store (src/findings.ts): a stored list must be indistinguishable from the
 * array it replaced for every reader (index, iteration, array methods, JSON, deep equality).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FindingStore, findingColumns, isCompact } from '../src/findings.js';
import type { Finding } from '../src/manifest.js';
import { manifestChunks, serializeManifest } from '../src/manifest.js';
import type { Manifest } from '../src/manifest.js';
import { prettyJsonChunks } from '../src/report/stream.js';

const finding: fc.Arbitrary<Finding> = fc.record({
  detector: fc.constantFrom('alibaba-access-key-id', 'email-address', 'ipv4-address', 'x'),
  category: fc.constantFrom('secret' as const, 'pii' as const, 'identifier' as const),
  line: fc.integer({ min: 1, max: 0xffffffff }),
  column: fc.integer({ min: 1, max: 0xffffffff }),
  // Offsets past 4 GiB must survive exactly.
  start: fc.oneof(fc.nat(), fc.integer({ min: 2 ** 32, max: Number.MAX_SAFE_INTEGER })),
  end: fc.oneof(fc.nat(), fc.integer({ min: 2 ** 32, max: Number.MAX_SAFE_INTEGER })),
  fingerprint: fc.stringMatching(/^[0-9a-f]{12}$/),
});

describe('FindingStore', () => {
  it('a stored list equals its source for every reader', () => {
    fc.assert(
      fc.property(fc.array(fc.array(finding, { maxLength: 20 }), { maxLength: 8 }), (lists) => {
        const store = new FindingStore();
        const stored = lists.map((xs) => store.add(xs));
        for (let k = 0; k < lists.length; k++) {
          const xs = lists[k]!;
          const ys = stored[k]!;
          expect(isCompact(ys)).toBe(xs.length > 0);
          expect(Array.isArray(ys)).toBe(true);
          expect(ys.length).toBe(xs.length);
          expect(ys).toEqual(xs);
          expect([...ys]).toEqual(xs);
          expect(ys.map((f) => f.fingerprint)).toEqual(xs.map((f) => f.fingerprint));
          expect(ys.filter((f) => f.category === 'secret')).toEqual(xs.filter((f) => f.category === 'secret'));
          expect(Object.keys(ys)).toEqual(Object.keys(xs));
          expect(JSON.stringify(ys)).toBe(JSON.stringify(xs));
          expect(JSON.stringify({ a: ys, b: 1 }, null, 2)).toBe(JSON.stringify({ a: xs, b: 1 }, null, 2));
          expect(ys[xs.length]).toBeUndefined();
          const c = findingColumns(ys);
          for (let i = 0; i < xs.length; i++) {
            const x = xs[i]!;
            expect(ys[i]).toEqual(x);
            expect([c.detector(i), c.category(i), c.line(i), c.column(i), c.start(i), c.end(i), c.fingerprint(i)]).toEqual([x.detector, x.category, x.line, x.column, x.start, x.end, x.fingerprint]);
            // Same key order as the redactor's objects: the manifest's text depends on it.
            expect(Object.keys(ys[i]!)).toEqual(['detector', 'category', 'line', 'column', 'start', 'end', 'fingerprint']);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('lists longer than a chunk, and many lists, stay exact', () => {
    const store = new FindingStore();
    const fp = (i: number): string => i.toString(16).padStart(12, '0');
    const mk = (n: number, base: number): Finding[] =>
      Array.from({ length: n }, (_, i) => ({ detector: `d${i % 7}`, category: 'pii' as const, line: base + i + 1, column: 1, start: base + i, end: base + i + 3, fingerprint: fp(base + i) }));
    const first = mk(50_000, 0);
    const big = mk(150_000, 50_000); // crosses two chunk boundaries
    const a = store.add(first);
    const b = store.add(big);
    expect(store.count).toBe(200_000);
    expect(b.length).toBe(150_000);
    for (const i of [0, 15_535, 15_536, 81_071, 81_072, 149_999]) expect(b[i]).toEqual(big[i]);
    expect(a[49_999]).toEqual(first[49_999]);
    expect(JSON.stringify(b)).toBe(JSON.stringify(big));
  });

  it('keeps a list as it is when a finding does not fit the compact form', () => {
    const store = new FindingStore();
    const ok: Finding = { detector: 'd', category: 'pii', line: 1, column: 1, start: 0, end: 1, fingerprint: '0123456789ab' };
    for (const bad of [{ ...ok, fingerprint: '0123456789AB' }, { ...ok, fingerprint: 'abc' }, { ...ok, line: 2 ** 32 }, { ...ok, start: -1 }, { ...ok, end: 1.5 }]) {
      const xs = [ok, bad];
      expect(store.add(xs)).toBe(xs);
    }
    expect(store.add([])).toEqual([]);
    expect(store.count).toBe(0);
  });

  it('is read-only', () => {
    const ys = new FindingStore().add([{ detector: 'd', category: 'pii', line: 1, column: 1, start: 0, end: 1, fingerprint: '0123456789ab' }]) as Finding[];
    expect(() => ys.push(ys[0]!)).toThrow(TypeError);
    expect(() => {
      ys[0] = ys[0]!;
    }).toThrow(TypeError);
    expect(ys.length).toBe(1);
  });

  it('a manifest with stored findings serialises byte for byte as with arrays', () => {
    fc.assert(
      fc.property(fc.array(fc.array(finding, { maxLength: 6 }), { minLength: 1, maxLength: 20 }), (lists) => {
        const store = new FindingStore();
        const manifest = (compact: boolean): Manifest =>
          ({
            schemaVersion: 1,
            files: lists.map((xs, i) => ({ path: `f${i}`, status: xs.length > 0 ? 'redacted' : 'clean', bytesIn: 1, encoding: 'utf-8', bom: false, compression: 'none', counts: {}, findings: compact ? store.add(xs) : xs })),
          }) as unknown as Manifest;
        const want = serializeManifest(manifest(false));
        expect(serializeManifest(manifest(true))).toBe(want);
        expect([...manifestChunks(manifest(true))].join('')).toBe(want);
        expect([...prettyJsonChunks(manifest(true))].join('')).toBe(want);
      }),
      { numRuns: 100 },
    );
  });

  it('a manifest is written in pieces under 1 MB however many findings its files list', () => {
    // Records used to be serialized 512 at a time, each whole: 512 files of ~1 000 findings made
    // one ~130 MB string, and a file listing a million findings one of ~250 MB.
    const store = new FindingStore();
    const findings = (n: number, seed: number): Finding[] =>
      Array.from({ length: n }, (_, i) => ({ detector: 'ipv4-address', category: 'identifier', line: i + 1, column: 1 + (i % 80), start: i * 100, end: i * 100 + 12, fingerprint: (seed * 1e6 + i).toString(16).padStart(12, '0') }));
    const record = (path: string, xs: Finding[]) => ({ path, status: 'redacted', bytesIn: 1, encoding: 'utf-8', bom: false, compression: 'none', counts: {}, findings: store.add(xs) });
    const m = {
      schemaVersion: 1,
      files: [...Array.from({ length: 600 }, (_, k) => record(`many/f${k}.log`, findings(100, k))), record('one-big.log', findings(50_000, 999))],
      totals: { files: 601 },
    } as unknown as Manifest;
    const chunks = [...manifestChunks(m)];
    expect(chunks.join('')).toBe(serializeManifest(m));
    expect(Math.max(...chunks.map((c) => c.length))).toBeLessThan(1 << 20);
  });
});
