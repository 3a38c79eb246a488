/**
 * The gate's inspection (inline markers, end positions) done by the thread that scans each file
 * (`inspectForGate`) instead of a serial re-read after the scan: it covers exactly the files the
 * gate would re-read, the gate uses it without reading the file again, and every report is the
 * same as with the re-read, on one thread or two.
 */
import { rmSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { evaluateGate } from '../src/gate/gate.js';
import { Inspections } from '../src/gate/inspections.js';
import type { FileRecord, Finding } from '../src/manifest.js';
import type { GateResult } from '../src/gate/gate.js';
import { jsonChunks } from '../src/report/json.js';
import { sarifChunks } from '../src/report/sarif.js';
import { textChunks } from '../src/report/text.js';
import { scan } from '../src/run.js';
import type { RunOptions } from '../src/run.js';
import { writeZip } from '../src/bundle/zip.js';
import { cli } from './helpers/cli.js';
import { FIXTURES, ROOT } from './helpers/paths.js';
import { tree } from './helpers/tree.js';

const AK = 'LTAI5tQ8mZr2XbK9vNc4Wd7P';
const AK2 = 'LTAI5tZz9Yy8Xx7Ww6Vv5Uu4';
const EMAIL = 'li.na@corp-mail.cn';
const key = Buffer.alloc(32, 7);
const PATTERNS = ['alibaba-keys', 'pii-contact', 'network'].map((f) => path.join(ROOT, 'patterns', `${f}.json`));

/** Every report format of a gate result, as the CLI writes them. */
function reports(g: GateResult): string[] {
  return [[...jsonChunks(g)].join(''), [...sarifChunks(g)].join(''), [...textChunks(g, { colour: false, showSuppressed: true })].join('')];
}

async function gateOf(opts: RunOptions, onInconsistent?: (p: string) => void): Promise<GateResult> {
  const r = await scan(opts);
  return evaluateGate(r, { failOn: 'pii', allowUnscanned: true, root: r.base, onInconsistent });
}

describe('inspection where files are scanned', () => {
  it('covers the files the gate re-reads; the gate uses it and does not read them again', async () => {
    const dir = tree({
      'a.log': `日志 ${AK} # aliscrub:allow\n\nmail ${EMAIL}\n`,
      'b.log': 'nothing here\n',
      'c.log.gz': gzipSync(`key ${AK2} # aliscrub:allow\n`),
      'd.log': Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`key ${AK2}\n`, 'utf16le')]),
    });
    await writeZip(path.join(dir, 'e.zip'), [{ name: 'm.log', data: Buffer.from(`key ${AK2} # aliscrub:allow\n`) }], new Date(0));
    for (const threads of [1, 2]) {
      const r = await scan({ inputs: [dir], cwd: dir, key, threads, patterns: PATTERNS, inspectForGate: true });
      expect(r.threads).toBe(threads);
      // Only the plain UTF-8 file with findings: not the clean one, the .gz, the UTF-16 file or the member.
      const a = r.manifest.files.find((f) => f.path === 'a.log')!;
      expect(r.inspections!.size).toBe(1);
      expect(r.inspections!.has(a)).toBe(true);
      const ins = r.inspections!.get(a)!;
      expect(ins.consistent).toBe(true);
      expect(ins.markers).toEqual([{ line: 1, detectors: 'all', unknownId: false }]);
      expect([...ins.ends!]).toEqual([1, 4 + AK.length, 3, 6 + EMAIL.length]);

      // The gate takes the scan-time inspection: a changed file is not read again.
      writeFileSync(path.join(dir, 'a.log'), 'gone\n');
      const inconsistent: string[] = [];
      const g = await evaluateGate(r, { failOn: 'pii', allowUnscanned: true, root: dir, onInconsistent: (p) => inconsistent.push(p) });
      expect(inconsistent).toEqual([]);
      expect(g.findings.filter((f) => f.path === 'a.log').map((f) => [f.line, f.endLine, f.endColumn, f.suppressed ?? null])).toEqual([
        [1, 1, 4 + AK.length, 'inline'],
        [3, 3, 6 + EMAIL.length, null],
      ]);
      // Used once: a second evaluation re-reads, and sees the change (fail closed).
      expect(r.inspections!.size).toBe(0);
      const again = await evaluateGate(r, { failOn: 'pii', allowUnscanned: true, root: dir, onInconsistent: (p) => inconsistent.push(p) });
      expect(inconsistent).toEqual(['a.log']);
      expect(again.suppressed.inline).toBe(0);
      writeFileSync(path.join(dir, 'a.log'), `日志 ${AK} # aliscrub:allow\n\nmail ${EMAIL}\n`);
    }
    // Without inspectForGate nothing is inspected during the scan, and a deleted file is re-read (and missed).
    const plain = await scan({ inputs: [dir], cwd: dir, key, threads: 2, patterns: PATTERNS });
    expect(plain.inspections).toBeUndefined();
    unlinkSync(path.join(dir, 'a.log'));
    const inconsistent: string[] = [];
    const g = await evaluateGate(plain, { failOn: 'pii', allowUnscanned: true, root: dir, onInconsistent: (p) => inconsistent.push(p) });
    expect(inconsistent).toEqual(['a.log']);
    expect(g.suppressed.inline).toBe(0);
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives the same reports as the re-read after the scan, on 1 and 2 threads', async () => {
    // Small files (read in one call), one past the synchronous-read size, one over several read
    // chunks, and the gate fixture with its markers.
    const line = (i: number): string => `${'é'.repeat(i % 7)}row ${i} key ${i % 3 === 0 ? AK : AK2}${i % 5 === 0 ? ' # aliscrub:allow' : ''}${i % 11 === 0 ? `\n# aliscrub:allow email-address\nmail ${EMAIL}` : ''}\n`;
    const lines = (n: number): string => Array.from({ length: n }, (_, i) => line(i)).join('');
    const files: Record<string, string> = { 'big/huge.log': lines(8_000), 'big/mid.log': lines(2_000) };
    for (let k = 0; k < 30; k++) files[`small/s${k}.log`] = lines(5 + k);
    const dir = tree(files);
    const inputs = [dir, path.join(FIXTURES, 'gate', 'evidence')];
    const base = { inputs, cwd: dir, key, patterns: [...PATTERNS, path.join(ROOT, 'patterns', 'passwords.json')], sourceDateEpoch: 1_700_000_000 };
    const want = reports(await gateOf({ ...base, threads: 1 }));
    expect(want[0]).toContain('"inline"');
    for (const threads of [1, 2]) {
      const inconsistent: string[] = [];
      expect(reports(await gateOf({ ...base, threads, inspectForGate: true }, (p) => inconsistent.push(p)))).toEqual(want);
      expect(inconsistent).toEqual([]);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('aliscrub scan on 1 and 2 threads writes the same gate report', async () => {
    const dir = tree({ 'k.bin': key });
    const out: string[] = [];
    for (const threads of ['1', '2']) {
      const r = await cli(['scan', path.join(FIXTURES, 'gate', 'evidence'), '--format', 'report', '--key-file', path.join(dir, 'k.bin'), '--threads', threads, '--no-config'], { cwd: dir });
      expect(r.code).toBe(1);
      out.push(r.stdout);
    }
    expect(out[1]).toBe(out[0]);
    expect(out[0]).toContain('"suppressed": "inline"');
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('the store of inspections', () => {
  const finding = (i: number, len = 5): Finding => ({ detector: 'ipv4-address', category: 'pii', line: 1 + i, column: 3, start: 100 * i, end: 100 * i + len, fingerprint: '0123456789ab' });
  const record = (n: number, findings: Finding[] = Array.from({ length: n }, (_, i) => finding(i))): FileRecord =>
    ({ path: `f${n}`, status: 'redacted', bytesIn: 0, encoding: 'utf-8', bom: false, compression: 'none', counts: {}, findings }) as unknown as FileRecord;
  const endsOf = (n: number, seed: number): Float64Array => Float64Array.from({ length: 2 * n }, (_, i) => seed + i);

  it('gives back what it was given: shared chunks, large ends on their own, markers, inconsistent files', () => {
    const store = new Inspections();
    const marker = { line: 3, detectors: 'all' as const, unknownId: false };
    // Enough files to fill more than one shared chunk, and one past the size kept on its own.
    const files = Array.from({ length: 40 }, (_, k) => ({ n: k === 7 ? 40_000 : 1 + k * 97, seed: k * 1e6 })).map((x) => ({ ...x, f: record(x.n) }));
    for (const { f, n, seed } of files) expect(store.add(f, { consistent: true, markers: seed === 3e6 ? [marker] : [], ends: endsOf(n, seed) })).toBe(true);
    const bad = record(2);
    expect(store.add(bad, { consistent: true, markers: [], ends: endsOf(3, 0) })).toBe(false); // ends for other findings
    const changed = record(5);
    expect(store.add(changed, { consistent: false, markers: [] })).toBe(true);
    expect(store.size).toBe(41);
    for (const { f, n, seed } of files) {
      const got = store.get(f)!;
      expect(got.consistent).toBe(true);
      expect(got.markers).toEqual(seed === 3e6 ? [marker] : []);
      expect(got.ends).toEqual(endsOf(n, seed));
    }
    expect(store.has(bad)).toBe(false);
    expect(store.get(changed)).toEqual({ consistent: false, markers: [] });
    store.clear();
    expect(store.size).toBe(0);
    expect(store.get(files[0]!.f)).toBeUndefined();
  });

  it('gives back ends that are all estimates (kept as nothing) and ends that are not', () => {
    const store = new Inspections();
    // Estimated end: same line, column + byte length (at least 1, for an empty span).
    const plain = record(3, [finding(0), finding(1, 0), finding(2, 12)]);
    const plainEnds = Float64Array.from([1, 8, 2, 4, 3, 15]);
    const spans = record(2, [finding(0), finding(1)]);
    const spanEnds = Float64Array.from([1, 8, 4, 2]); // the second ends on a later line
    expect(store.add(plain, { consistent: true, markers: [], ends: plainEnds })).toBe(true);
    expect(store.add(spans, { consistent: true, markers: [], ends: spanEnds })).toBe(true);
    expect(store.get(plain)!.ends).toEqual(plainEnds);
    expect(store.get(spans)!.ends).toEqual(spanEnds);
  });
});
