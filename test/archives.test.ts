/**
 * Archives in, scrubbed members out: zip and tgz members (nested zips too) are redacted and
 * bundled under the archive's path; hostile members (zip-slip, links, encryption, bombs, too deep)
 * are refused with a named reason and none of their bytes reach the bundle; a truncated archive is
 * reported without losing the members read before the damage.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import unzipper from 'unzipper';
import { ARCHIVE_CANARIES, makeArchives } from '../fixtures/formats/archives.mjs';
import { pack } from '../src/run.js';
import type { Manifest } from '../src/manifest.js';
import { validateManifest } from '../src/manifest-schema.js';
import { cli } from './helpers/cli.js';

const dir = mkdtempSync(path.join(tmpdir(), 'aliscrub-archives-'));
makeArchives(path.join(dir, 'in'));
let manifest: Manifest;
const entries = new Map<string, Buffer>();
const bundle = path.join(dir, 'b.zip');

beforeAll(async () => {
  const res = await pack({ inputs: ['in'], cwd: dir, key: Buffer.alloc(32, 3) }, bundle);
  manifest = res.manifest;
  const z = await unzipper.Open.file(bundle);
  for (const f of z.files) entries.set(f.path, await f.buffer());
});

const status = (p: string) => {
  const f = manifest.files.find((x) => x.path === p);
  if (!f) return 'missing';
  return f.status === 'excluded' || f.status === 'failed' ? `${f.status}:${f.reason}` : f.status;
};

describe('archives', () => {
  it('scrubs members, nested archives included, under the archive path', () => {
    expect(status('evidence.zip!/logs/app.log')).toBe('redacted');
    expect(status('evidence.zip!/nested/inner.zip!/deep/secret.log')).toBe('redacted');
    expect(status('evidence.tgz!/var/log/app.log')).toBe('redacted');
    expect(status('evidence.tgz!/bundle/inner.zip!/deep/secret.log')).toBe('redacted');
    expect(entries.has('evidence/evidence.zip/nested/inner.zip/deep/secret.log')).toBe(true);
    expect(entries.has('evidence/evidence.tgz/var/log/app.log')).toBe(true);
  });

  it('refuses hostile members with a named reason', () => {
    expect(status('zipslip.zip!/../../evil.log')).toBe('excluded:unsafe-path');
    expect(status('zipslip.zip!/abs/evil.log')).toBe('excluded:unsafe-path');
    expect(status('zipslip.zip!/ok.log')).toBe('clean');
    expect(status('evidence.tgz!/var/log/current')).toBe('excluded:link');
    expect(status('symlink.zip!/passwd')).toBe('excluded:link');
    expect(status('encrypted.zip!/secret.log')).toBe('excluded:encrypted');
    expect(status('bomb.zip!/zeros.log')).toBe('excluded:archive-bomb');
    expect(status('evidence.zip!/screens/shot.png')).toBe('stripped'); // images in archives: metadata stripped (issue 4)
    expect(status('deep.zip!/level1.zip!/level2.zip!/level3.zip')).toBe('excluded:archive-depth');
    expect(status('truncated.tgz')).toBe('failed:corrupt');
  });

  it('puts no planted value and no refused member into the bundle', () => {
    for (const [name, data] of entries) {
      for (const [k, v] of Object.entries(ARCHIVE_CANARIES)) expect(data.includes(Buffer.from(v)), `${name} holds canary ${k}`).toBe(false);
      expect(name.includes('..')).toBe(false);
    }
    expect([...entries.keys()].some((n) => n.includes('evil') || n.includes('passwd') || n.includes('zeros'))).toBe(false);
  });

  it('writes a valid manifest and a bundle that verifies', async () => {
    expect(validateManifest(manifest)).toEqual([]);
    const r = await cli(['verify', bundle], { cwd: dir });
    expect(r.stdout).toContain('verified');
  });

  it('counts real bytes, so a member whose header understates its size is still stopped', async () => {
    const d = mkdtempSync(path.join(tmpdir(), 'aliscrub-liar-'));
    const { zip } = await import('../fixtures/formats/archives.mjs');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path.join(d, 'liar.zip'), zip([{ name: 'big.log', data: Buffer.alloc(300_000, 0x41), deflate: true, declaredSize: 10 }]));
    const res = await pack({ inputs: ['liar.zip'], cwd: d, archiveLimits: { maxTotalBytes: 100_000 } }, path.join(mkdtempSync(path.join(tmpdir(), 'aliscrub-liar-out-')), 'o.zip'));
    expect(res.manifest.files.map((f) => [f.path, f.status, f.status === 'excluded' ? f.reason : ''])).toEqual([['liar.zip!/big.log', 'excluded', 'archive-bomb']]);
  });
});

/** Packs `files` (name → bytes) with the CLI, reads the bundle back and verifies it. */
async function packDir(files: Record<string, Buffer>, extra: string[] = []) {
  const { mkdirSync, writeFileSync, readdirSync } = await import('node:fs');
  const d = mkdtempSync(path.join(tmpdir(), 'aliscrub-arch-cli-'));
  mkdirSync(path.join(d, 'in'));
  mkdirSync(path.join(d, 'out'));
  for (const [n, data] of Object.entries(files)) writeFileSync(path.join(d, 'in', n), data);
  const out = path.join(d, 'out', 'b.zip');
  const run = await cli(['pack', 'in', '--out', out, '--quiet', '--threads', '1', ...extra], { cwd: d });
  const got = new Map<string, Buffer>();
  let m: Manifest | undefined;
  let verified = '';
  if (run.code !== 2) {
    const z = await unzipper.Open.file(out);
    for (const f of z.files) {
      if (got.has(f.path)) throw new Error(`duplicate bundle entry ${f.path}`);
      got.set(f.path, await f.buffer());
    }
    m = JSON.parse(got.get('manifest.json')!.toString('utf8')) as Manifest;
    verified = (await cli(['verify', out], { cwd: d })).stdout;
  }
  const leftovers = readdirSync(path.join(d, 'out'), { withFileTypes: true }).map((e) => e.name).filter((n) => n !== 'b.zip');
  return { run, entries: got, manifest: m, verified, leftovers, dir: d };
}

const rows = (m: Manifest | undefined) => (m?.files ?? []).map((f) => [f.path, f.status === 'excluded' || f.status === 'failed' ? `${f.status}:${f.reason}` : f.status]);

describe('duplicate member names (issue 4 review)', () => {
  for (const dups of [1, 2, 3]) {
    it(`keeps the first of ${dups + 1} members named a.log and refuses the rest as duplicate-name`, async () => {
      const members = [{ name: 'a.log', data: Buffer.from('first\n') }];
      for (let i = 0; i < dups; i++) members.push({ name: i % 2 === 0 ? './a.log' : 'a.log', data: Buffer.from(`dup ${i}\n`) });
      members.push({ name: 'b.log', data: Buffer.from('other\n') });
      const { zip } = await import('../fixtures/formats/archives.mjs');
      const r = await packDir({ 'dup.zip': zip(members) });
      expect(r.run.stderr).not.toContain('fatal');
      expect(r.run.code).toBe(1); // written, but members were left out
      expect(rows(r.manifest)).toEqual([
        ['dup.zip!/a.log', 'clean'],
        ...Array.from({ length: dups }, () => ['dup.zip!/a.log', 'excluded:duplicate-name']),
        ['dup.zip!/b.log', 'clean'],
      ]);
      expect(r.entries.get('evidence/dup.zip/a.log')?.toString()).toBe('first\n');
      expect(r.entries.get('evidence/dup.zip/b.log')?.toString()).toBe('other\n');
      expect(validateManifest(r.manifest!)).toEqual([]);
      expect(r.verified).toContain('verified');
      expect(r.leftovers).toEqual([]);
    });
  }

  it('refuses a member that collides with a file or folder name in the bundle, nested archives included', async () => {
    const { zip } = await import('../fixtures/formats/archives.mjs');
    const inner = zip([{ name: 'x.log', data: Buffer.from('inner\n') }]);
    const r = await packDir({
      'mix.zip': zip([
        { name: 'a', data: Buffer.from('file a\n') },
        { name: 'a/b.log', data: Buffer.from('under a\n') },
        { name: 'd/c.log', data: Buffer.from('in d\n') },
        { name: 'd', data: Buffer.from('file d\n') },
        { name: 'n.zip', data: inner },
        { name: 'n.zip/x.log', data: Buffer.from('literal\n') },
      ]),
    });
    expect(r.run.stderr).not.toContain('fatal');
    expect(rows(r.manifest)).toEqual([
      ['mix.zip!/a', 'clean'],
      ['mix.zip!/a/b.log', 'excluded:duplicate-name'],
      ['mix.zip!/d', 'excluded:duplicate-name'],
      ['mix.zip!/d/c.log', 'clean'],
      ['mix.zip!/n.zip!/x.log', 'clean'],
      ['mix.zip!/n.zip/x.log', 'excluded:duplicate-name'],
    ]);
    expect(r.entries.get('evidence/mix.zip/n.zip/x.log')?.toString()).toBe('inner\n');
    expect(r.verified).toContain('verified');
  });
});

describe('archive limits from the command line (issue 4 review)', () => {
  const nested = async () => {
    const { zip } = await import('../fixtures/formats/archives.mjs');
    return zip([
      { name: 'top.log', data: Buffer.from('top\n') },
      { name: 'inner.zip', data: zip([{ name: 'deep.log', data: Buffer.from('deep\n') }]) },
    ]);
  };

  it('--max-archive-depth 1 refuses the inner archive with reason archive-depth', async () => {
    const r = await packDir({ 'n.zip': await nested() }, ['--max-archive-depth', '1']);
    expect(r.run.code).toBe(1);
    expect(rows(r.manifest)).toEqual([
      ['n.zip!/inner.zip', 'excluded:archive-depth'],
      ['n.zip!/top.log', 'clean'],
    ]);
    expect(r.verified).toContain('verified');
    // The default (3) reads it.
    const d = await packDir({ 'n.zip': await nested() });
    expect(rows(d.manifest)).toContainEqual(['n.zip!/inner.zip!/deep.log', 'clean']);
  });

  it('--max-archive-size, --max-archive-entries and --max-archive-ratio apply', async () => {
    const { zip } = await import('../fixtures/formats/archives.mjs');
    const big = zip([{ name: 'big.log', data: Buffer.alloc(200_000, 0x41) }]);
    expect(rows((await packDir({ 'z.zip': big }, ['--max-archive-size', '100KB'])).manifest)).toEqual([['z.zip!/big.log', 'excluded:archive-bomb']]);
    expect(rows((await packDir({ 'z.zip': big }, ['--max-archive-size', '1MB'])).manifest)).toEqual([['z.zip!/big.log', 'clean']]);
    const three = zip(['a', 'b', 'c'].map((n) => ({ name: `${n}.log`, data: Buffer.from(`${n}\n`) })));
    expect(rows((await packDir({ 't.zip': three }, ['--max-archive-entries', '2'])).manifest)).toEqual([
      ['t.zip!/a.log', 'clean'],
      ['t.zip!/b.log', 'clean'],
      ['t.zip!/c.log', 'excluded:too-many-entries'],
    ]);
    const packed = zip([{ name: 'r.log', data: Buffer.alloc(50_000, 0x41), deflate: true }]); // ratio ~ 500:1 < 1000
    expect(rows((await packDir({ 'r.zip': packed }, ['--max-archive-ratio', '1000'])).manifest)).toEqual([['r.zip!/r.log', 'clean']]);
    expect(rows((await packDir({ 'r.zip': packed }, ['--max-archive-ratio', '10'])).manifest)).toEqual([['r.zip!/r.log', 'excluded:archive-bomb']]);
  });

  for (const [flag, bad] of [
    ['--max-archive-depth', 'x'],
    ['--max-archive-depth', '-1'],
    ['--max-archive-depth', '1.5'],
    ['--max-archive-size', '12 parsecs'],
    ['--max-archive-entries', '0'],
    ['--max-archive-ratio', 'lots'],
  ] as const) {
    it(`${flag} ${bad} exits 2 naming the flag`, async () => {
      const r = await packDir({ 'n.zip': Buffer.from('') }, [flag, bad]);
      expect(r.run.code).toBe(2);
      expect(r.run.stderr).toContain(flag);
      expect(r.leftovers).toEqual([]);
    });
  }

  it('limits.maxArchiveDepth in the configuration file applies; a flag wins', async () => {
    const { mkdirSync, writeFileSync } = await import('node:fs');
    const d = mkdtempSync(path.join(tmpdir(), 'aliscrub-arch-cfg-'));
    mkdirSync(path.join(d, 'in'));
    writeFileSync(path.join(d, 'in', 'n.zip'), await nested());
    writeFileSync(path.join(d, 'aliscrub.config.json'), JSON.stringify({ limits: { maxArchiveDepth: 1, maxArchiveSize: '10MB', maxArchiveEntries: 10, maxArchiveRatio: 100 } }));
    const a = await cli(['scan', 'in', '--format', 'json', '--allow-unscanned'], { cwd: d });
    expect(rows(JSON.parse(a.stdout) as Manifest)).toContainEqual(['n.zip!/inner.zip', 'excluded:archive-depth']);
    const b = await cli(['scan', 'in', '--format', 'json', '--max-archive-depth', '2'], { cwd: d });
    expect(rows(JSON.parse(b.stdout) as Manifest)).toContainEqual(['n.zip!/inner.zip!/deep.log', 'clean']);
    writeFileSync(path.join(d, 'aliscrub.config.json'), JSON.stringify({ limits: { maxArchiveDepth: 0 } }));
    const c = await cli(['scan', 'in'], { cwd: d });
    expect(c.code).toBe(2);
    expect(c.stderr).toContain('limits.maxArchiveDepth');
    writeFileSync(path.join(d, 'aliscrub.config.json'), JSON.stringify({ limits: { maxArchiveSize: 'huge' } }));
    const e = await cli(['scan', 'in'], { cwd: d });
    expect(e.code).toBe(2);
    expect(e.stderr).toContain('limits.maxArchiveSize');
  });
});
