/**
 * The gate and its reports at scale: the re-read works the same for small files (read in one
 * synchronous call) and large ones (read in chunks, markers across a chunk boundary); findings
 * are kept without an object each and reports are written piece by piece, with exactly the text
 * that serializing the whole report at once gives.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Allowlist } from '../src/gate/allowlist.js';
import { Baseline } from '../src/gate/baseline.js';
import { evaluateGate, findingsGroupedByPath, gateFindingCount, gateFindings } from '../src/gate/gate.js';
import type { GateResult } from '../src/gate/gate.js';
import { CHUNK, MARKER, inspectFile, parseMarkerTail } from '../src/gate/inspect.js';
import { SYNC_READ_MAX } from '../src/source/read.js';
import type { Finding } from '../src/manifest.js';
import { renderGithub } from '../src/report/github.js';
import { buildJsonReport, renderJson } from '../src/report/json.js';
import { buildSarif, renderSarif } from '../src/report/sarif.js';
import { LazyArray, LazyObject, chunked, prettyJson, prettyJsonChunks } from '../src/report/stream.js';
import { renderText, summaryLines } from '../src/report/text.js';
import { scan } from '../src/run.js';
import { tree } from './helpers/tree.js';

const AK = 'LTAI5tQ8mZr2XbK9vNc4Wd7P';
const AK2 = 'LTAI5tZz9Yy8Xx7Ww6Vv5Uu4';
const EMAIL = 'li.na@corp-mail.cn';
const PATTERNS = ['alibaba-keys', 'pii-contact', 'network'].map((f) => path.resolve(import.meta.dirname, '..', 'patterns', `${f}.json`));

/** Replaces each LazyArray by a plain array (what the streamed text must equal). */
function eager(v: unknown): unknown {
  if (v instanceof LazyArray) return [...v.items].map(eager);
  if (v instanceof LazyObject) return eager(v.value);
  if (Array.isArray(v)) return v.map(eager);
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, eager(x)]));
  return v;
}

/** Wraps some arrays of `v` (chosen by `pick`) in LazyArray. */
function lazify(v: unknown, pick: () => boolean): unknown {
  if (Array.isArray(v)) {
    const items = v.map((x) => lazify(x, pick));
    return pick() ? new LazyArray(items) : items;
  }
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, lazify(x, pick)]));
  return v;
}

describe('streamed JSON', () => {
  it('is JSON.stringify(value, null, 2) at any depth, empty, and across batch boundaries', () => {
    const item = (i: number) => ({ path: `d/f${i}.log`, line: i, nested: { list: [i, `x"${i}\n`], empty: [], none: {} }, skip: undefined });
    for (const n of [0, 1, 511, 512, 513, 1500]) {
      const items = Array.from({ length: n }, (_, i) => item(i));
      const shapes = [
        new LazyArray(items),
        { a: 1, findings: new LazyArray(items), after: [] },
        { runs: [{ tool: { x: 1 }, results: new LazyArray(items) }], last: 'z' },
        { a: { b: [{ c: [new LazyArray(items)] }] } },
        // Plain items batched by weight, some streamed key by key (as the manifest's records are).
        {
          files: new LazyArray(
            items.map((x, i) => (i % 7 === 3 ? new LazyObject({ ...x, nested: { ...x.nested, list: new LazyArray(x.nested.list) } }) : x)),
            true,
            (x) => 1 + ((x as { line: number }).line % 50),
          ),
        },
      ];
      for (const v of shapes) {
        const text = [...chunked(prettyJson(v), 1000)].join('');
        expect(text).toBe(JSON.stringify(eager(v), null, 2));
      }
    }
  });

  it('prettyJsonChunks writes a whole document (the manifest, files streamed) as JSON.stringify does', () => {
    const manifest = { version: 1, files: Array.from({ length: 700 }, (_, i) => ({ path: `f${i}`, findings: [{ line: i }], counts: {} })), totals: { files: 700 } };
    const chunks = [...prettyJsonChunks({ ...manifest, files: new LazyArray(manifest.files, true) })];
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.join('')).toBe(`${JSON.stringify(manifest, null, 2)}\n`);
  });

  it('matches JSON.stringify for arbitrary JSON values with arbitrary arrays streamed', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), fc.infiniteStream(fc.boolean()), (value, coins) => {
        const it = coins[Symbol.iterator]();
        const v = lazify(value, () => it.next().value as boolean);
        expect([...prettyJson(v)].join('')).toBe(JSON.stringify(value, null, 2));
      }),
      { numRuns: 300 },
    );
  });
});

/** The text report as it was written before it was streamed (every line, joined). */
function referenceText(r: GateResult): string {
  const lines: string[] = [];
  let current: string | undefined;
  for (const f of r.findings) {
    if (f.suppressed) continue;
    if (current !== undefined && current !== f.path) lines.push('');
    current = f.path;
    lines.push(`${f.path}:${f.line}:${f.column} ${f.detector} (${f.category}) ${f.fingerprint}`);
  }
  if (r.unscanned.length > 0) {
    if (lines.length > 0) lines.push('');
    for (const u of r.unscanned) lines.push(`${u.path}: not scanned: ${u.reason}`);
  }
  if (lines.length > 0) lines.push('');
  lines.push(...summaryLines(r));
  return `${lines.join('\n')}\n`;
}

/** 1-based line and column (code points) of string index `i` in `text`. */
function position(text: string, i: number): [number, number] {
  const before = text.slice(0, i);
  const line = before.split('\n').length;
  return [line, [...before.slice(before.lastIndexOf('\n') + 1)].length + 1];
}

describe('gate over small and large files', () => {
  // A large file: findings past the first read chunk, and a marker whose bytes straddle it.
  const marker = '# aliscrub:allow';
  const headLen = CHUNK - 5; // the marker starts 5 bytes before the chunk boundary
  const filler = `${'x'.repeat(99)}\n`.repeat(Math.floor(headLen / 100));
  const pad = 'y'.repeat(headLen - filler.length - AK.length - 2);
  const big = `${filler}${pad} ${AK} ${marker}\n日志 ${AK2} é ${EMAIL}\nend ${AK2}\n`;

  async function gate(dir: string, extra: { allowlist?: Allowlist; baseline?: Baseline } = {}): Promise<GateResult> {
    const result = await scan({ inputs: ['.'], cwd: dir, patterns: PATTERNS, key: Buffer.alloc(32, 1), threads: 1, findingsCap: false });
    return evaluateGate(result, { failOn: 'pii', allowUnscanned: false, root: dir, ...extra });
  }

  it('places ends and markers exactly in a file read in chunks, and in small files', async () => {
    expect(Buffer.byteLength(big)).toBeGreaterThan(CHUNK);
    expect(Buffer.byteLength(filler + pad) + 1 + AK.length + 1 + 5).toBe(CHUNK);
    const small = `mail ${EMAIL} and ${AK}\n# aliscrub:allow email-address\nmail ${EMAIL}\n`;
    expect(Buffer.byteLength(small)).toBeLessThan(SYNC_READ_MAX);
    const dir = tree({ 'big.log': big, 'small.log': small, 'z/same.log': `key ${AK}\nkey ${AK}\n` });
    const r = await gate(dir);

    const bigFindings = r.findings.filter((f) => f.path === 'big.log');
    const expected = [
      [big.indexOf(AK), AK, 'inline'],
      [big.indexOf(AK2), AK2, 'inline'], // the marker is on the line before
      [big.indexOf(EMAIL), EMAIL, 'inline'],
      [big.lastIndexOf(AK2), AK2, undefined],
    ] as const;
    expect(bigFindings.map((f) => [f.line, f.column, f.endLine, f.endColumn, f.suppressed])).toEqual(
      expected.map(([i, v, why]) => {
        const [line, col] = position(big, i);
        return [line, col, line, col + [...v].length, why];
      }),
    );
    expect(r.findings.filter((f) => f.path === 'small.log').map((f) => [f.line, f.detector, f.suppressed])).toEqual([
      [1, 'email-address', undefined],
      [1, 'alibaba-access-key-id', undefined],
      [3, 'email-address', 'inline'],
    ]);
    expect(r.suppressed).toEqual({ inline: 4, config: 0, baseline: 0 });
    expect(r.failing).toBe(r.findings.filter((f) => f.failsGate).length);
    expect(r.failing).toBe(r.findings.length - 4);

    // The exported per-finding inspection agrees.
    const asFindings = bigFindings.map(({ detector, category, line, column, start, end, fingerprint }) => ({ detector, category, line, column, start, end, fingerprint }));
    const ins = await inspectFile(path.join(dir, 'big.log'), Buffer.byteLength(big), asFindings, new Set(['alibaba-access-key-id']));
    expect(ins.consistent).toBe(true);
    expect(ins.ends).toEqual(bigFindings.map((f) => ({ endLine: f.endLine, endColumn: f.endColumn })));
    expect(ins.markers).toEqual([{ line: bigFindings[0]!.line, detectors: 'all', unknownId: false }]);
  });

  it('iterating the findings gives the same objects as `findings`; reports equal whole serialization', async () => {
    const dir = tree({ 'big.log': big, 'a.log': `${AK}\n`, 'b/c.log': `key ${AK}\nkey ${AK}\n${EMAIL}\n` });
    const r = await gate(dir);
    const iterated = [...gateFindings(r)];
    expect(gateFindingCount(r)).toBe(iterated.length);
    expect(findingsGroupedByPath(r)).toBe(true);
    expect(r.findings).toEqual(iterated);
    expect(renderJson(r)).toBe(`${JSON.stringify(buildJsonReport(r), null, 2)}\n`);
    const sarif = renderSarif(r);
    expect(sarif).toBe(`${JSON.stringify(buildSarif(r), null, 2)}\n`);
    // Occurrence numbers count within a file: the same key twice in b/c.log, once in a.log.
    const fp = (JSON.parse(sarif) as { runs: Array<{ results: Array<{ partialFingerprints: Record<string, string>; locations: Array<{ physicalLocation: { artifactLocation: { uri: string } } }> }> }> }).runs[0]!.results
      .filter((x) => x.locations[0]!.physicalLocation.artifactLocation.uri !== 'big.log')
      .map((x) => [x.locations[0]!.physicalLocation.artifactLocation.uri, x.partialFingerprints['aliscrubFingerprint/v1']!.split(':')[1]]);
    expect(fp).toEqual([
      ['a.log', '1'],
      ['b/c.log', '1'],
      ['b/c.log', '2'],
      ['b/c.log', '1'],
    ]);
    expect(renderText(r)).toBe(referenceText(r));
    const github = renderGithub(r);
    expect(github.split('\n').filter(Boolean)).toHaveLength(r.findings.filter((f) => !f.suppressed).length);
  });

  it('a report of a plain GateResult (no table) is still rendered from its findings', async () => {
    const dir = tree({ 'a.log': `key ${AK}\n`, 'b.log': `key ${AK}\n` });
    const r = await gate(dir);
    // A caller's own result: the same file twice, not together (occurrences must not reset).
    const f0 = r.findings[0]!;
    const copy: GateResult = { ...r, findings: [f0, r.findings[1]!, f0] };
    expect(findingsGroupedByPath(copy)).toBe(false);
    const results = (JSON.parse(renderSarif(copy)) as { runs: Array<{ results: Array<{ partialFingerprints: Record<string, string> }> }> }).runs[0]!.results;
    expect(results.map((x) => x.partialFingerprints['aliscrubFingerprint/v1']!.split(':')[1])).toEqual(['1', '1', '2']);
    expect(renderJson(copy)).toBe(`${JSON.stringify(buildJsonReport(copy), null, 2)}\n`);
  });

  it('config allowlist and baseline per file decide as per finding', async () => {
    const dir = tree({ 'logs/a.log': `key ${AK}\nmail ${EMAIL}\n`, 'b.log': `key ${AK2}\n` });
    const spec = { rules: [{ paths: ['logs/**'], detectors: ['email-address'] }], fingerprints: ['000000000000'] };
    const allow = new Allowlist(spec, dir);
    for (const file of ['logs/a.log', 'b.log'])
      for (const detector of ['email-address', 'alibaba-access-key-id'])
        for (const fingerprint of ['000000000000', '111111111111'])
          expect(allow.forFile(path.join(dir, file))(detector, fingerprint)).toBe(allow.matches({ file: path.join(dir, file), detector, fingerprint }));
    const first = await gate(dir);
    const ak2 = first.findings.find((f) => f.path === 'b.log')!;
    const baseline = new Baseline(path.join(dir, 'baseline.json'), { aliscrubBaseline: 1, keyCheck: '', findings: [{ path: 'b.log', detector: ak2.detector, fingerprint: ak2.fingerprint }] });
    expect(baseline.forFile(path.join(dir, 'b.log'))(ak2.detector, ak2.fingerprint)).toBe(true);
    expect(baseline.forFile(path.join(dir, 'logs/a.log'))(ak2.detector, ak2.fingerprint)).toBe(false);
    const r = await gate(dir, { allowlist: allow, baseline });
    expect(r.findings.map((f) => [f.path, f.detector, f.suppressed])).toEqual([
      ['b.log', 'alibaba-access-key-id', 'baseline'],
      ['logs/a.log', 'alibaba-access-key-id', undefined],
      ['logs/a.log', 'email-address', 'config'],
    ]);
    expect(r.failing).toBe(1);
  });
});

/** Line and column (characters) at byte `offset`, counted the slow way. */
function placeAt(buf: Buffer, offset: number): [number, number] {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) if (buf[i] === 0x0a) {
    line++;
    lineStart = i + 1;
  }
  let col = 1;
  for (let i = lineStart; i < offset; i++) if ((buf[i]! & 0xc0) !== 0x80) col++;
  return [line, col];
}

describe('inspectFile against a byte-by-byte reference', () => {
  const pieces = ['a', 'key ', '日志', 'é', '😀', '\n', '\r\n', ' ', MARKER, `${MARKER} email-address`, `${MARKER}list`, `${MARKER} nope,email-address`];
  const known = new Set(['email-address', 'alibaba-access-key-id']);

  async function check(text: string, spans: Array<[number, number]>): Promise<void> {
    const buf = Buffer.from(text);
    const dir = tree({ 'f.log': buf });
    const file = path.join(dir, 'f.log');
    // Spans on character boundaries, as the scanner makes them.
    const boundaries = [...Array(buf.length + 1).keys()].filter((i) => i === buf.length || (buf[i]! & 0xc0) !== 0x80);
    const findings: Finding[] = spans.map(([a, b], k) => {
      const s0 = boundaries[a % boundaries.length]!;
      const e0 = boundaries[b % boundaries.length]!;
      const [start, end] = s0 <= e0 ? [s0, e0] : [e0, s0];
      const [line, column] = placeAt(buf, start);
      return { detector: k % 2 ? 'email-address' : 'alibaba-access-key-id', category: 'pii', line, column, start, end, fingerprint: '000000000000' };
    });
    const got = await inspectFile(file, buf.length, findings, known);
    expect(got.consistent).toBe(true);
    expect(got.ends).toEqual(findings.map((f) => {
      const [endLine, endColumn] = placeAt(buf, f.end);
      return { endLine, endColumn };
    }));
    const wanted = new Set(findings.flatMap((f) => [f.line, f.line - 1]));
    const markers = [];
    for (let i = buf.indexOf(MARKER); i >= 0; i = buf.indexOf(MARKER, i + 1)) {
      const line = placeAt(buf, i)[0];
      if (!wanted.has(line) || findings.some((f) => i < f.end && i + MARKER.length > f.start)) continue;
      const parsed = parseMarkerTail(buf.subarray(i + MARKER.length, i + MARKER.length + 512), known);
      if (parsed) markers.push({ line, ...parsed });
    }
    expect(got.markers).toEqual(markers);
    if (findings.length > 0) {
      const moved = findings.map((f, k) => (k === 0 ? { ...f, column: f.column + 1 } : f));
      expect((await inspectFile(file, buf.length, moved, known)).consistent).toBe(false);
    }
    writeFileSync(file, Buffer.concat([buf, Buffer.from('x')]));
    expect((await inspectFile(file, buf.length, findings, known)).consistent).toBe(findings.length === 0);
  }

  it('a file replaced by a FIFO since the scan is inconsistent, without blocking', async (ctx) => {
    if (process.platform === 'win32') ctx.skip();
    const dir = tree({});
    const fifo = path.join(dir, 'a.log');
    execFileSync('mkfifo', [fifo]);
    const f: Finding = { detector: 'email-address', category: 'pii', line: 1, column: 1, start: 0, end: 5, fingerprint: '000000000000' };
    const got = await inspectFile(fifo, 10, [f], known);
    expect(got.consistent).toBe(false);
    expect(got.ends).toEqual([{ endLine: 1, endColumn: 6 }]);
  }, 5000);

  it('small files: ends, markers and consistency agree with the slow count', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom(...pieces), { maxLength: 40 }), fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 6 }), async (parts, spans) => {
        await check(parts.join(''), spans);
      }),
      { numRuns: 150 },
    );
  });

  it('large files read in chunks: markers, lines and columns across the chunk boundaries', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom(...pieces), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: -40, max: 40 }),
        fc.array(fc.tuple(fc.nat(), fc.nat()), { minLength: 1, maxLength: 4 }),
        async (parts, shift, spans) => {
          // Filler up to near the first chunk boundary, then the interesting part across it.
          const filler = `${'日'.repeat(20)}\n`.repeat(Math.floor((CHUNK + shift) / 61));
          const tailText = parts.join('');
          const text = filler + tailText + 'z'.repeat(CHUNK) + tailText;
          // Put half of the spans in the interesting parts (character indexes near the boundary).
          const base = [...filler].length;
          await check(text, spans.map(([a, b], k) => (k % 2 ? [a, b] : [base + (a % 60), base + (b % 60)])));
        },
      ),
      { numRuns: 25 },
    );
  });
});
