/**
 * The command line as a user meets it: exit codes 0/1/2, one-line errors that name the flag, path,
 * pattern file or detector, nothing half-written at an output path, inputs never modified, and no
 * detected value in any report or message.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { pack, redactToDir } from '../src/run.js';
import { validateManifest } from '../src/manifest-schema.js';
import type { Manifest } from '../src/manifest.js';
import { cli } from './helpers/cli.js';
import { BIN, SAMPLE } from './helpers/paths.js';

const SECRET = 'LTAI5tQ8mZr2XbK9vNc4Wd7P';

function tree(files: Record<string, string | Buffer>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'aliscrub-cli-'));
  for (const [name, content] of Object.entries(files)) {
    const p = path.join(dir, name);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, content);
  }
  return dir;
}

function digestTree(dir: string): string {
  const h = createHash('sha256');
  const walk = (d: string): void => {
    for (const n of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = path.join(d, n.name);
      if (n.isDirectory()) walk(p);
      else if (n.isFile()) h.update(p).update(readFileSync(p));
    }
  };
  walk(dir);
  return h.digest('hex');
}

describe('exit codes', () => {
  it('scan: 0 when clean, 1 with findings, 2 on usage errors', async () => {
    const clean = tree({ 'a.log': 'nothing to see\n' });
    expect((await cli(['scan', '.'], { cwd: clean })).code).toBe(0);
    const dirty = tree({ 'a.log': `key ${SECRET}\n` });
    const r = await cli(['scan', '.'], { cwd: dirty });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^a\.log:1:5 alibaba-access-key-id \(secret\) [0-9a-f]{12}$/m);
    expect((await cli(['scan'], { cwd: dirty })).code).toBe(2);
  });

  it('scan: 1 when a file cannot be scanned (fail closed), naming it', async () => {
    const dir = tree({ 'good.log': 'fine\n', 'bad.log': Buffer.from([0x61, 0xff, 0xfe, 0x0a]) });
    const r = await cli(['scan', '.'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('bad.log: not valid UTF-8');
    expect(r.stdout).toContain('bad.log: not scanned: undecodable');
  });

  it('writing a report with --output does not change the exit code', async () => {
    const dir = tree({ 'a.log': `key ${SECRET}\n` });
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'aliscrub-rep-')), 'r.json');
    const r = await cli(['scan', dir, '--format', 'json', '--output', out], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const report = JSON.parse(readFileSync(out, 'utf8')) as Manifest;
    expect(validateManifest(report)).toEqual([]);
    expect(readFileSync(out, 'utf8')).not.toContain(SECRET);
  });

  it('the installed binary runs: --help exits 0, scan exits 1 on a finding', () => {
    const help = spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('aliscrub pack');
    expect(help.stdout).toContain('Exit codes');
    const dir = tree({ 'a.log': `key ${SECRET}\n` });
    const scan = spawnSync(process.execPath, [BIN, 'scan', dir], { encoding: 'utf8' });
    expect(scan.status).toBe(1);
    expect(scan.stdout + scan.stderr).not.toContain(SECRET);
  });

  it('many files at once print no warning from Node (one signal listener per file being read)', () => {
    const dir = tree(Object.fromEntries(Array.from({ length: 24 }, (_, i) => [`f${i}.log`, `line ${i}\n`.repeat(2000)])));
    const r = spawnSync(process.execPath, [BIN, 'scan', dir, '--concurrency', '16', '--threads', '1'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stderr).not.toContain('Warning');
  });
});

describe('bad input gets a one-line error and exit 2', () => {
  it('nonexistent path', async () => {
    const r = await cli(['scan', 'no/such/dir'], { cwd: tmpdir() });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('aliscrub: input path does not exist: no/such/dir\n');
  });

  it('a glob that matches nothing', async () => {
    const dir = tree({ 'a.log': 'x\n' });
    const r = await cli(['scan', '*.txt'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("no files match '*.txt'");
  });

  it('an unknown flag and a missing required flag are named', async () => {
    const dir = tree({ 'a.log': 'x\n' });
    const unknown = await cli(['scan', '.', '--colour'], { cwd: dir });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('colour');
    const missing = await cli(['pack', '.'], { cwd: dir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('out');
  });

  it('a bad flag value stops before any scanning: exit 2, nothing on stdout (regression)', async () => {
    const dir = tree({ 'a.log': `key ${SECRET}\n` });
    const r = await cli(['scan', '.', '--images', 'bogus'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('images');
  });

  it('an output path inside the input, with nothing written', async () => {
    const dir = tree({ 'a.log': `key ${SECRET}\n` });
    const before = digestTree(dir);
    const r = await cli(['pack', '.', '--out', 'inside.zip'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--out');
    expect(r.stderr).toContain('inside the input');
    const r2 = await cli(['redact', '.', '--out-dir', 'sub/out'], { cwd: dir });
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain('--out-dir');
    expect(digestTree(dir)).toBe(before);
  });

  it('a non-empty output folder unless --force', async () => {
    const dir = tree({ 'a.log': `key ${SECRET}\n` });
    const out = tree({ 'old.txt': 'previous run\n' });
    const r = await cli(['redact', dir, '--out-dir', out], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is not empty');
    expect(existsSync(path.join(out, 'old.txt'))).toBe(true);
    const forced = await cli(['redact', dir, '--out-dir', out, '--force'], { cwd: dir });
    expect(forced.code).toBe(0);
    expect(existsSync(path.join(out, 'old.txt'))).toBe(false);
    expect(readFileSync(path.join(out, 'evidence', 'a.log'), 'utf8')).toMatch(/^key \[REDACTED:alibaba-access-key-id:[0-9a-f]{12}\]\n$/);
  });

  it('a short key file', async () => {
    const dir = tree({ 'a.log': 'x\n', 'k': 'short' });
    const r = await cli(['scan', 'a.log', '--key-file', 'k'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--key-file');
  });

  const badDetector = {
    id: 'demo-token',
    category: 'secret',
    description: 'demo',
    pattern: 'tok_([a-z0-9]{8})',
    group: 1,
    maxLength: 12,
    examples: { match: ['x tok_«ab12cd34»'], noMatch: ['tok_short'] },
  };
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['an unbounded quantifier', { pattern: 'tok_([a-z0-9]+)' }, /pat\.json: detector 'demo-token': field 'pattern': unbounded quantifier/],
    ['lookaround', { pattern: '(?<=x)tok_([a-z0-9]{8})' }, /field 'pattern': not valid RE2/],
    ['a maxLength below the pattern bound', { maxLength: 4 }, /field 'maxLength': 4 is smaller than/],
    ['an unknown validator', { validator: 'nope' }, /field 'validator': unknown validator 'nope'/],
    ['a missing group', { group: 3 }, /field 'group': group 3 does not exist/],
    ['a wrong example span', { examples: { match: ['x «tok_»ab12cd34'], noMatch: ['y'] } }, /field 'examples\.match\[0\]': expected spans \[2-6\] but found \[6-14\]/],
    ['a noMatch that matches', { examples: { match: ['x tok_«ab12cd34»'], noMatch: ['tok_zzzzzzzz'] } }, /field 'examples\.noMatch\[0\]'/],
    ['an unknown field', { colour: 'red' }, /detector 'demo-token': field '\(detector\)': unknown field 'colour'/],
    ['a bad category', { category: 'spicy' }, /detector 'demo-token': field 'category'/],
  ];
  for (const [what, patch, message] of cases) {
    it(`a pattern file with ${what} names file, detector and field`, async () => {
      const dir = tree({
        'a.log': 'x\n',
        'pat.json': JSON.stringify({ family: 'demo', description: 'demo', detectors: [{ ...badDetector, ...patch }] }),
      });
      const r = await cli(['scan', 'a.log', '--patterns', 'pat.json'], { cwd: dir });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    });
  }

  it('a pattern file that is not JSON, and a duplicate id', async () => {
    const dir = tree({ 'a.log': 'x\n', 'p.json': '{ nope', 'p2.json': JSON.stringify({ family: 'd', description: 'd', detectors: [badDetector, badDetector] }) });
    const r = await cli(['scan', 'a.log', '--patterns', 'p.json'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('p.json: file: field \'(json)\': cannot be parsed');
    const r2 = await cli(['scan', 'a.log', '--patterns', 'p2.json'], { cwd: dir });
    expect(r2.stderr).toMatch(/detector 'demo-token': field 'id': duplicate id/);
  });
});

describe('sources', () => {
  it('includes dotfiles, honours --exclude, and never modifies inputs', async () => {
    const dir = tree({ '.env': `AK=${SECRET}\n`, 'logs/a.log': 'fine\n', 'logs/skip.log': `${SECRET}\n`, 'deep/x/y.txt': 'ok\n' });
    const before = digestTree(dir);
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'aliscrub-out-')), 'o');
    const r = await cli(['redact', '.', '--out-dir', out, '--exclude', '**/skip.log'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(digestTree(dir)).toBe(before);
    const m = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')) as Manifest;
    expect(m.files.map((f) => [f.path, f.status])).toEqual([
      ['.env', 'redacted'],
      ['deep/x/y.txt', 'clean'],
      ['logs/a.log', 'clean'],
      ['logs/skip.log', 'excluded'],
    ]);
    expect(existsSync(path.join(out, 'evidence', 'logs', 'skip.log'))).toBe(false);
  });

  it('does not follow a symlink out of the input root', async () => {
    const outside = tree({ 'secret.txt': `${SECRET}\n` });
    const dir = tree({ 'a.log': 'fine\n' });
    symlinkSync(path.join(outside, 'secret.txt'), path.join(dir, 'link.txt'));
    symlinkSync(outside, path.join(dir, 'linkdir'));
    const r = await cli(['scan', '.', '--format', 'json'], { cwd: dir });
    const m = JSON.parse(r.stdout) as Manifest;
    expect(m.files.filter((f) => f.status === 'excluded').map((f) => [f.path, f.status === 'excluded' && f.reason])).toEqual([
      ['link.txt', 'symlink-outside-root'],
      ['linkdir', 'symlink-outside-root'],
    ]);
  });

  it('redacts a detected value in a file name too', async () => {
    const dir = tree({ [`dump-${SECRET}.log`]: 'fine\n' });
    const r = await cli(['scan', '.', '--format', 'json'], { cwd: dir });
    expect(r.stdout).not.toContain(SECRET);
    expect(r.stdout).toMatch(/"path": "dump-\[REDACTED:alibaba-access-key-id:[0-9a-f]{12}\]\.log"/);
  });

  it('a file that disappears mid-run is left out with its reason; the bundle is still written', async () => {
    const dir = tree({ 'a.log': 'fine\n', 'gone.log': `${SECRET}\n` });
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'aliscrub-out-')), 'b.zip');
    const res = await pack({ inputs: ['.'], cwd: dir, onCollected: () => unlinkSync(path.join(dir, 'gone.log')) }, out);
    expect(res.manifest.files.find((f) => f.path === 'gone.log')).toMatchObject({ status: 'failed', reason: 'vanished' });
    expect(existsSync(out)).toBe(true);
  });

  it('a file that fails part-way through its output leaves no output file', async () => {
    // A truncated .gz: gunzip yields ~180 KB of text, written out, then fails on the missing trailer.
    const gz = gzipSync(Buffer.from(`line ${'x'.repeat(60)}\n`.repeat(3000)));
    const dir = tree({ 'fine.log': 'fine\n' });
    writeFileSync(path.join(dir, 'cut.log.gz'), gz.subarray(0, gz.length - 8));
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'aliscrub-out-')), 'out');
    const res = await redactToDir({ inputs: ['.'], cwd: dir }, out);
    expect(res.manifest.files.find((f) => f.path === 'cut.log.gz')).toMatchObject({ status: 'failed' });
    expect(existsSync(path.join(out, 'evidence', 'cut.log.gz'))).toBe(false);
    expect(readFileSync(path.join(out, 'evidence', 'fine.log'), 'utf8')).toBe('fine\n');
  });

  it('an interrupted run leaves nothing at the output path', async () => {
    const dir = tree({ 'a.log': 'fine\n' });
    const parent = mkdtempSync(path.join(tmpdir(), 'aliscrub-out-'));
    const out = path.join(parent, 'b.zip');
    const ac = new AbortController();
    await expect(pack({ inputs: ['.'], cwd: dir, signal: ac.signal, onCollected: () => ac.abort() }, out)).rejects.toThrow();
    expect(readdirSync(parent)).toEqual([]);
  });

  // Root reads any file regardless of mode, so this case can only be shown as another user.
  it.skipIf(process.getuid?.() === 0)('an unreadable file is left out with its reason', async () => {
    const dir = tree({ 'a.log': 'fine\n', 'locked.log': 'x\n' });
    chmodSync(path.join(dir, 'locked.log'), 0o000);
    const r = await cli(['scan', '.'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('locked.log: not scanned: unreadable');
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('the sample incident', () => {
  it('scan reports findings without printing any value', async () => {
    const r = await cli(['scan', SAMPLE], { cwd: SAMPLE });
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain(SECRET);
    expect(r.stdout).toMatch(/findings: \d+ \(secret \d+, pii \d+, identifier \d+\)/);
  });
});
