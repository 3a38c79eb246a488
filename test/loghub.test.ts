/**
 * False-positive check against real, benign system logs: the 16 Loghub 2k samples in
 * `../shared/corpus/loghub` (next to the repository, never copied into it: research-use licence).
 *
 * - No detector of category `secret` may fire on them (they hold no credentials). A failure names
 *   file, detector and line, never the matched value.
 * - The per-file, per-detector counts of `pii` and `identifier` findings are snapshotted, so a
 *   pattern change that adds or loses hits on real logs shows up in review. The snapshot holds
 *   counts only, no log content.
 *
 * Set ALISCRUB_NO_CORPUS=1 to skip when the corpus folder is not available.
 */
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadRuleset } from '../src/detect/load.js';
import { Scanner, scanBuffer } from '../src/detect/scanner.js';
import type { Hit } from '../src/detect/scanner.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const corpusDir = path.resolve(repoRoot, '../shared/corpus/loghub');
const haveCorpus = existsSync(corpusDir);
const skipCorpus = !haveCorpus && process.env.ALISCRUB_NO_CORPUS === '1';

/** 1-based line number of byte offset `at`. */
function lineOf(buf: Buffer, at: number): number {
  let line = 1;
  let i = buf.indexOf(0x0a);
  while (i >= 0 && i < at) {
    line++;
    i = buf.indexOf(0x0a, i + 1);
  }
  return line;
}

describe.skipIf(skipCorpus)('loghub corpus (benign real logs)', () => {
  it('corpus folder is present (set ALISCRUB_NO_CORPUS=1 to skip)', () => {
    if (!haveCorpus) {
      throw new Error(`Loghub corpus not found at ${corpusDir}. Provide it or set ALISCRUB_NO_CORPUS=1 to skip this test.`);
    }
  });

  it.runIf(haveCorpus)('yields no secret findings, and stable pii/identifier counts', async () => {
    const ruleset = await loadRuleset();
    const scanner = new Scanner(ruleset.detectors);
    const files = (await readdir(corpusDir)).filter((n) => n.endsWith('.log')).sort();
    expect(files.length, `no *.log files in ${corpusDir}`).toBeGreaterThan(0);

    const secrets: string[] = [];
    const counts: Record<string, Record<string, number>> = {};
    for (const name of files) {
      const buf = await readFile(path.join(corpusDir, name));
      const hits: Hit[] = scanBuffer(scanner, buf);
      const perDetector: Record<string, number> = {};
      for (const h of hits) {
        if (h.detector.category === 'secret') {
          // Never print the value: file, detector and line only.
          secrets.push(`${name}:${lineOf(buf, h.start)} ${h.detector.id}`);
        } else {
          perDetector[h.detector.id] = (perDetector[h.detector.id] ?? 0) + 1;
        }
      }
      counts[name] = Object.fromEntries(Object.entries(perDetector).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }

    expect(secrets, `secret detectors fired on benign logs:\n${secrets.join('\n')}`).toEqual([]);
    expect(counts).toMatchSnapshot();
  });
});
