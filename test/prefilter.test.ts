/**
 * The prefilter may only skip work, never findings: scanning with and without it must give the
 * same hits on every example, the sample incident and the loghub corpus. It has two stages: keyword
 * literals (and every keyword-less detector) for a run's first small windows, then two RE2 sets of
 * relaxed patterns. A keyword that does not occur in some match, or a relaxed pattern that is not a
 * superset of its detector's, would show up here.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Fingerprinter } from '../src/fingerprint.js';
import { redactBuffer } from '../src/redact/redactor.js';
import { loadRuleset, parseExample } from '../src/detect/load.js';
import { Scanner, scanBuffer } from '../src/detect/scanner.js';
import { ROOT, SAMPLE } from './helpers/paths.js';

const ruleset = await loadRuleset();
const fast = new Scanner(ruleset.detectors);
const slow = new Scanner(ruleset.detectors, false);
/** With its pattern sets from the first window on; `keywordsOnly` never gets past the first stage. */
const compiled = new Scanner(ruleset.detectors);
compiled.compileNow();
const keywordsOnly = (): Scanner => new Scanner(ruleset.detectors);
const hits = (s: Scanner, b: Buffer) => scanBuffer(s, b).map((h) => `${h.detector.id}:${h.start}-${h.end}`);

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

describe('prefilter', () => {
  it('changes nothing on the detectors’ own examples', () => {
    const doc = Buffer.from(ruleset.detectors.flatMap((d) => [...d.spec.examples.match.map((e) => parseExample(e).text), ...d.spec.examples.noMatch]).join('\n'));
    expect(doc.length).toBeGreaterThan(16 * 1024); // so that `fast` compiles its sets here
    expect(hits(fast, doc)).toEqual(hits(slow, doc));
    expect(hits(compiled, doc)).toEqual(hits(slow, doc));
    // Each example alone, as a run's first small window (keywords) and with the sets.
    for (const d of ruleset.detectors)
      for (const e of [...d.spec.examples.match.map((x) => parseExample(x).text), ...d.spec.examples.noMatch]) {
        const b = Buffer.from(e);
        const want = hits(slow, b);
        expect(hits(keywordsOnly(), b), `${d.id}: ${e}`).toEqual(want);
        expect(hits(compiled, b), `${d.id}: ${e}`).toEqual(want);
      }
  });

  it('changes nothing on the sample incident and the loghub corpus', () => {
    const corpus = path.resolve(ROOT, '../shared/corpus/loghub');
    const inputs = [...files(SAMPLE).filter((f) => !f.endsWith('.png'))];
    try {
      inputs.push(...files(corpus).filter((f) => f.endsWith('.log')));
    } catch {
      if (!process.env['ALISCRUB_NO_CORPUS']) throw new Error(`loghub corpus not found at ${corpus} (set ALISCRUB_NO_CORPUS=1 to skip it)`);
    }
    for (const f of inputs) {
      const b = readFileSync(f);
      expect(hits(fast, b), path.basename(f)).toEqual(hits(slow, b));
    }
  });

  it('windowed scanning near keywords gives what whole-buffer scanning without prefilter gives', async () => {
    // Examples packed densely with filler, case changes and CJK, so keyword regions overlap,
    // touch window edges and sit next to values of other detectors.
    const snippets = ruleset.detectors.flatMap((d) => d.spec.examples.match.map((e) => parseExample(e).text));
    const filler = [' ', '\n', '\r\n', 'x'.repeat(300), '处理订单 ', 'SECRET ', 'Token: ', 'key=', '"', 'é', '\t'];
    const doc = fc
      .array(fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...snippets) }, { weight: 2, arbitrary: fc.constantFrom(...filler) }, { weight: 1, arbitrary: fc.constantFrom(...snippets).map((t) => t.toUpperCase()) }), { maxLength: 80 })
      .map((parts) => Buffer.from(parts.join('')));
    const key = Buffer.alloc(32, 3);
    await fc.assert(
      fc.asyncProperty(doc, fc.integer({ min: 1, max: 5000 }), async (d, chunk) => {
        const want = await redactBuffer(slow, new Fingerprinter(key), d);
        for (const s of [compiled, keywordsOnly()]) {
          const got = await redactBuffer(s, new Fingerprinter(key), d, chunk, 0);
          expect(got.output.equals(want.output)).toBe(true);
          expect(got.result.findings).toEqual(want.result.findings);
        }
      }),
      { numRuns: 120 },
    );
  });
});
