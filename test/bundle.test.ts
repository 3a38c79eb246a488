/**
 * The ticket-ready bundle, as a user gets it from `pack` on the sample incident: no planted value
 * anywhere in it (manifest and REDACTIONS.md included), support-relevant values intact, a valid
 * manifest, a zip that standard tools open, byte-identical output for the same key, and `verify`
 * that passes on it and fails on a tampered copy.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import unzipper from 'unzipper';
import { writeZip } from '../src/bundle/zip.js';
import { validateManifest } from '../src/manifest-schema.js';
import type { Manifest } from '../src/manifest.js';
import { computeTotals } from '../src/manifest.js';
import { redactionsMdChunks, renderRedactionsMd } from '../src/bundle/redactions-md.js';
import { cli } from './helpers/cli.js';
import { occurrences, readValueList } from './helpers/canaries.js';
import { FIXTURES, SAMPLE } from './helpers/paths.js';

const canaries = readValueList(path.join(FIXTURES, 'sample-incident.canaries.txt'));
const identifiers = readValueList(path.join(FIXTURES, 'sample-incident.identifiers.txt'));
const survivors = readValueList(path.join(FIXTURES, 'sample-incident.survive.txt'));

const work = mkdtempSync(path.join(tmpdir(), 'aliscrub-bundle-'));
const keyFile = path.join(work, 'key');
writeFileSync(keyFile, Buffer.alloc(32, 42));
const env = { SOURCE_DATE_EPOCH: '1700000000' };
let entries: Map<string, Buffer>;
let bundle: string;

async function readZip(file: string): Promise<Map<string, Buffer>> {
  const dir = await unzipper.Open.file(file);
  const out = new Map<string, Buffer>();
  for (const f of dir.files) out.set(f.path, await f.buffer());
  return out;
}

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

beforeAll(async () => {
  bundle = path.join(work, 'a.zip');
  const run = await cli(['pack', SAMPLE, '--out', bundle, '--key-file', keyFile], { cwd: work, env });
  expect(run.stderr).toBe('');
  // Every input is processed (the screenshot is bundled with its metadata stripped): exit 0.
  expect(run.code).toBe(0);
  entries = await readZip(bundle);
});

describe('pack on the sample incident', () => {
  it('leaks no planted value into any entry, the manifest and REDACTIONS.md included', () => {
    const leaks: string[] = [];
    for (const [name, data] of entries) {
      for (const c of [...canaries, ...identifiers]) if (occurrences(data, c).length) leaks.push(`${name}: canary #${canaries.indexOf(c)}`);
    }
    expect(leaks).toEqual([]);
  });

  it('keeps the values a support engineer needs', () => {
    const evidence = Buffer.concat([...entries].filter(([n]) => n.startsWith('evidence/')).map(([, b]) => b));
    const lost = survivors.filter((v) => occurrences(evidence, v).length === 0);
    expect(lost).toEqual([]);
  });

  it('holds evidence/, manifest.json and REDACTIONS.md in sorted order; the screenshot is stripped', async () => {
    const names = [...entries.keys()];
    expect(names).toEqual([...names].sort());
    expect(names).toContain('manifest.json');
    expect(names).toContain('REDACTIONS.md');
    expect(names.every((n) => n === 'manifest.json' || n === 'REDACTIONS.md' || n.startsWith('evidence/'))).toBe(true);
    expect(names).toContain('evidence/.env');
    const m = JSON.parse(entries.get('manifest.json')!.toString()) as Manifest;
    expect(m.files.find((f) => f.path === 'screenshots/console-error.png')).toMatchObject({ status: 'stripped', pixels: 'unscanned' });
    expect(names).toContain('evidence/screenshots/console-error.png');
  });

  it('writes a manifest that is valid against the shipped schema and matches the entries', () => {
    const m = JSON.parse(entries.get('manifest.json')!.toString()) as Manifest;
    expect(validateManifest(m)).toEqual([]);
    expect(m.createdAt).toBe('2023-11-14T22:13:20.000Z');
    for (const f of m.files) {
      if (f.status !== 'redacted' && f.status !== 'clean') continue;
      const data = entries.get(`evidence/${f.path}`)!;
      expect(createHash('sha256').update(data).digest('hex')).toBe(f.sha256);
      expect(data.length).toBe(f.bytesOut);
    }
    expect(m.totals.byCategory.secret).toBeGreaterThan(0);
  });

  it('is byte-identical for the same inputs and key, and differs for another key', async () => {
    const again = path.join(work, 'b.zip');
    expect((await cli(['pack', SAMPLE, '--out', again, '--key-file', keyFile], { cwd: work, env })).code).toBe(0);
    expect(sha(again)).toBe(sha(bundle));
    const otherKey = path.join(work, 'key2');
    writeFileSync(otherKey, Buffer.alloc(32, 43));
    const other = path.join(work, 'c.zip');
    await cli(['pack', SAMPLE, '--out', other, '--key-file', otherKey], { cwd: work, env });
    expect(sha(other)).not.toBe(sha(bundle));
  });

  it('opens with unzip -t and with Python zipfile', () => {
    expect(execFileSync('unzip', ['-t', bundle]).toString()).toContain('No errors detected');
    const py = execFileSync('python3', ['-c', 'import sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); print(z.testzip()); print(len(z.namelist()))', bundle]).toString();
    expect(py.split('\n')[0]).toBe('None');
    expect(Number(py.split('\n')[1])).toBe(entries.size);
  });

  it('verify passes on the bundle', async () => {
    const run = await cli(['verify', bundle], { cwd: work });
    expect(run.stdout).toContain('verified');
    expect(run.code).toBe(0);
  });

  it('verify fails (exit 1) on a bundle with a tampered entry, naming the entry', async () => {
    const tampered = path.join(work, 'tampered.zip');
    const copy = [...entries].map(([name, data]) => ({
      name,
      data: name === 'evidence/logs/app.log' ? Buffer.concat([data, Buffer.from('one more line\n')]) : data,
    }));
    await writeZip(tampered, copy, new Date(1700000000000));
    const run = await cli(['verify', tampered], { cwd: work });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('evidence/logs/app.log: content does not match the manifest');
  });

  it('verify fails when a secret was slipped into an entry, without printing it', async () => {
    const planted = path.join(work, 'planted.zip');
    const secret = 'LTAI5tQ8mZr2XbK9vNc4Wd7P';
    const copy = [...entries].map(([name, data]) => ({ name, data: name === 'REDACTIONS.md' ? Buffer.concat([data, Buffer.from(`\nkey ${secret}\n`)]) : data }));
    await writeZip(planted, copy, new Date(1700000000000));
    const run = await cli(['verify', planted], { cwd: work });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/REDACTIONS\.md:\d+:\d+: alibaba-access-key-id/);
    expect(run.stdout + run.stderr).not.toContain(secret);
  });

  it('verify exits 2 on something that is not a bundle', async () => {
    const notZip = path.join(work, 'not.zip');
    writeFileSync(notZip, 'hello');
    const run = await cli(['verify', notZip], { cwd: work });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('not.zip');
  });
});

describe('REDACTIONS.md in pieces', () => {
  it('joins its ~64 KiB pieces with every line break in place (3000 files)', () => {
    const files = Array.from({ length: 3000 }, (_, i) => ({
      path: `logs/host-${String(i).padStart(4, '0')}/a-rather-long-file-name-to-cross-piece-boundaries.log`,
      status: 'clean' as const,
      bytesIn: 1,
      bytesOut: 1,
      sha256: '0'.repeat(64),
      encoding: 'utf-8',
      bom: false,
      compression: 'none',
      counts: {},
      findings: [],
    })) as unknown as Manifest['files'];
    const m = { tool: { name: 'aliscrub', version: '0' }, createdAt: '2026-01-01T00:00:00.000Z', files, totals: computeTotals(files) } as unknown as Manifest;
    const pieces = [...redactionsMdChunks(m, new Map())];
    expect(pieces.length).toBeGreaterThan(2);
    for (const p of pieces.slice(0, -1)) expect(p.length).toBeGreaterThanOrEqual(64 * 1024);
    const text = pieces.join('');
    expect(text).toBe(renderRedactionsMd(m, new Map()));
    const rows = files.map((f) => `| evidence/${f.path} | clean | 0 |`);
    expect(text).toContain(`| file | status | replacements |\n|---|---|---|\n${rows.join('\n')}\n`);
    expect(text.startsWith('# Redaction summary\n\n')).toBe(true);
    expect(text.endsWith(`${rows.at(-1)}\n`)).toBe(true);
  });
});

describe('writeText', () => {
  it('writes pieces as their joined UTF-8, pieces larger than its buffer and multi-byte text included', async () => {
    const { writeText } = await import('../src/bundle/staging.js');
    const pieces = ['{"a":', '"中文 é 😀"', 'x'.repeat(300 * 1024), '\n', '', 'ü'.repeat(100 * 1024), 'end'];
    const file = path.join(work, 'pieces.txt');
    await writeText(file, pieces);
    expect(readFileSync(file)).toEqual(Buffer.from(pieces.join(''), 'utf8'));
    // 'w' replaces; 'wx' refuses an existing file.
    await writeText(file, ['short']);
    expect(readFileSync(file, 'utf8')).toBe('short');
    await expect(writeText(file, ['x'], 'wx')).rejects.toThrow(/EEXIST/);
  });
});

describe('removeTree', () => {
  it('removes a tree of folders and files, a lone file, and takes a missing path as done', async () => {
    const { removeTree } = await import('../src/bundle/staging.js');
    const { existsSync, mkdirSync } = await import('node:fs');
    const root = path.join(work, 'tree-to-remove');
    for (let d = 0; d < 5; d++) {
      mkdirSync(path.join(root, `d${d}`, 'inner', 'empty'), { recursive: true });
      for (let f = 0; f < 40; f++) writeFileSync(path.join(root, `d${d}`, f % 2 ? 'inner' : '', `f${f}.log`), 'x');
    }
    writeFileSync(path.join(root, 'top.log'), 'x');
    await removeTree(root);
    expect(existsSync(root)).toBe(false);
    await expect(removeTree(root)).resolves.toBeUndefined();
    const lone = path.join(work, 'lone.log');
    writeFileSync(lone, 'x');
    await removeTree(lone);
    expect(existsSync(lone)).toBe(false);
  });

  it('removes links without following them: what they point at stays', async () => {
    const { removeTree } = await import('../src/bundle/staging.js');
    const { existsSync, lstatSync, mkdirSync, symlinkSync } = await import('node:fs');
    const kept = path.join(work, 'kept-folder');
    mkdirSync(kept, { recursive: true });
    writeFileSync(path.join(kept, 'precious.log'), 'x');
    // A link to a folder as the target itself (a replaced --out-dir), and inside a tree.
    const link = path.join(work, 'out-link');
    symlinkSync(kept, link);
    const tree = path.join(work, 'tree-with-link');
    mkdirSync(tree, { recursive: true });
    symlinkSync(kept, path.join(tree, 'inner-link'));
    await removeTree(link);
    await removeTree(tree);
    expect(() => lstatSync(link)).toThrow(/ENOENT/);
    expect(existsSync(tree)).toBe(false);
    expect(existsSync(path.join(kept, 'precious.log'))).toBe(true);
  });
});

describe('pack: extra top-level entries', () => {
  it('refuses one that clashes with the layout or an earlier extra, and writes nothing', async () => {
    const { pack } = await import('../src/run.js');
    const { existsSync, mkdirSync } = await import('node:fs');
    const input = path.join(work, 'extras-in');
    mkdirSync(path.join(input, 'sub'), { recursive: true });
    writeFileSync(path.join(input, 'a.log'), 'ok\n');
    writeFileSync(path.join(input, 'sub', 'b.log'), 'ok\n');
    const run = (names: string[], out: string) =>
      pack({ inputs: [input], cwd: work, extraEntries: async () => names.map((name) => ({ name, data: Buffer.from('x') })) }, path.join(work, out));
    for (const [names, out] of [[['manifest.json'], 'c1.zip'], [['REDACTIONS.md'], 'c2.zip'], [['TICKET.md', 'TICKET.md'], 'c3.zip'], [['evidence/a.log'], 'c4.zip']] as const) {
      await expect(run([...names], out)).rejects.toThrow(/clashes with the bundle layout/);
      expect(existsSync(path.join(work, out))).toBe(false);
    }
    const ok = await run(['TICKET.md', 'incident.yaml'], 'ok.zip');
    const names = (await unzipper.Open.file(ok.path)).files.map((f) => f.path).sort();
    expect(names).toEqual(['REDACTIONS.md', 'TICKET.md', 'evidence/a.log', 'evidence/sub/b.log', 'incident.yaml', 'manifest.json']);
  });
});
