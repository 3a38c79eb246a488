/**
 * Scores the default ruleset on a labelled corpus of our own: fixtures/labelled/ holds realistic
 * evidence files (credentials files, SDK debug logs, CSV exports, multipart captures, customer
 * logs with Chinese PII, international contacts, network logs…) with synthetic planted values, and
 * labels.json lists, per file, every planted value with its category and every value a support
 * engineer needs.
 *
 * Each file is redacted exactly as `redact`/`pack` would (default ruleset, whole buffer) and:
 * - no planted secret may appear in the output (0 leaks),
 * - at least 99 % of planted PII values must be gone,
 * - every must-survive value must still be there, byte for byte.
 * The per-category figures are printed so they can be reported.
 *
 * It also checks that `aliscrub detectors --json` lists every detector with its category and validators.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRuleset, reportedDetectors } from '../src/detect/load.js';
import { Scanner } from '../src/detect/scanner.js';
import { Fingerprinter } from '../src/fingerprint.js';
import { redactBuffer } from '../src/redact/redactor.js';
import { cli } from './helpers/cli.js';
import { FIXTURES, ROOT } from './helpers/paths.js';

type Category = 'secret' | 'pii' | 'identifier';
interface Planted {
  value: string;
  category: Category;
  kind: string;
}
interface Labels {
  files: Record<string, { description: string; planted: Planted[]; survive: string[] }>;
}

const DIR = path.join(FIXTURES, 'labelled');
const labels = JSON.parse(readFileSync(path.join(DIR, 'labels.json'), 'utf8')) as Labels;
const ruleset = await loadRuleset();
const scanner = new Scanner(ruleset.detectors);

interface Score {
  planted: number;
  found: number;
  missed: string[];
}
const score = (): Score => ({ planted: 0, found: 0, missed: [] });

/** Redacts every labelled file and tallies planted values found and survivors kept. */
async function scoreCorpus(): Promise<{ byCategory: Record<Category, Score>; survive: Score; files: number }> {
  const byCategory: Record<Category, Score> = { secret: score(), pii: score(), identifier: score() };
  const survive = score();
  const names = Object.keys(labels.files).sort();
  for (const name of names) {
    const entry = labels.files[name]!;
    const input = readFileSync(path.join(DIR, name));
    const { output } = await redactBuffer(scanner, new Fingerprinter(Buffer.alloc(32)), input);
    const text = output.toString('utf8');
    for (const p of entry.planted) {
      // A label that is not in its own file would score a free "found".
      expect(input.includes(p.value), `${name}: planted ${p.kind} value is not in the file`).toBe(true);
      const s = byCategory[p.category];
      s.planted++;
      if (text.includes(p.value)) s.missed.push(`${name}: ${p.kind} (${p.category}) left visible`);
      else s.found++;
    }
    for (const v of entry.survive) {
      expect(input.includes(v), `${name}: survive value ${JSON.stringify(v)} is not in the file`).toBe(true);
      survive.planted++;
      if (text.includes(v)) survive.found++;
      // Survivors are not sensitive, so naming them in a failure is fine.
      else survive.missed.push(`${name}: ${JSON.stringify(v)} was redacted`);
    }
  }
  return { byCategory, survive, files: names.length };
}

const pct = (s: Score) => (s.planted === 0 ? 100 : (100 * s.found) / s.planted).toFixed(2);

describe('labelled corpus (fixtures/labelled)', () => {
  it('finds every planted secret, ≥ 99 % of planted PII, and keeps every must-survive value', async () => {
    const { byCategory, survive, files } = await scoreCorpus();
    const { secret, pii, identifier } = byCategory;
    console.log(
      [
        `labelled corpus: ${files} files`,
        `  secrets found     ${secret.found}/${secret.planted} (${pct(secret)} %), leaks ${secret.planted - secret.found}`,
        `  PII found         ${pii.found}/${pii.planted} (${pct(pii)} %)`,
        `  identifiers found ${identifier.found}/${identifier.planted} (${pct(identifier)} %)`,
        `  survivors intact  ${survive.found}/${survive.planted} (${pct(survive)} %)`,
      ].join('\n'),
    );
    expect(files).toBeGreaterThanOrEqual(10);
    expect(secret.planted).toBeGreaterThan(0);
    expect(pii.planted).toBeGreaterThan(0);
    expect(secret.missed, 'planted secrets left visible').toEqual([]);
    expect(pii.found / pii.planted, `PII recall below 99 %:\n${pii.missed.join('\n')}`).toBeGreaterThanOrEqual(0.99);
    expect(survive.missed, 'must-survive values redacted').toEqual([]);
  });

  it('labels only categories the engine knows, and never plants a value that must also survive', () => {
    for (const [name, entry] of Object.entries(labels.files)) {
      for (const p of entry.planted) {
        expect(['secret', 'pii', 'identifier'], `${name}: ${p.kind}`).toContain(p.category);
        for (const v of entry.survive) expect(v.includes(p.value), `${name}: a survive value contains planted ${p.kind}`).toBe(false);
      }
    }
  });
});

describe('aliscrub detectors --json', () => {
  it('lists every detector with its category and validators', async () => {
    const run = await cli(['detectors', '--json'], { cwd: ROOT });
    expect(run.code).toBe(0);
    const list = JSON.parse(run.stdout) as Array<{ id: string; category: string; validators: string[]; description: string }>;
    expect(list.map((d) => d.id)).toEqual(reportedDetectors(ruleset).map((d) => d.id));
    for (const d of ruleset.detectors) {
      const row = list.find((r) => r.id === d.id)!;
      expect(row.category, d.id).toBe(d.category);
      expect(row.validators, d.id).toEqual([...d.validators]);
      expect(row.description.length, d.id).toBeGreaterThan(0);
    }
    // The validators added for issue 3 are all in use.
    const used = new Set(list.flatMap((d) => d.validators));
    for (const v of ['hkid', 'tw-id', 'uscc', 'iban', 'ipv6', 'mac', 'cn-landline', 'e164', 'cn-name', 'geo-pair', 'luhn', 'gb11643'])
      expect(used, v).toContain(v);
  });

  it('prints one line per detector with category and validators in text form', async () => {
    const run = await cli(['detectors'], { cwd: ROOT });
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(reportedDetectors(ruleset).length);
    for (const d of ruleset.detectors) {
      const line = lines.find((l) => l.startsWith(`${d.id} `));
      expect(line, d.id).toBeDefined();
      expect(line).toContain(` ${d.category} `);
      expect(line).toContain(d.validators.join(',') || '-');
    }
  });
});
