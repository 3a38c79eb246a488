/**
 * `aliscrub archive`: one bundle per incident from a generated root (folders and archives, one
 * with a corrupt archive), index.json/index.csv, resumability (an unchanged rerun does no work, a
 * changed file redoes only its incident), byte-identical output for the same inputs + state, and a
 * SIGKILL mid-run that leaves no complete-looking bundle for the incident in progress.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { archive } from '../src/bulk/archive.js';
import type { ArchiveOptions } from '../src/bulk/archive.js';
import type { ArchiveIndex } from '../src/bulk/index-file.js';
import { verifyBundle } from '../src/verify.js';
import { cli } from './helpers/cli.js';
// @ts-expect-error plain ESM fixture generator without types
import { makeBulkFixture } from '../fixtures/bulk/make.mjs';

const ROOT = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const work = mkdtempSync(path.join(tmpdir(), 'aliscrub-bulk-'));
const root = path.join(work, 'root');
const out = path.join(work, 'out');
const state = path.join(work, 'state');
const sha = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');
const readIndex = (dir: string): ArchiveIndex => JSON.parse(readFileSync(path.join(dir, 'index.json'), 'utf8')) as ArchiveIndex;
const opts = (o: Partial<ArchiveOptions> = {}): ArchiveOptions => ({ inputs: [root], cwd: work, outDir: out, stateDir: state, sourceDateEpoch: 1_700_000_000, ...o });

beforeAll(async () => {
  await makeBulkFixture(root);
});

describe('archive: bundles, index, resume', () => {
  let firstShas: Map<string, string>;

  it('packs every incident (folders and archives) into a bundle and writes the index', async () => {
    const { code, stdout } = await cli(['archive', 'root', '--out', 'out', '--state', 'state', '-q'], { cwd: work, env: { SOURCE_DATE_EPOCH: '1700000000' } });
    // inc-beta holds a corrupt archive: its bundle is written, the archive is left out, exit 1.
    expect(code).toBe(1);
    expect(stdout).toContain('inc-beta: partial');
    const index = readIndex(out);
    expect(index.incidents.map((e) => [e.incident, e.source, e.status])).toEqual([
      ['inc-alpha', 'folder', 'ok'],
      ['inc-beta', 'folder', 'partial'],
      ['inc-delta', 'archive', 'ok'],
      ['inc-gamma', 'archive', 'ok'],
    ]);
    const beta = index.incidents.find((e) => e.incident === 'inc-beta')!;
    expect(beta.failed).toBe(1);
    firstShas = new Map();
    for (const e of index.incidents) {
      expect(e.bundles).toHaveLength(1);
      const file = path.join(out, e.bundles[0]!.file);
      expect(statSync(file).size).toBe(e.bundles[0]!.bytes);
      expect(sha(file)).toBe(e.bundles[0]!.sha256);
      expect(e.findings).toBeGreaterThan(0);
      expect(e.byCategory.identifier).toBeGreaterThan(0);
      const v = await verifyBundle(file);
      expect(v.problems).toEqual([]);
      firstShas.set(e.incident, e.bundles[0]!.sha256);
    }
    const csv = readFileSync(path.join(out, 'index.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toMatch(/^incident,source,status,bundles,bytes,sha256,files,findings,secret,pii,identifier,excluded,failed/);
    expect(csv).toHaveLength(5);
    // Nothing hidden left behind (staging folders, temporary index files).
    expect(readdirSync(out).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('a second run does no work', async () => {
    const before = new Map(readdirSync(out).map((n) => [n, statSync(path.join(out, n)).mtimeMs]));
    let planned = -1;
    const t0 = performance.now();
    const res = await archive(opts({ onPlanned: (n) => (planned = n) }));
    const ms = performance.now() - t0;
    console.log(`bulk: unchanged rerun of ${res.outcomes.length} incidents took ${ms.toFixed(0)} ms`);
    expect(planned).toBe(0);
    expect(res.outcomes.every((o) => o.action === 'unchanged')).toBe(true);
    for (const [n, m] of before) if (n.endsWith('.zip')) expect(statSync(path.join(out, n)).mtimeMs).toBe(m);
  });

  it('changing one file redoes only that incident', async () => {
    appendFileSync(path.join(root, 'inc-alpha', 'notes.txt'), 'one more line from 118.31.77.204\n');
    const res = await archive(opts());
    const done = res.outcomes.filter((o) => o.action === 'done').map((o) => o.entry.incident);
    expect(done).toEqual(['inc-alpha']);
    const alpha = readIndex(out).incidents.find((e) => e.incident === 'inc-alpha')!;
    expect(alpha.bundles[0]!.sha256).not.toBe(firstShas.get('inc-alpha'));
    expect(readIndex(out).incidents.find((e) => e.incident === 'inc-gamma')!.bundles[0]!.sha256).toBe(firstShas.get('inc-gamma'));
  });

  it('same inputs + same state give byte-identical bundles (concurrency does not matter)', async () => {
    const again = path.join(work, 'out-again');
    await archive(opts({ outDir: again, jobs: 4, concurrency: 1 }));
    const a = readIndex(out);
    const b = readIndex(again);
    expect(b.incidents.map((e) => e.bundles[0]!.sha256)).toEqual(a.incidents.map((e) => e.bundles[0]!.sha256));
    expect(readFileSync(path.join(again, 'index.csv'), 'utf8')).toBe(readFileSync(path.join(out, 'index.csv'), 'utf8'));
  });

  it('incidents with left-out files are partial, the others still run, exit code 1', async () => {
    const r2 = path.join(work, 'root2');
    await makeBulkFixture(r2);
    const o2 = path.join(work, 'out2');
    const res = await archive(opts({ inputs: [r2], outDir: o2, maxFileBytes: 1 }));
    // Every file too large: bundles with nothing in them, reported as partial, never thrown.
    expect(res.outcomes.map((o) => o.entry.status)).toEqual(['partial', 'partial', 'partial', 'partial']);
  });

  it('refuses a state folder inside an input, and --key-file', async () => {
    await expect(archive(opts({ stateDir: path.join(root, 'inc-alpha', 'st') }))).rejects.toThrow(/outside every input/);
    const r = await cli(['archive', 'root', '--out', 'out', '--state', 'state', '--key-file', 'x'], { cwd: work });
    expect(r.code).toBe(2);
  });
});

describe('archive: interrupted by SIGKILL', () => {
  it('leaves no complete-looking bundle for the incident in progress; the rerun finishes it', async () => {
    const bin = path.join(ROOT, 'bin', 'aliscrub.js');
    expect(existsSync(path.join(ROOT, 'dist', 'bulk', 'archive.js')), 'run npm run build first').toBe(true);
    const kroot = path.join(work, 'kroot');
    await makeBulkFixture(kroot, { bigMb: 4 });
    const kout = path.join(work, 'kout');
    const kstate = path.join(work, 'kstate');
    const child = spawn(process.execPath, [bin, 'archive', kroot, '--out', kout, '--state', kstate, '--jobs', '1', '-q'], { stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Kill as soon as inc-alpha (first, with the big file) is being staged.
    const deadline = Date.now() + 60_000;
    let staged = false;
    while (Date.now() < deadline) {
      if (existsSync(kout) && readdirSync(kout).some((n) => n.startsWith('.inc-alpha.zip.aliscrub-'))) {
        staged = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    child.kill('SIGKILL');
    await exited;
    expect(staged).toBe(true);
    expect(existsSync(path.join(kout, 'inc-alpha.zip'))).toBe(false);
    expect(existsSync(path.join(kout, 'inc-alpha'))).toBe(false);
    // Whatever is visible is listed in the index and verifies.
    const visible = readdirSync(kout).filter((n) => n.endsWith('.zip'));
    const listed = existsSync(path.join(kout, 'index.json')) ? readIndex(kout).incidents.flatMap((e) => e.bundles.map((b) => b.file)) : [];
    for (const v of visible) expect(listed).toContain(v);

    const res = await archive({ inputs: [kroot], cwd: work, outDir: kout, stateDir: kstate });
    expect(res.outcomes.find((o) => o.entry.incident === 'inc-alpha')!.action).toBe('done');
    expect(res.outcomes.find((o) => o.entry.incident === 'inc-alpha')!.entry.status).toBe('ok');
    expect((await verifyBundle(path.join(kout, 'inc-alpha.zip'))).ok).toBe(true);
    expect(readdirSync(kout).filter((n) => n.startsWith('.'))).toEqual([]);
  }, 180_000);
});
