/**
 * The pattern bound analysis that makes streaming exact: it must never under-estimate the longest
 * match (that would make chunked output differ from whole-file output), and must reject what it
 * cannot bound.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { analyzePattern, relaxedPattern } from '../src/detect/bound.js';
import { compileRegex } from '../src/detect/engine.js';

describe('analyzePattern', () => {
  it.each([
    ['abc', 3, 3],
    ['a{2,5}', 2, 5],
    ['(?:ab|c)d?', 1, 3],
    ['[a-z]{3}', 3, 3],
    ['[^a]{2}', 2, 8],
    ['.', 1, 4],
    ['\\d{4}-\\d{2}', 7, 7],
    ['处理', 6, 6],
    ['\\bLTAI[0-9A-Za-z]{12}\\b', 16, 16],
    ['(?i:k)', 1, 3],
  ])('%s has bounds [%i, %i] bytes', (src, min, max) => {
    const b = analyzePattern(src);
    expect([b.minBytes, b.maxBytes]).toEqual([min, max]);
  });

  it('treats letters as up to 3 bytes under (?i) (RE2 folds k to KELVIN SIGN)', () => {
    expect(analyzePattern('secret', 'i').maxBytes).toBe(18);
    const re = compileRegex('k', 'i', 0);
    expect(re.execAt(Buffer.from('\u212a'), 0)).toMatchObject({ start: 0, end: 3 });
  });

  it.each(['a*', 'a+', 'a{2,}', '(?:ab)+c'])('%s is unbounded', (src) => {
    expect(analyzePattern(src).maxBytes).toBe(Infinity);
  });

  it('counts capture groups, named or not, but not (?:) groups', () => {
    expect(analyzePattern('(a)(?:b)(?P<n>c)(?<m>d)').groups).toBe(3);
  });

  it.each(['(?=a)', '(?<!a)b', '(a)\\1', 'a**'])('rejects %s', (src) => {
    expect(() => analyzePattern(src)).toThrow();
  });

  it('never under-estimates: every RE2 match is at most maxBytes long', () => {
    const parts = ['a', '[a-z]', '\\d', '.', '[^x]', 'é', '(?:a|bc)', '\\s'];
    const quant = ['', '?', '{1,3}', '{2}'];
    const patArb = fc.array(fc.tuple(fc.constantFrom(...parts), fc.constantFrom(...quant)), { minLength: 1, maxLength: 5 }).map((xs) => xs.map(([p, q]) => p + q).join(''));
    fc.assert(
      fc.property(patArb, fc.string({ unit: 'grapheme', maxLength: 40 }), (pat, text) => {
        const { maxBytes } = analyzePattern(pat);
        const re = compileRegex(pat, '', 0);
        const buf = Buffer.from(text);
        for (let at = 0; at <= buf.length; ) {
          const m = re.execAt(buf, at);
          if (!m) break;
          expect(m.end - m.start).toBeLessThanOrEqual(maxBytes);
          at = m.end > m.start ? m.end : m.start + 1;
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('relaxedPattern', () => {
  it.each([
    ['CAIS[a-z]{40}[a-z]{0,1000}', 'CAIS[a-z]{40}[a-z]*'],
    ['x(?:[a-z]{1000}(?:[a-z]{1000})?)?[a-z]{0,52}', 'x(?:[a-z]+(?:[a-z]+)?)?[a-z]{0,52}'],
    ['a(b{256,512}?)c', 'a(?:b+?)c'], // capture groups become plain groups: only the start is used
    ['(?P<v>[a-z]{300})\\((x)[(]', '(?:[a-z]+)\\((?:x)[(]'], // not an escaped or a class's parenthesis
    ['key=[a-z]{8,255}', undefined], // under the threshold
    ['[{1000}]\\{1000}a', undefined], // a class and an escaped brace are not quantifiers
  ])('%s → %s', (src, want) => {
    expect(relaxedPattern(src)).toBe(want);
  });

  it('gives up when the result could match the empty string', () => {
    expect(relaxedPattern('[a-z]{0,1000}')).toBeUndefined();
    expect(relaxedPattern('[a-z]{1,1000}')).toBe('[a-z]+');
  });

  it('leaves no capture group, and matches wherever the pattern does', () => {
    const src = '(LTAI)(?<id>[0-9A-Za-z]{12,300})(?:x|(y))';
    const relaxed = relaxedPattern(src, '', 256)!;
    expect(analyzePattern(relaxed).groups).toBe(0);
    expect(analyzePattern(src).groups).toBe(3);
    const text = 'a LTAIabcdefghijkly LTAI0123456789ABx LTAIshortx';
    const starts = (p: string): number[] => [...text.matchAll(new RegExp(p.replaceAll('?P<', '?<'), 'g'))].map((m) => m.index);
    // A superset: every start of the pattern, and 'LTAIshortx', too short for it.
    expect(starts(src)).toEqual([2, 20]);
    expect(starts(relaxed)).toEqual([2, 20, 38]);
  });

  it('takes a threshold', () => {
    expect(relaxedPattern('a{2,3}b', '', 3)).toBe('a+b');
    expect(relaxedPattern('a{2,3}b', '', 4)).toBeUndefined();
  });
});
