/**
 * `aliscrub archive`: one bundle per incident from a generated root (folders and archives, one
 * with a corrupt archive), index.json/index.csv, resumability (an unchanged rerun does no work, a
 * changed file redoes only its incident), byte-identical output for the same inputs + state, and a
 * SIGKILL mid-run that leaves no complete-looking bundle for the incident in progress.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { archive } from '../src/bulk/archive.js';
import type { ArchiveOptions } from '../src/bulk/archive.js';
import type { ArchiveIndex } from '../src/bulk/index-file.js';
import { createBulkProgress } from '../src/bulk/progress.js';
import { verifyBundle } from '../src/verify.js';
import { cli } from './helpers/cli.js';
// @ts-expect-error plain ESM fixture generator without types
import { makeBulkFixture, PLANTED } from '../fixtures/bulk/make.mjs';

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

  it('an incident archive of which nothing can be read is failed (no bundle) and retried by the rerun', async () => {
    const r3 = path.join(work, 'root3');
    await makeBulkFixture(r3);
    const fixed = new Date(Date.UTC(2026, 10, 1, 8, 0, 0));
    // Top-level incident archives that are corrupt: a zip header followed by junk, and garbage gzip.
    writeFileSync(path.join(r3, 'inc-epsilon.zip'), Buffer.concat([Buffer.from('PK\x03\x04\x14\x00\x00\x00'), Buffer.alloc(300, 0x5a)]));
    writeFileSync(path.join(r3, 'inc-zeta.tar.gz'), Buffer.from([0x1f, 0x8b, 0x08, 0x00, ...Buffer.alloc(120, 0x33)]));
    for (const f of ['inc-epsilon.zip', 'inc-zeta.tar.gz']) utimesSync(path.join(r3, f), fixed, fixed);
    const o3 = path.join(work, 'out3');
    const { code, stdout, stderr } = await cli(['archive', 'root3', '--out', 'out3', '--state', 'state', '-q'], { cwd: work, env: { SOURCE_DATE_EPOCH: '1700000000' } });
    expect(code).toBe(1);
    expect(stdout).toContain('inc-epsilon: failed');
    expect(stdout).toContain('inc-zeta: failed');
    const index = readIndex(o3);
    expect(index.incidents.map((e) => [e.incident, e.status])).toEqual([
      ['inc-alpha', 'ok'],
      ['inc-beta', 'partial'],
      ['inc-delta', 'ok'],
      ['inc-epsilon', 'failed'],
      ['inc-gamma', 'ok'],
      ['inc-zeta', 'failed'],
    ]);
    for (const name of ['inc-epsilon', 'inc-zeta']) {
      const e = index.incidents.find((x) => x.incident === name)!;
      expect(e.bundles).toEqual([]);
      expect(e.message).toMatch(/nothing could be read/);
      expect(existsSync(path.join(o3, `${name}.zip`))).toBe(false);
      expect(existsSync(path.join(o3, name))).toBe(false);
    }
    for (const e of index.incidents.filter((x) => x.status !== 'failed')) expect((await verifyBundle(path.join(o3, e.bundles[0]!.file))).problems).toEqual([]);
    for (const v of PLANTED as string[]) expect(stdout + stderr + readFileSync(path.join(o3, 'index.json'), 'utf8')).not.toContain(v);
    // The rerun retries the failed incidents and leaves the others alone.
    const res = await archive(opts({ inputs: [r3], outDir: o3 }));
    expect(res.outcomes.map((o) => [o.entry.incident, o.action, o.entry.status])).toEqual([
      ['inc-alpha', 'unchanged', 'ok'],
      ['inc-beta', 'unchanged', 'partial'],
      ['inc-delta', 'unchanged', 'ok'],
      ['inc-epsilon', 'done', 'failed'],
      ['inc-gamma', 'unchanged', 'ok'],
      ['inc-zeta', 'done', 'failed'],
    ]);
  });

  it('--incident-glob matching nothing warns and exits 1', async () => {
    const r = await cli(['archive', 'root', '--out', 'out-glob', '--state', 'state', '--incident-glob', 'nope-*', '-q'], { cwd: work });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("no incident matches --incident-glob 'nope-*'");
    const ok = await cli(['archive', 'root', '--out', 'out-glob', '--state', 'state', '--incident-glob', 'inc-gam*', '-q'], { cwd: work });
    expect(ok.code).toBe(0);
    expect(ok.stderr).not.toContain('no incident matches');
    expect(readIndex(path.join(work, 'out-glob')).incidents.map((e) => e.incident)).toEqual(['inc-gamma']);
  });

  it('refuses a state folder inside an input, and --key-file', async () => {
    await expect(archive(opts({ stateDir: path.join(root, 'inc-alpha', 'st') }))).rejects.toThrow(/outside every input/);
    const r = await cli(['archive', 'root', '--out', 'out', '--state', 'state', '--key-file', 'x'], { cwd: work });
    expect(r.code).toBe(2);
  });
});

/**
 * Runs the CLI with `args` and SIGKILLs it as soon as an entry of `dir` satisfies `seen` (polled
 * every 10 ms, for at most 60 s). True when that happened before the kill.
 */
async function killWhen(bin: string, args: string[], dir: string, seen: (name: string) => boolean): Promise<boolean> {
  const child = spawn(process.execPath, [bin, ...args], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const deadline = Date.now() + 60_000;
  let held = false;
  while (Date.now() < deadline) {
    if (existsSync(dir) && readdirSync(dir).some(seen)) {
      held = true;
      break;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  child.kill('SIGKILL');
  await exited;
  return held;
}

describe('archive: interrupted by SIGKILL', () => {
  it('leaves no complete-looking bundle for the incident in progress; the rerun finishes it', async () => {
    const bin = path.join(ROOT, 'bin', 'aliscrub.js');
    expect(existsSync(path.join(ROOT, 'dist', 'bulk', 'archive.js')), 'run npm run build first').toBe(true);
    const kroot = path.join(work, 'kroot');
    await makeBulkFixture(kroot, { bigMb: 4 });
    const kout = path.join(work, 'kout');
    const kstate = path.join(work, 'kstate');
    // Kill as soon as inc-alpha (first, with the big file) is being staged.
    const staged = await killWhen(bin, ['archive', kroot, '--out', kout, '--state', kstate, '--jobs', '1', '-q'], kout, (n) => n.startsWith('.inc-alpha.zip.aliscrub-'));
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

describe('archive: SIGKILL while redoing a changed incident', () => {
  it('the old bundle no longer looks current; the rerun redoes the incident', async () => {
    const bin = path.join(ROOT, 'bin', 'aliscrub.js');
    expect(existsSync(path.join(ROOT, 'dist', 'bulk', 'archive.js')), 'run npm run build first').toBe(true);
    const rroot = path.join(work, 'rroot');
    await makeBulkFixture(rroot, { bigMb: 4 });
    const rout = path.join(work, 'rout');
    const rstate = path.join(work, 'rstate');
    const first = await cli(['archive', rroot, '--out', rout, '--state', rstate, '-q'], { cwd: work });
    expect(first.code).toBe(1); // inc-beta is partial
    const oldSha = readIndex(rout).incidents.find((e) => e.incident === 'inc-alpha')!.bundles[0]!.sha256;
    expect(existsSync(path.join(rout, 'inc-alpha.zip'))).toBe(true);

    appendFileSync(path.join(rroot, 'inc-alpha', 'notes.txt'), 'one more line\n');
    // Kill as soon as the redo of inc-alpha is being staged.
    const staged = await killWhen(bin, ['archive', rroot, '--out', rout, '--state', rstate, '--jobs', '1', '-q'], rout, (n) => n.startsWith('.inc-alpha.zip.aliscrub-') && !n.includes('-old-'));
    expect(staged).toBe(true);
    // No visible bundle for inc-alpha, and the index does not call it ok.
    expect(existsSync(path.join(rout, 'inc-alpha.zip'))).toBe(false);
    expect(existsSync(path.join(rout, 'inc-alpha'))).toBe(false);
    const alphaAfterKill = readIndex(rout).incidents.find((e) => e.incident === 'inc-alpha');
    expect(alphaAfterKill === undefined || alphaAfterKill.status === 'failed').toBe(true);
    // Whatever is visible is listed in the index.
    const listed = readIndex(rout).incidents.flatMap((e) => e.bundles.map((b) => b.file));
    for (const v of readdirSync(rout).filter((n) => n.endsWith('.zip'))) expect(listed).toContain(v);

    const res = await cli(['archive', rroot, '--out', rout, '--state', rstate, '--verbose'], { cwd: work });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('incident inc-alpha: ok');
    const alpha = readIndex(rout).incidents.find((e) => e.incident === 'inc-alpha')!;
    expect(alpha.status).toBe('ok');
    expect(alpha.bundles[0]!.sha256).not.toBe(oldSha);
    expect((await verifyBundle(path.join(rout, 'inc-alpha.zip'))).ok).toBe(true);
    expect(readdirSync(rout).filter((n) => n.startsWith('.'))).toEqual([]);
  }, 180_000);
});

describe('archive: progress bar', () => {
  it('shows the number of incidents, not bytes, as the incident total', async () => {
    let text = '';
    const bar = createBulkProgress({ write: (t) => (text += t), columns: 200, delayMs: 0 });
    bar.onPlanned(3, 18_071_184);
    await new Promise((r) => setTimeout(r, 50));
    bar.onBytes(6_000_000);
    bar.onIncidentDone();
    bar.stop();
    expect(text).toContain('0/3 incidents');
    expect(text).toContain('/18.1 MB');
    expect(text).not.toContain('18071184 incidents');
  });
});
