/**
 * The prefilter (src/detect/scanner.ts) skips a detector on a window that holds none of its
 * keywords. That is exact only if every match of the detector contains one of its keywords. The loader checks this on each detector's own examples; this test checks it on every
 * match found, with the prefilter off, in all fixtures and the sample corpora, and compares the
 * hits with and without the prefilter. (A PGP `PRIVATE KEY BLOCK` once went undetected on its own
 * because the keyword was `PRIVATE KEY-----`.)
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadRuleset } from '../src/detect/load.js';
import { Scanner, scanBuffer } from '../src/detect/scanner.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

function filesUnder(dir: string): string[] {
  let out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out = out.concat(filesUnder(p));
    else if (e.isFile() && statSync(p).size < 8 * 1024 * 1024) out.push(p);
  }
  return out;
}

const roots = [path.join(repoRoot, 'fixtures'), path.resolve(repoRoot, '../shared/corpus/loghub')];
const files = roots.flatMap((r) => {
  try {
    return filesUnder(r);
  } catch {
    return [];
  }
});

describe('detector keywords', () => {
  it('occur in every match on the fixtures and corpora, and the prefilter changes no hit', async () => {
    const { detectors } = await loadRuleset();
    const exhaustive = new Scanner(detectors, false);
    const filtered = new Scanner(detectors, true);
    const missing: string[] = [];
    let checked = 0;
    for (const file of files) {
      const buf = readFileSync(file);
      const hits = scanBuffer(exhaustive, buf);
      for (const h of hits) {
        if (h.detector.keywords.length === 0) continue;
        checked++;
        const match = Buffer.from(buf.subarray(h.matchStart, h.matchEnd).toString('latin1').toLowerCase(), 'latin1');
        if (!h.detector.keywords.some((k) => match.includes(k))) missing.push(`${path.relative(repoRoot, file)}: ${h.detector.id} at byte ${h.matchStart}`);
      }
      const key = (x: { detector: { id: string }; start: number; end: number }): string => `${x.detector.id}@${x.start}-${x.end}`;
      expect(scanBuffer(filtered, buf).map(key), path.relative(repoRoot, file)).toEqual(hits.map(key));
    }
    expect(missing).toEqual([]);
    expect(checked).toBeGreaterThan(500);
  });
});
