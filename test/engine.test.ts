/**
 * The regex seam reports a capture group's byte span without asking node-re2 for indices (see
 * engine.ts). These tests pin that the span is the one RE2 itself reports, including when the
 * group's text occurs more than once inside the match, that a batch search (`execAll`, one
 * native replace call for all matches) finds exactly what the loop of `execAt` calls finds, and
 * that a pattern with long repetitions, searched in two steps, finds what one search finds.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compileRegex, compileSet } from '../src/detect/engine.js';
import { relaxedPattern } from '../src/detect/bound.js';

/**
 * Reference: V8's own `d` indices, converted to byte offsets. For these ASCII-class patterns V8
 * and RE2 choose the same leftmost-first match (this file stays off `re2`: engine.ts is its only
 * importer).
 */
function reference(source: string, group: number, buf: Buffer, from: number): [number, number, number, number] | null {
  const text = buf.toString('utf8');
  const re = new RegExp(source, 'dgu');
  re.lastIndex = buf.subarray(0, from).toString('utf8').length;
  const m = re.exec(text);
  if (!m) return null;
  const bytes = (i: number): number => Buffer.byteLength(text.slice(0, i));
  const g = m.indices![group];
  return [bytes(m.indices![0]![0]), bytes(m.indices![0]![1]), g ? bytes(g[0]) : -1, g ? bytes(g[1]) : -1];
}

describe('compileRegex group spans', () => {
  it('finds the group where RE2 put it when its text repeats inside the match', () => {
    // Whole match "aaa"; group 1 is the last "a" (offset 2), although "a" first occurs at 0.
    const m = compileRegex('a+(a)', '', 1).execAt(Buffer.from('xaaa'), 0);
    expect(m).toEqual({ start: 1, end: 4, groupStart: 3, groupEnd: 4 });
    const kv = compileRegex('key=(\\w+) key=(\\w+)', '', 2).execAt(Buffer.from('key=ab key=ab'), 0);
    expect(kv).toEqual({ start: 0, end: 13, groupStart: 11, groupEnd: 13 });
  });

  it('reports -1 for a group that did not take part', () => {
    expect(compileRegex('a(b)?c|d', '', 1).execAt(Buffer.from('d'), 0)).toEqual({ start: 0, end: 1, groupStart: -1, groupEnd: -1 });
  });

  it('agrees with RE2 indices on random patterns and texts', () => {
    const parts = ['a', 'b', '[ab]', '\\d', 'é', '(?:a|ab)', '\\s', '='];
    const quant = ['', '?', '+', '{1,3}'];
    const piece = fc.tuple(fc.constantFrom(...parts), fc.constantFrom(...quant)).map(([p, q]) => p + q);
    const pattern = fc.tuple(fc.array(piece, { maxLength: 3 }), fc.array(piece, { minLength: 1, maxLength: 3 }), fc.array(piece, { maxLength: 3 }));
    const text = fc.array(fc.constantFrom('a', 'b', '1', ' ', 'é', '=', 'x'), { maxLength: 30 }).map((xs) => xs.join(''));
    fc.assert(
      fc.property(pattern, text, ([pre, mid, post], t) => {
        const source = `${pre.join('')}(${mid.join('')})${post.join('')}`;
        const re = compileRegex(source, '', 1);
        const buf = Buffer.from(t);
        for (let at = 0; at <= buf.length; ) {
          const want = reference(source, 1, buf, at);
          const got = re.execAt(buf, at);
          expect(got && [got.start, got.end, got.groupStart, got.groupEnd]).toEqual(want);
          if (!want) break;
          at = want[1] > want[0] ? want[1] : want[0] + 1;
          while (at < buf.length && (buf[at]! & 0xc0) === 0x80) at++; // never resume inside a character
        }
      }),
      { numRuns: 500 },
    );
  });

  it('batches: execAll finds what a loop of execAt calls finds, or declines', () => {
    // Patterns with context (\b, ^, $ under m), groups that repeat, may be empty or take no part,
    // and patterns that can match empty (execAll must decline those, never differ).
    const parts = ['a', 'b', '[ab]', '\\d', 'é', '(?:a|ab)', '\\s', '=', '\\b', '^', '$', '\\n'];
    const quant = ['', '?', '+', '*', '{1,3}'];
    const piece = fc.tuple(fc.constantFrom(...parts), fc.constantFrom(...quant)).map(([p, q]) => (/^(\\b|\^|\$)$/.test(p) ? p : p + q));
    const pattern = fc.tuple(fc.array(piece, { maxLength: 3 }), fc.array(piece, { maxLength: 3 }), fc.array(piece, { maxLength: 3 }), fc.integer({ min: 0, max: 1 }), fc.boolean());
    const text = fc.array(fc.constantFrom('a', 'b', '1', ' ', 'é', '=', 'x', '\n', '\0'), { maxLength: 40 }).map((xs) => xs.join(''));
    let batched = 0;
    let runs = 0;
    fc.assert(
      fc.property(pattern, text, fc.nat(), fc.nat(), ([pre, mid, post, group, twice], t, fromSeed, lastSeed) => {
        runs++;
        const body = `${pre.join('')}(${mid.join('')})${post.join('')}`;
        const source = twice ? `${body}|x${body}` : body;
        const re = compileRegex(source, 'm', group);
        const buf = Buffer.from(t);
        const from = fromSeed % (buf.length + 1);
        // An earlier search leaves the regex's own position anywhere, even past this buffer.
        re.execAt(Buffer.from(t + t + t), lastSeed % (3 * buf.length + 1));
        const got = re.execAll(buf, from);
        if (!got) return;
        batched++;
        const want: number[] = [];
        for (let at = from; at <= buf.length; ) {
          const m = re.execAt(buf, at);
          if (!m) break;
          const empty = m.groupEnd <= m.groupStart;
          want.push(m.start, m.end, empty ? -1 : m.groupStart, empty ? -1 : m.groupEnd);
          at = m.end > m.start ? m.end : m.start + 1; // as the scanner resumes
        }
        expect(got).toEqual(want);
      }),
      { numRuns: 2000 },
    );
    // A test that always declined would pass trivially.
    expect(batched).toBeGreaterThan(runs / 3);
  });

  it('two steps: a relaxed search plus an anchored try finds what one search finds', () => {
    // relaxAt 2 relaxes the small repetitions here; Infinity is the plain search.
    const parts = ['a', 'b', '[ab]', '[^a]', '.', '\\d', 'é', '(?:a|ab)', '\\s', '=', '\\b', '^', '$', '\\n'];
    const quant = ['', '?', '{2}', '{0,2}', '{1,3}', '{2,3}?'];
    const piece = fc.tuple(fc.constantFrom(...parts), fc.constantFrom(...quant)).map(([p, q]) => (/^(\\b|\^|\$)$/.test(p) ? p : p + q));
    const pattern = fc.tuple(fc.array(piece, { maxLength: 3 }), fc.array(piece, { minLength: 1, maxLength: 3 }), fc.array(piece, { maxLength: 3 }), fc.integer({ min: 0, max: 1 }), fc.boolean());
    const text = fc.array(fc.constantFrom('a', 'b', 'ab', '1', ' ', 'é', '=', 'x', '\n'), { maxLength: 40 }).map((xs) => xs.join(''));
    let relaxed = 0;
    let runs = 0;
    fc.assert(
      fc.property(pattern, text, ([pre, mid, post, group, twice], t) => {
        runs++;
        const body = `${pre.join('')}(${mid.join('')})${post.join('')}`;
        const source = twice ? `${body}|x${body}` : body;
        if (relaxedPattern(source, 'm', 2) === undefined) return;
        relaxed++;
        const two = compileRegex(source, 'm', group, 2);
        const one = compileRegex(source, 'm', group, Infinity);
        const buf = Buffer.from(t);
        for (let at = 0; at <= buf.length; ) {
          const want = one.execAt(buf, at);
          expect(two.execAt(buf, at)).toEqual(want);
          if (!want) break;
          at = want.end > want.start ? want.end : want.start + 1;
        }
        // Searches that start inside a character, as the relaxed search's own retries do.
        for (let at = 0; at <= buf.length; at++) expect(two.execAt(buf, at)).toEqual(one.execAt(buf, at));
      }),
      { numRuns: 1500 },
    );
    expect(relaxed).toBeGreaterThan(runs / 3);
  });

  it('two steps: a relaxed candidate the pattern rejects is skipped, and a batch declines', () => {
    // The relaxed form ab+c also matches "abbbc" at 0; the pattern (exactly two b's) only at 6.
    const re = compileRegex('ab{2}c', '', 0, 2);
    expect(re.execAt(Buffer.from('abbbc abbc'), 0)).toEqual({ start: 6, end: 10, groupStart: 6, groupEnd: 10 });
    expect(re.execAll(Buffer.from('abbc abbc'), 0)).toBeUndefined();
  });

  it('batch declines a NUL byte, an empty match and a match starting one byte early', () => {
    expect(compileRegex('a', '', 0).execAll(Buffer.from('a\0a'), 0)).toBeUndefined();
    expect(compileRegex('a*', '', 0).execAll(Buffer.from('bab'), 0)).toBeUndefined();
    expect(compileRegex('ab', '', 0).execAll(Buffer.from('xabab'), 1)).toEqual([1, 3, 1, 3, 3, 5, 3, 5]);
    expect(compileRegex('ab', '', 0).execAll(Buffer.from('abab'), 2)).toEqual([2, 4, 2, 4]);
    expect(compileRegex('a+', '', 0).execAll(Buffer.from('xaaab'), 2)).toBeUndefined();
  });

  it('batch finds the group where RE2 put it when its text repeats inside the match', () => {
    expect(compileRegex('a+(a)', '', 1).execAll(Buffer.from('xaaa b aa'), 0)).toEqual([1, 4, 3, 4, 7, 9, 8, 9]);
    expect(compileRegex('key=(\\w+) key=(\\w+)', '', 2).execAll(Buffer.from('key=ab key=ab'), 0)).toEqual([0, 13, 11, 13]);
    expect(compileRegex('a(b)?c|d', '', 1).execAll(Buffer.from('d abc'), 0)).toEqual([0, 1, -1, -1, 2, 5, 3, 4]);
  });
});

describe('compileSet', () => {
  it('tells which patterns match, also when the program is too big for the budget tried first', () => {
    // 40 long repetitions: compiled in 16 MiB, not in 1 MiB, so the second budget is used.
    const patterns = Array.from({ length: 40 }, (_, i) => ({ source: `k${i}[A-Za-z0-9+/=]{1,1000}z`, flags: i % 2 ? 'i' : '' }));
    const text = Buffer.from(`xx k3${'A'.repeat(500)}z yy K5${'b'.repeat(20)}Z k7 k9${'c'.repeat(1001)}z`);
    for (const mem of [16 * 1024 * 1024, 1024 * 1024]) expect(compileSet(patterns, mem).matching(text)).toEqual([3, 5]);
  });
});
