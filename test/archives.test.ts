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
