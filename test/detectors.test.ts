/**
 * Every detector proves itself with its own examples: each «marked» span is found exactly (byte
 * offsets), nothing else is found, and every noMatch string yields nothing. The loader enforces the
 * same rules at start-up; this test reports each example separately so a failure says which one.
 */
import { describe, expect, it } from 'vitest';
import { loadRuleset, parseExample } from '../src/detect/load.js';
import { findAll } from '../src/detect/find.js';
import { Scanner, scanBuffer } from '../src/detect/scanner.js';

// The loader's own checks (spans, keywords) run here for the built-in set; at start-up they are skipped.
const ruleset = await loadRuleset(undefined, undefined, { checkBuiltinExamples: true });

describe('detector examples', () => {
  it('loads a non-trivial ruleset with unique ids', () => {
    const ids = ruleset.detectors.map((d) => d.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBeGreaterThan(0);
  });

  it('descriptions hold no value any detector would report (REDACTIONS.md prints them)', () => {
    const scanner = new Scanner(ruleset.detectors);
    const noisy = ruleset.detectors.filter((d) => scanBuffer(scanner, Buffer.from(d.description)).length > 0).map((d) => d.id);
    expect(noisy).toEqual([]);
  });

  for (const d of ruleset.detectors) {
    describe(d.id, () => {
      it('has at least 3 must-match and 3 must-not-match examples', () => {
        expect(d.spec.examples.match.length).toBeGreaterThanOrEqual(3);
        expect(d.spec.examples.noMatch.length).toBeGreaterThanOrEqual(3);
      });
      d.spec.examples.match.forEach((ex, i) => {
        it(`match[${i}] finds exactly the marked spans`, () => {
          const { text, spans } = parseExample(ex);
          const hits = findAll(d, Buffer.from(text)).map((h) => [h.start, h.end]);
          expect(hits).toEqual(spans);
        });
      });
      d.spec.examples.noMatch.forEach((ex, i) => {
        it(`noMatch[${i}] finds nothing`, () => {
          expect(findAll(d, Buffer.from(ex))).toEqual([]);
        });
      });
    });
  }
});
