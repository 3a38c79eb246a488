/**
 * Worker threads change speed only: a run on N threads gives the same bundle, byte for byte, and
 * the same manifest as a run in the main thread, and per-file failures inside a worker still
 * become `failed` records with their warning (fail closed).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync, mkdirSync } from 'node:fs';
import { getEventListeners } from 'node:events';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pack, scan } from '../src/run.js';
import { writeZip } from '../src/bundle/zip.js';
import { SpareWorker, WorkerPool, type PoolJob } from '../src/parallel/pool.js';
import { THREADS_MIN_BYTES, wantsSpareWorker } from '../src/parallel/spare.js';
import { SAMPLE } from './helpers/paths.js';
import { cli } from './helpers/cli.js';

const work = mkdtempSync(path.join(tmpdir(), 'aliscrub-parallel-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const key = Buffer.alloc(32, 9);
const epoch = 1_700_000_000;

/** The sample incident plus a file that cannot be decoded and a .gz log. */
function inputs(): string {
  const dir = path.join(work, 'in');
  cpSync(SAMPLE, dir, { recursive: true });
  mkdirSync(path.join(dir, 'extra'), { recursive: true });
  writeFileSync(path.join(dir, 'extra', 'broken.log'), Buffer.concat([Buffer.from('ok line\n'), Buffer.from([0xc3, 0x28]), Buffer.from('\n')]));
  return dir;
}

describe('worker threads', () => {
  const dir = inputs();

  it('pack on 1, 2 and 3 threads writes byte-identical bundles', async () => {
    const shas: string[] = [];
    for (const threads of [1, 2, 3]) {
      const warnings: string[] = [];
      const out = path.join(work, `b${threads}.zip`);
      const res = await pack({ inputs: [dir], cwd: work, key, threads, sourceDateEpoch: epoch, log: { warn: (l) => warnings.push(l), info: () => {} } }, out);
      shas.push(res.sha256!);
      expect(res.threads).toBe(threads);
      // The undecodable file is left out with its reason, and the warning reaches the main log.
      const broken = res.manifest.files.find((f) => f.path.endsWith('broken.log'));
      expect(broken?.status).toBe('failed');
      expect(warnings.some((w) => w.includes('broken.log'))).toBe(true);
      expect(readFileSync(out).length).toBe(res.bytes);
    }
    expect(new Set(shas).size).toBe(1);
  });

  it('scan on 2 threads reports the same manifest as in the main thread', async () => {
    const one = await scan({ inputs: [dir], cwd: work, key, threads: 1, sourceDateEpoch: epoch });
    const two = await scan({ inputs: [dir], cwd: work, key, threads: 2, sourceDateEpoch: epoch });
    expect([one.threads, two.threads]).toEqual([1, 2]);
    expect(two.manifest).toEqual(one.manifest);
    expect(one.manifest.totals.findings).toBeGreaterThan(100);
  });
});

describe("a library caller's signal", () => {
  it('with concurrency above 10, gets no MaxListenersExceededWarning and is left with no listener of the run', async () => {
    const dir = path.join(work, 'many');
    mkdirSync(dir, { recursive: true });
    for (let i = 0; i < 24; i++) writeFileSync(path.join(dir, `f${i}.log`), `line ${i}\n`.repeat(2000));
    const seen: Error[] = [];
    const onWarning = (w: Error): void => void seen.push(w);
    process.on('warning', onWarning);
    const controller = new AbortController();
    try {
      await scan({ inputs: [dir], cwd: work, key, threads: 1, concurrency: 16, signal: controller.signal });
      await pack({ inputs: [dir], cwd: work, key, threads: 1, concurrency: 16, signal: controller.signal }, path.join(work, 'many.zip'));
      // Warnings are emitted on a later tick.
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      process.off('warning', onWarning);
    }
    expect(seen.map((w) => w.name)).not.toContain('MaxListenersExceededWarning');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});

describe('deflating where files are redacted', () => {
  it('gives byte-identical bundles on 1 and 2 threads at levels 0 and 9 (archive members, .gz, unscanned binaries, images)', async () => {
    const dir = path.join(work, 'mixed');
    cpSync(SAMPLE, dir, { recursive: true });
    // Several deflate blocks per file; members of an archive arrive in chunks of their own.
    const long = Buffer.from(Array.from({ length: 6000 }, (_, i) => `2025-01-01T00:00:${String(i % 60).padStart(2, '0')}Z INFO request ${i} from 203.0.113.${i % 250} ok\n`).join(''));
    writeFileSync(path.join(dir, 'long.log'), long);
    writeFileSync(path.join(dir, 'long.log.gz'), gzipSync(long));
    writeFileSync(path.join(dir, 'blob.bin'), Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7919) & 0xff)));
    const inner = readFileSync(path.join(SAMPLE, 'logs', 'app.log'));
    await writeZip(path.join(dir, 'member.zip'), [{ name: 'a/app.log', data: inner }, { name: 'long.log', data: long }, { name: 'shot.png', file: path.join(SAMPLE, 'screenshots', 'console-error.png') }], new Date(epoch * 1000));
    for (const zipLevel of [0, 9]) {
      const shas = new Set<string>();
      for (const threads of [1, 2]) {
        const res = await pack({ inputs: [dir], cwd: work, key, threads, zipLevel, sourceDateEpoch: epoch, includeUnscanned: ['**/*.bin'] }, path.join(work, `mixed-${zipLevel}-${threads}.zip`));
        expect(res.threads).toBe(threads);
        expect(res.manifest.files.find((f) => f.path === 'blob.bin')?.status).toBe('unscanned');
        expect(res.manifest.files.find((f) => f.path === 'member.zip!/shot.png')?.status).toBe('stripped');
        shas.add(res.sha256!);
      }
      expect(shas.size, `level ${zipLevel}`).toBe(1);
      const verified = await cli(['verify', path.join(work, `mixed-${zipLevel}-2.zip`)], { cwd: work });
      expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    }
  });
});

describe('pack --level and --threads', () => {
  it('level 0 stores, level 9 compresses; both bundles hold the same files', async () => {
    const sizes: number[] = [];
    for (const level of ['0', '9']) {
      const r = await cli(['pack', SAMPLE, '--out', path.join(work, `l${level}.zip`), '--level', level, '--threads', '2'], { cwd: work });
      expect(r.code, r.stderr).toBe(0);
      sizes.push(readFileSync(path.join(work, `l${level}.zip`)).length);
    }
    expect(sizes[0]!).toBeGreaterThan(sizes[1]! * 2);
  });

  it('rejects a level outside 0-9 and a negative thread count, naming the flag, writing nothing', async () => {
    const bad = await cli(['pack', SAMPLE, '--out', path.join(work, 'bad.zip'), '--level', '12'], { cwd: work });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--level');
    const neg = await cli(['scan', SAMPLE, '--threads', '-1'], { cwd: work });
    expect(neg.code).toBe(2);
    expect(neg.stderr).toContain('--threads');
    expect(() => readFileSync(path.join(work, 'bad.zip'))).toThrow();
  });
});

describe('worker pool', () => {
  // Jobs are posted before a worker has started, so a worker that fails while starting must
  // still answer every job, sent or not yet sent, with its error instead of leaving it waiting.
  it('rejects every job when a worker fails to start, including jobs queued behind it', async () => {
    const pool = new WorkerPool(1, 1, null, 2);
    const entry = { path: 'a.log', absolutePath: path.join(work, 'missing.log'), size: 1, mtimeMs: 0 } as unknown as PoolJob['entry'];
    const jobs = Array.from({ length: 6 }, () => pool.run({ entry, name: 'a.log' }));
    const settled = await Promise.allSettled(jobs);
    expect(settled.map((s) => s.status)).toEqual(Array(6).fill('rejected'));
    // A job sent after the failure is refused too, not posted to a worker that is gone.
    const late = await Promise.race([pool.run({ entry, name: 'a.log' }).then(() => 'done', () => 'rejected'), new Promise((r) => setTimeout(() => r('waiting'), 2000))]);
    expect(late).toBe('rejected');
    await pool.close();
  });
});

describe('a spare worker (started before the run knows it wants threads)', () => {
  const dir = inputs();

  it('is taken as the first worker of a threaded run, which reports the same manifest', async () => {
    const one = await scan({ inputs: [dir], cwd: work, key, threads: 1, sourceDateEpoch: epoch });
    const spare = new SpareWorker();
    const two = await scan({ inputs: [dir], cwd: work, key, threads: 2, sourceDateEpoch: epoch, spareWorker: spare });
    expect(spare.state).toBe('taken');
    expect(two.threads).toBe(2);
    expect(two.manifest).toEqual(one.manifest);
  });

  it('is stopped by a run without threads', async () => {
    const spare = new SpareWorker();
    await scan({ inputs: [dir], cwd: work, key, threads: 1, sourceDateEpoch: epoch, spareWorker: spare });
    expect(spare.state).toBe('closed');
    expect(spare.take({ init: null, perWorker: 1 })).toBeUndefined();
  });

  it('started with an engine that fails, rejects every job, as a fresh worker would', async () => {
    const spare = new SpareWorker();
    const pool = new WorkerPool(1, 1, null, 2, spare);
    expect(spare.state).toBe('taken');
    const entry = { path: 'a.log', absolutePath: path.join(work, 'missing.log'), size: 1, mtimeMs: 0 } as unknown as PoolJob['entry'];
    const settled = await Promise.allSettled(Array.from({ length: 4 }, () => pool.run({ entry, name: 'a.log' })));
    expect(settled.map((s) => s.status)).toEqual(Array(4).fill('rejected'));
    await pool.close();
  });

  it('is started only for scan, redact and pack, on two or more cores, without --threads 1 or --help', () => {
    const big = path.join(work, 'spare-big');
    mkdirSync(big, { recursive: true });
    writeFileSync(path.join(big, 'a.log'), Buffer.alloc(THREADS_MIN_BYTES, 0x61));
    writeFileSync(path.join(big, 'b.log'), 'x');
    expect(wantsSpareWorker(['scan', 'spare-big'], 2, work)).toBe(true);
    expect(wantsSpareWorker(['pack', 'spare-big', '--out', 'b.zip', '--threads', '2'], 8, work)).toBe(true);
    expect(wantsSpareWorker(['redact', 'spare-big', '--out-dir', 'o'], 2, work)).toBe(true);
    expect(wantsSpareWorker(['scan', 'spare-big'], 1, work)).toBe(false);
    expect(wantsSpareWorker(['scan', 'spare-big', '--threads', '1'], 2, work)).toBe(false);
    expect(wantsSpareWorker(['scan', '--threads=1', 'spare-big'], 2, work)).toBe(false);
    expect(wantsSpareWorker(['scan', '--help'], 2, work)).toBe(false);
    expect(wantsSpareWorker(['archive', 'spare-big', '--out-dir', 'o'], 2, work)).toBe(false);
    expect(wantsSpareWorker(['detectors'], 2, work)).toBe(false);
    expect(wantsSpareWorker([], 2, work)).toBe(false);
  });

  it('is not started for inputs known to be small or one file; a glob or a large tree counts as large', () => {
    const small = path.join(work, 'spare-small');
    mkdirSync(path.join(small, 'sub'), { recursive: true });
    writeFileSync(path.join(small, 'a.log'), Buffer.alloc(THREADS_MIN_BYTES / 2, 0x61));
    writeFileSync(path.join(small, 'sub', 'b.log'), Buffer.alloc(THREADS_MIN_BYTES / 2 - 1, 0x61));
    // Under the threshold by one byte; the arguments that are no path (flags' values) are ignored.
    expect(wantsSpareWorker(['scan', 'spare-small', '--format', 'json'], 2, work)).toBe(false);
    expect(wantsSpareWorker(['scan', path.join(small, 'a.log')], 2, '/')).toBe(false);
    // One file is one thread, however large.
    writeFileSync(path.join(work, 'spare-one.log'), Buffer.alloc(2 * THREADS_MIN_BYTES, 0x61));
    expect(wantsSpareWorker(['scan', 'spare-one.log'], 2, work)).toBe(false);
    writeFileSync(path.join(small, 'sub', 'c.log'), 'x');
    expect(wantsSpareWorker(['scan', 'spare-small'], 2, work)).toBe(true);
    expect(wantsSpareWorker(['scan', 'spare-small/*.log'], 2, work)).toBe(true);
    const many = path.join(work, 'spare-many');
    mkdirSync(many, { recursive: true });
    for (let i = 0; i < 300; i++) writeFileSync(path.join(many, `${i}.log`), 'x');
    expect(wantsSpareWorker(['scan', 'spare-many'], 2, work)).toBe(true);
  });
});
