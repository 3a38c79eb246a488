/**
 * The prefilter (keyword literals + an RE2.Set of keyword-less patterns) may only skip work, never
 * findings: scanning with and without it must give the same hits on every example, the sample
 * incident and the loghub corpus. A keyword that does not occur in some match would show up here.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRuleset, parseExample } from '../src/detect/load.js';
import { Scanner, scanBuffer } from '../src/detect/scanner.js';
import { ROOT, SAMPLE } from './helpers/paths.js';

const ruleset = await loadRuleset();
const fast = new Scanner(ruleset.detectors);
const slow = new Scanner(ruleset.detectors, false);
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
    expect(hits(fast, doc)).toEqual(hits(slow, doc));
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
});
