import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Fingerprinter } from '../src/fingerprint.js';
import { SHORT_HMAC_MAX_BYTES, ShortHmacSha256 } from '../src/hmac-sha256.js';

const nodeHmac = (key: Uint8Array, value: Uint8Array): string => createHmac('sha256', key).update(value).digest('hex');

describe('fingerprints: HMAC-SHA256 of short values computed in JS', () => {
  it('equals node:crypto for every value length around the one-block limit, keys short and longer than a block', () => {
    for (const keyBytes of [16, 32, 63, 64, 65, 100]) {
      const key = Buffer.from(Array.from({ length: keyBytes }, (_, i) => (i * 37 + keyBytes) & 0xff));
      const short = new ShortHmacSha256(key);
      for (let n = 0; n <= SHORT_HMAC_MAX_BYTES + 8; n++) {
        const value = Buffer.from(Array.from({ length: n }, (_, i) => (i * 101 + n) & 0xff));
        const want = nodeHmac(key, value);
        if (n <= SHORT_HMAC_MAX_BYTES) expect(short.hexPrefix(value, 64)).toBe(want);
        else expect(short.hexPrefix(value, 64)).toBeUndefined();
        expect(new Fingerprinter(key).of(value)).toBe(want.slice(0, 12));
      }
    }
  });

  it('equals node:crypto for random keys and values (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 130 }), fc.array(fc.uint8Array({ maxLength: 80 }), { maxLength: 8 }), (key, values) => {
        const fp = new Fingerprinter(Buffer.from(key));
        for (const v of values) expect(fp.of(Buffer.from(v))).toBe(nodeHmac(key, v).slice(0, 12));
      }),
      { numRuns: 300 },
    );
  });

  it('gives the same fingerprints while its cache is skipped (mostly distinct values) and used again (repeats)', () => {
    const key = Buffer.alloc(32, 7);
    const fp = new Fingerprinter(key);
    const value = (i: number): Buffer => Buffer.from(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    // 3 × 4096 distinct values make the cache stand aside; then 100 000 lookups cycle over 50
    // values, which it serves again once it is tried after the bypass.
    const order = [...Array.from({ length: 3 * 4096 }, (_, i) => i), ...Array.from({ length: 100_000 }, (_, i) => i % 50)];
    const want = new Map<number, string>();
    for (const i of order) {
      const got = fp.of(value(i));
      if (!want.has(i)) want.set(i, nodeHmac(key, value(i)).slice(0, 12));
      expect(got).toBe(want.get(i));
    }
  });
});
