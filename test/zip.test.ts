/**
 * The zip writer (src/bundle/zip.ts) and entry compression (src/bundle/deflate.ts): zips that
 * unzipper, Python's zipfile and `unzip -t` read back (the tools are skipped where absent),
 * stored entries at level 0, Zip64 (forced, and from more than 65 535 entries), byte-identical
 * output whatever the order of entries and however the input of an entry was chunked, and no zip
 * left behind when an entry's data is not what was recorded.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32, createDeflateRaw, inflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import unzipper from 'unzipper';
import { afterAll, describe, expect, it } from 'vitest';
import { createPacker, DEFLATE_BLOCK, packBuffer, PackedTable } from '../src/bundle/deflate.js';
import type { PackedData } from '../src/bundle/deflate.js';
import { writeZip } from '../src/bundle/zip.js';
import type { ZipEntry } from '../src/bundle/zip.js';

const work = mkdtempSync(path.join(tmpdir(), 'aliscrub-zip-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const when = new Date(1_700_000_000_000);

const has = (cmd: string, args: string[]): boolean => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
const hasUnzip = has('unzip', ['-v']);
const hasPython = has('python3', ['-c', 'import zipfile']);

async function readBack(file: string): Promise<Map<string, Buffer>> {
  const dir = await unzipper.Open.file(file);
  const out = new Map<string, Buffer>();
  for (const f of dir.files) out.set(f.path, await f.buffer());
  return out;
}

/** Python's view: testzip() result (null = every CRC checks), entry count, compression methods used. */
function python(file: string): { bad: string | null; count: number; methods: number[] } {
  const script = 'import sys,json,zipfile\nz=zipfile.ZipFile(sys.argv[1])\nprint(json.dumps({"bad":z.testzip(),"count":len(z.infolist()),"methods":sorted({i.compress_type for i in z.infolist()})}))';
  return JSON.parse(execFileSync('python3', ['-c', script, file], { maxBuffer: 64 * 1024 * 1024 }).toString()) as { bad: string | null; count: number; methods: number[] };
}

function unzipTest(file: string): string {
  return execFileSync('unzip', ['-tq', file], { maxBuffer: 64 * 1024 * 1024 }).toString();
}

/** Some text that compresses, `n` bytes long. */
function text(n: number, seed = 1): Buffer {
  const out = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    out[i] = i % 61 === 60 ? 0x0a : 0x61 + ((x >> 16) % 8);
  }
  return out;
}

/** Runs `data`, cut at `cuts`, through a packer into memory. */
async function packChunks(data: Buffer, cuts: number[], level: number): Promise<{ out: Buffer; info: PackedData }> {
  const bounds = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let at = 0;
  for (const b of [...bounds, data.length]) {
    if (b > at) chunks.push(data.subarray(at, b));
    at = Math.max(at, b);
  }
  const packer = createPacker(level);
  const parts: Buffer[] = [];
  await pipeline([Readable.from(chunks, { objectMode: false }), ...packer.stages, new Writable({ write: (c: Buffer, _e, cb) => (parts.push(c), cb()) })]);
  return { out: Buffer.concat(parts), info: packer.result() };
}

/** A packed entry on disk, made the way `pack` makes them. */
async function packedFile(name: string, data: Buffer, level: number): Promise<ZipEntry> {
  const { out, info } = await packChunks(data, [7, 1000, 70_000], level);
  const file = path.join(work, `${name.replace(/\W/g, '_')}.${level}.packed`);
  writeFileSync(file, out);
  return { name, packed: { ...info, file } };
}

describe('entry compression', () => {
  it('gives the same bytes however the input is chunked, and they inflate back to it', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 3 * DEFLATE_BLOCK + 500 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.constantFrom(1, 6, 9),
        async (size, cutsA, cutsB, level) => {
          const data = text(size, size + 1);
          const a = await packChunks(data, cutsA, level);
          const b = await packChunks(data, cutsB, level);
          expect(b.out.equals(a.out)).toBe(true);
          expect(a.info).toEqual({ crc32: crc32(data) >>> 0, size, compressedSize: a.out.length, method: 8 });
          expect(inflateRawSync(a.out).equals(data)).toBe(true);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('one block or less is deflated in one call: the bytes a zlib stream gives for the same blocks', async () => {
    for (const size of [0, 1, 500, DEFLATE_BLOCK - 1, DEFLATE_BLOCK, DEFLATE_BLOCK + 1, 2 * DEFLATE_BLOCK + 7])
      for (const level of [1, 6, 9]) {
        const data = text(size, size + 3);
        const { out } = await packChunks(data, [5, 4000], level);
        // Reference: one zlib stream fed the same 64 KiB blocks, as before the one-call path.
        const z = createDeflateRaw({ level, chunkSize: DEFLATE_BLOCK });
        const parts: Buffer[] = [];
        const blocks = Array.from({ length: Math.ceil(size / DEFLATE_BLOCK) }, (_, i) => data.subarray(i * DEFLATE_BLOCK, (i + 1) * DEFLATE_BLOCK));
        await pipeline([Readable.from(blocks, { objectMode: false }), z, new Writable({ write: (c: Buffer, _e, cb) => (parts.push(c), cb()) })]);
        expect(out.equals(Buffer.concat(parts))).toBe(true);
      }
  });

  it('stores at level 0: entry data is the input, CRC and sizes still recorded', async () => {
    const data = text(100_000);
    const { out, info } = await packChunks(data, [3, 99], 0);
    expect(out.equals(data)).toBe(true);
    expect(info).toEqual({ crc32: crc32(data) >>> 0, size: data.length, compressedSize: data.length, method: 0 });
    expect((await packBuffer(data, 0)).data).toBe(data);
  });

  it('refuses a level outside 0-9', () => {
    expect(() => createPacker(10)).toThrow(/level/);
    expect(() => createPacker(1.5)).toThrow(/level/);
  });
});

describe('PackedTable', () => {
  it('gives back exactly what was recorded by name, across growth, with the last value of a name kept', () => {
    // 5000 names: the table grows past its first 1024 slots several times. CRCs above 2^31 and
    // sizes above 2^32 must come back unchanged.
    const table = new PackedTable();
    const expected = new Map<string, PackedData>();
    const info = (k: number, round: number): PackedData => ({
      crc32: (k * 2_654_435_761 + round) >>> 0,
      size: k * 1_000_003 + 2 ** 32 * (k % 3),
      compressedSize: k * 999_983 + round,
      method: k % 2 === 0 ? 8 : 0,
    });
    for (let k = 0; k < 5000; k++) {
      table.set(`evidence-${k}.log`, info(k, 0));
      expected.set(`evidence-${k}.log`, info(k, 0));
    }
    for (let k = 0; k < 5000; k += 7) {
      table.set(`evidence-${k}.log`, info(k, 1));
      expected.set(`evidence-${k}.log`, info(k, 1));
    }
    expect([...expected.values()].some((x) => x.crc32 >= 2 ** 31)).toBe(true);
    for (const [name, want] of expected) expect(table.at(table.slot(name)!)).toEqual(want);
    expect(table.slot('never-set.log')).toBeUndefined();
  });
});

describe('writeZip', () => {
  const big = text(300_000, 7);
  const plainFile = path.join(work, 'plain.log');
  writeFileSync(plainFile, big);
  const contents = new Map<string, Buffer>([
    ['REDACTIONS.md', Buffer.from('# summary\n')],
    ['evidence/app.log', big],
    ['evidence/empty.txt', Buffer.alloc(0)],
    ['evidence/日志/ünïcode.log', Buffer.from('名前 line\n'.repeat(50))],
    ['manifest.json', Buffer.from('{"files":[]}\n')],
  ]);
  /** The same contents as plain file/buffer entries, or with evidence packed beforehand. */
  async function entries(level: number, packed: boolean): Promise<ZipEntry[]> {
    const out: ZipEntry[] = [];
    for (const [name, data] of contents) {
      if (name === 'evidence/app.log') out.push(packed ? await packedFile(name, data, level) : { name, file: plainFile });
      else if (packed && name.startsWith('evidence/')) out.push(await packedFile(name, data, level));
      else out.push({ name, data });
    }
    return out.reverse(); // the writer sorts
  }

  for (const level of [0, 6]) {
    it(`level ${level}: standard readers read every entry back${level === 0 ? ', all stored' : ''}`, async () => {
      const file = path.join(work, `l${level}.zip`);
      const res = await writeZip(file, await entries(level, true), when, level);
      expect(readFileSync(file).length).toBe(res.bytes);
      const back = await readBack(file);
      expect([...back.keys()]).toEqual([...contents.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
      for (const [name, data] of contents) expect(back.get(name)!.equals(data), name).toBe(true);
      if (hasPython) {
        const py = python(file);
        expect(py.bad).toBeNull();
        expect(py.count).toBe(contents.size);
        expect(py.methods).toEqual(level === 0 ? [0] : [8]);
      }
      if (hasUnzip) expect(unzipTest(file)).toContain('No errors detected');
    });
  }

  it('packed entries give the same zip as the same files deflated by the writer; order of entries does not matter', async () => {
    const a = await writeZip(path.join(work, 'same-a.zip'), await entries(6, true), when, 6);
    const b = await writeZip(path.join(work, 'same-b.zip'), await entries(6, false), when, 6);
    const c = await writeZip(path.join(work, 'same-c.zip'), (await entries(6, false)).reverse(), when, 6);
    expect(b.sha256).toBe(a.sha256);
    expect(c.sha256).toBe(a.sha256);
    // The writer's scratch folder is gone.
    expect(readdirSync(work).filter((n) => n.includes('.deflate-'))).toEqual([]);
  });

  it('writes Zip64 records when forced, and readers still read it', async () => {
    const file = path.join(work, 'z64.zip');
    await writeZip(file, await entries(6, true), when, 6, { forceZip64: true });
    const bytes = readFileSync(file);
    expect(bytes.indexOf(Buffer.from([0x50, 0x4b, 0x06, 0x06]))).toBeGreaterThan(0); // Zip64 end record
    expect(bytes.indexOf(Buffer.from([0x50, 0x4b, 0x06, 0x07]))).toBeGreaterThan(0); // and its locator
    const back = await readBack(file);
    for (const [name, data] of contents) expect(back.get(name)!.equals(data), name).toBe(true);
    if (hasPython) expect(python(file)).toMatchObject({ bad: null, count: contents.size });
    if (hasUnzip) expect(unzipTest(file)).toContain('No errors detected');
  });

  it('switches to Zip64 by itself above 65 535 entries', async () => {
    const n = 70_000;
    const many: ZipEntry[] = Array.from({ length: n }, (_, i) => ({ name: `evidence/${String(i).padStart(6, '0')}.txt`, data: Buffer.from(`line ${i}\n`) }));
    const file = path.join(work, 'many.zip');
    await writeZip(file, many, when, 6);
    const bytes = readFileSync(file);
    expect(bytes.readUInt16LE(bytes.length - 22 + 10)).toBe(0xffff); // end record defers to Zip64
    const dir = await unzipper.Open.file(file);
    expect(dir.files.length).toBe(n);
    expect((await dir.files[n - 1]!.buffer()).toString()).toBe(`line ${n - 1}\n`);
    if (hasPython) expect(python(file)).toMatchObject({ bad: null, count: n });
    if (hasUnzip) expect(unzipTest(file)).toContain('No errors detected');
  }, 120_000);

  it('fails, leaving no zip, when a packed file is not the size recorded for it', async () => {
    const good = await packedFile('evidence/a.log', text(5000), 6);
    if (!('packed' in good)) throw new Error('expected a packed entry');
    const file = path.join(work, 'short.zip');
    await expect(writeZip(file, [{ name: good.name, packed: { ...good.packed, compressedSize: good.packed.compressedSize + 1 } }], when, 6)).rejects.toThrow(/shorter/);
    expect(existsSync(file)).toBe(false);
    await expect(writeZip(file, [{ name: good.name, packed: { ...good.packed, compressedSize: good.packed.compressedSize - 1 } }], when, 6)).rejects.toThrow(/longer/);
    expect(existsSync(file)).toBe(false);
  });

  it('entry data comes back intact and in place, small and large entries mixed', async () => {
    // 40 entries: small ones are read one after another into the same buffer, one is past that
    // size (random bytes do not compress: ~400 KiB of entry data) and is streamed instead.
    const contents = new Map<string, Buffer>();
    for (let i = 0; i < 40; i++) contents.set(`evidence/f${String(i).padStart(2, '0')}.log`, i === 17 ? randomBytes(400 * 1024) : text(100 + 37 * i));
    const entries = await Promise.all([...contents].map(([name, data]) => packedFile(name, data, 6)));
    expect(entries.some((e) => 'packed' in e && e.packed.compressedSize > 256 * 1024)).toBe(true);
    const file = path.join(work, 'ahead.zip');
    await writeZip(file, entries, when, 6);
    expect(await readBack(file)).toEqual(contents);
  });

  it('fails, leaving no zip, when a packed file deep in the list is cut short', async () => {
    const entries: ZipEntry[] = [];
    for (let i = 0; i < 20; i++) entries.push(await packedFile(`evidence/g${String(i).padStart(2, '0')}.log`, text(300 + i), 6));
    const bad = entries[15]!;
    if (!('packed' in bad)) throw new Error('expected a packed entry');
    entries[15] = { name: bad.name, packed: { ...bad.packed, compressedSize: bad.packed.compressedSize + 1 } };
    const file = path.join(work, 'deep-short.zip');
    await expect(writeZip(file, entries, when, 6)).rejects.toThrow(/g15.*shorter/);
    expect(existsSync(file)).toBe(false);
  });

  it('refuses to replace an existing file', async () => {
    const file = path.join(work, 'exists.zip');
    writeFileSync(file, 'x');
    await expect(writeZip(file, [{ name: 'a', data: Buffer.from('a') }], when)).rejects.toThrow(/EEXIST/);
    expect(readFileSync(file, 'utf8')).toBe('x');
  });
});
