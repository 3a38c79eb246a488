/**
 * Writes a deterministic zip: entries in byte order of their names, one fixed timestamp (UTC DOS
 * time), fixed file modes (0644), UTF-8 names, no data descriptors (every size is known before
 * its local header is written), Zip64 records only where a size, an offset or the entry count
 * needs them. Same entries + same date + same level ⇒ same bytes.
 *
 * Entry data is compressed before assembly: `packed` entries were deflated where they were
 * produced (worker threads, see deflate.ts); plain files and buffers are deflated here, a few at
 * a time on zlib's thread pool. Assembly then only copies bytes, so it costs I/O, not CPU.
 */
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, createWriteStream, openSync, readSync } from 'node:fs';
import { mkdtemp, open, rm, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { compareNames } from '../source/collect.js';
import { mapLanes } from '../parallel/lanes.js';
import { checkLevel, createPacker, packBuffer } from './deflate.js';
import type { PackedData } from './deflate.js';

/** A file already in zip entry form: its bytes are the entry data (deflated or stored) described by the rest. */
export interface PackedFile extends PackedData {
  readonly file: string;
}

/**
 * One zip entry: content from a file on disk, from memory, or a file already compressed as
 * entry data (`packed`, written with deflate.ts's {@link createPacker}).
 */
export type ZipEntry = { readonly name: string } & ({ readonly file: string } | { readonly data: Buffer } | { readonly packed: PackedFile });

/** Options for tests and tools. */
export interface ZipOptions {
  /** Write Zip64 fields for every entry and at the end even when nothing needs them (tests). */
  readonly forceZip64?: boolean;
}

/** Deflate level of bundles unless chosen (zlib's default; the same as `zip -6`). */
export const DEFAULT_ZIP_LEVEL = 6;

/** DOS time cannot represent dates before 1980 or after 2107; archiver stopped at 2043, as we do (same bytes as before). */
const DOS_FIRST = Date.UTC(1980, 0, 1, 0, 0, 0);
const DOS_LAST = Date.UTC(2043, 11, 31, 23, 59, 58);

const MAX16 = 0xffff;
const MAX32 = 0xffffffff;
/** General purpose flags: bit 11, names are UTF-8. */
const FLAGS = 0x0800;
/** Version made by: Unix (3), spec 4.5; what archiver wrote. */
const MADE_BY = (3 << 8) | 45;
/** External attributes: regular file, mode 0644, MS-DOS archive bit; what archiver wrote for mode 0644. */
const EXTERNAL_ATTRS = ((0o100644 << 16) | 0x20) >>> 0;
/** Plain entries deflated at once (zlib's thread pool has 4 threads). */
const DEFLATE_LANES = 4;
/** Output is written in pieces of about this many bytes. */
const WRITE_BYTES = 1024 * 1024;
/** Size of the pieces the central directory is built in. */
const CENTRAL_CHUNK = 64 * 1024;
/**
 * Entry data of files up to this size is read with synchronous calls into one reused buffer. With
 * the promise API each file cost four sequential thread-pool round trips and a native handle and
 * request objects that only a GC frees; from the page cache a small file's open, read and close
 * take microseconds, and nothing else runs while the zip is written.
 */
const SMALL_ENTRY_BYTES = 256 * 1024;

/** DOS date (high 16 bits) and time (low 16 bits) of `date` in UTC. */
function dosDateTime(date: Date): { date: number; time: number } {
  const d = new Date(Math.min(Math.max(date.getTime(), DOS_FIRST), DOS_LAST));
  return {
    date: ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | Math.floor(d.getUTCSeconds() / 2),
  };
}

/** An entry ready to be written: name, header facts, and where its entry data is. */
interface Ready {
  readonly name: Buffer;
  readonly info: PackedData;
  /** Entry data in memory, or the file holding exactly the entry data. */
  readonly source: Buffer | string;
}

/**
 * Sequential output with a running sha256, written in pieces of {@link WRITE_BYTES}. Pushed bytes
 * are copied into one reused buffer, so a caller may reuse its own at once (every small entry is
 * read into the same buffer) and no piece is held until the next write.
 */
class Output {
  readonly hash = createHash('sha256');
  offset = 0;
  private readonly buf = Buffer.allocUnsafe(WRITE_BYTES);
  private used = 0;
  private written = 0;

  constructor(private readonly fh: FileHandle) {}

  async push(b: Buffer): Promise<void> {
    if (b.length === 0) return;
    this.hash.update(b);
    this.offset += b.length;
    if (this.used + b.length > this.buf.length) await this.flush();
    if (b.length >= this.buf.length) await this.write(b);
    else {
      b.copy(this.buf, this.used);
      this.used += b.length;
    }
  }

  async flush(): Promise<void> {
    if (this.used === 0) return;
    await this.write(this.buf.subarray(0, this.used));
    this.used = 0;
  }

  private async write(data: Buffer): Promise<void> {
    for (let at = 0; at < data.length; ) {
      const { bytesWritten } = await this.fh.write(data, at, data.length - at, this.written);
      at += bytesWritten;
      this.written += bytesWritten;
    }
  }
}

/**
 * Copies exactly `bytes` from `file` to `out` through `scratch`; a file of another size is an
 * error (it changed or was cut short).
 */
async function copyFile(file: string, bytes: number, out: Output, scratch: Buffer): Promise<void> {
  const fh = await open(file, 'r');
  try {
    let at = 0;
    while (at < bytes) {
      const { bytesRead } = await fh.read(scratch, 0, Math.min(scratch.length, bytes - at), at);
      if (bytesRead === 0) throw new Error(`zip: ${path.basename(file)} is shorter than its recorded size`);
      await out.push(scratch.subarray(0, bytesRead));
      at += bytesRead;
    }
    const { bytesRead } = await fh.read(scratch, 0, 1, bytes);
    if (bytesRead !== 0) throw new Error(`zip: ${path.basename(file)} is longer than its recorded size`);
  } finally {
    await fh.close();
  }
}

/**
 * Reads `file`, which must hold exactly `bytes` bytes (else it changed or was cut short), into
 * `into` (at least `bytes + 1` long: a longer file fills the extra byte). Synchronous: see
 * {@link SMALL_ENTRY_BYTES}.
 */
function readExactSync(file: string, bytes: number, into: Buffer): Buffer {
  const fd = openSync(file, 'r');
  try {
    const end = bytes + 1;
    let at = 0;
    while (at < end) {
      const n = readSync(fd, into, at, end - at, at);
      if (n === 0) break;
      at += n;
    }
    if (at < bytes) throw new Error(`zip: ${path.basename(file)} is shorter than its recorded size`);
    if (at > bytes) throw new Error(`zip: ${path.basename(file)} is longer than its recorded size`);
    return into.subarray(0, bytes);
  } finally {
    closeSync(fd);
  }
}

/**
 * The central directory, built in 64 KiB pieces: one Buffer per record made 100 000 entries
 * cost 100 000 small external allocations held to the end.
 */
class Chunks {
  private readonly full: Buffer[] = [];
  private cur = Buffer.alloc(0);
  private used = 0;

  /** A zero-filled slice of `n` bytes to write one record into. */
  take(n: number): Buffer {
    if (this.used + n > this.cur.length) {
      if (this.used > 0) this.full.push(this.cur.subarray(0, this.used));
      this.cur = Buffer.alloc(Math.max(CENTRAL_CHUNK, n));
      this.used = 0;
    }
    const b = this.cur.subarray(this.used, this.used + n);
    this.used += n;
    return b;
  }

  /** Every piece, in order. */
  done(): Buffer[] {
    return this.used > 0 ? [...this.full, this.cur.subarray(0, this.used)] : this.full;
  }
}

function u64(buf: Buffer, value: number, at: number): void {
  buf.writeBigUInt64LE(BigInt(value), at);
}

/**
 * Writes `entries` to a new zip at `dest` (created exclusively; removed again if writing fails).
 * @param date the timestamp of every entry (clamped to 1980-01-01 … 2043-12-31).
 * @param level deflate level 0 (store) – 9 for `file` and `data` entries; `packed` entries keep theirs.
 * @returns size in bytes and sha256 (hex) of the zip.
 */
export async function writeZip(
  dest: string,
  entries: readonly ZipEntry[],
  date: Date,
  level = DEFAULT_ZIP_LEVEL,
  options: ZipOptions = {},
): Promise<{ bytes: number; sha256: string }> {
  checkLevel(level);
  // Each name is read once: an entry may make it on request (pack's staged files), and sorting by
  // `e.name` would build two names per comparison.
  const unsortedNames = entries.map((e) => e.name);
  const order = Array.from(entries.keys()).sort((a, b) => compareNames(unsortedNames[a]!, unsortedNames[b]!));
  const sorted = order.map((i) => entries[i]!);
  const names = order.map((i) => unsortedNames[i]!);
  unsortedNames.length = 0;
  for (const n of names) if (Buffer.byteLength(n) > MAX16) throw new Error('zip: an entry name is longer than 65535 bytes');
  const dos = dosDateTime(date);
  const force = options.forceZip64 === true;
  let scratch: Promise<string> | undefined;
  let fh: FileHandle | undefined;
  try {
    // Plain files become entry data in a scratch folder next to the zip (stored ones too: one read
    // gives the CRC and the bytes, so a file that changes meanwhile cannot get another's CRC), as
    // the sizes must be known before the local header is written. Packed entries need nothing
    // here: they are described when written, so 100 000 of them cost no object each up front.
    const work: number[] = [];
    for (let i = 0; i < sorted.length; i++) if (!('packed' in sorted[i]!)) work.push(i);
    const prepared = await mapLanes(work, DEFLATE_LANES, async (i): Promise<Ready> => {
      const e = sorted[i]! as Exclude<ZipEntry, { packed: PackedFile }>;
      const name = Buffer.from(names[i]!);
      if ('data' in e) {
        const packed = await packBuffer(e.data, level);
        return { name, info: packed.info, source: packed.data };
      }
      scratch ??= mkdtemp(path.join(path.dirname(dest), `.${path.basename(dest)}.deflate-`));
      const tmp = path.join(await scratch, String(i));
      const packer = createPacker(level);
      await pipeline([createReadStream(e.file, { highWaterMark: WRITE_BYTES }), ...packer.stages, createWriteStream(tmp, { flags: 'wx' })]);
      return { name, info: packer.result(), source: tmp };
    });
    const preparedAt = new Map(work.map((i, k) => [i, prepared[k]!] as const));
    const ready = (i: number): Ready => {
      const e = sorted[i]!;
      if (!('packed' in e)) return preparedAt.get(i)!;
      const { file, ...info } = e.packed;
      return { name: Buffer.from(names[i]!), info, source: file };
    };

    const small = Buffer.allocUnsafe(SMALL_ENTRY_BYTES + 1);
    const copyBuf = Buffer.allocUnsafe(WRITE_BYTES);

    fh = await open(dest, 'wx');
    const out = new Output(fh);
    const central = new Chunks();
    for (let i = 0; i < sorted.length; i++) {
      const r = ready(i);
      const { info, name } = r;
      const offset = out.offset;
      const big = force || info.size >= MAX32 || info.compressedSize >= MAX32;
      // Zip64 fields in the central directory: only the ones that do not fit, in this order.
      const wide = [force || info.size >= MAX32, force || info.compressedSize >= MAX32, force || offset >= MAX32];
      // One "version needed" for both headers: 4.5 when either carries Zip64 fields.
      const version = big || wide.some(Boolean) ? 45 : 20;
      /** Fields both headers carry in this order (local header at 4, central record at 6): version needed, flags, method, DOS time and date, CRC-32. */
      const common = (b: Buffer, at: number): void => {
        b.writeUInt16LE(version, at);
        b.writeUInt16LE(FLAGS, at + 2);
        b.writeUInt16LE(info.method, at + 4);
        b.writeUInt16LE(dos.time, at + 6);
        b.writeUInt16LE(dos.date, at + 8);
        b.writeUInt32LE(info.crc32, at + 10);
      };
      // From Node's shared pool (a small Buffer.alloc is an allocation of its own), zeroed.
      const local = Buffer.allocUnsafe(30 + name.length + (big ? 20 : 0)).fill(0);
      local.writeUInt32LE(0x04034b50, 0);
      common(local, 4);
      local.writeUInt32LE(big ? MAX32 : info.compressedSize, 18);
      local.writeUInt32LE(big ? MAX32 : info.size, 22);
      local.writeUInt16LE(name.length, 26);
      local.writeUInt16LE(big ? 20 : 0, 28);
      name.copy(local, 30);
      if (big) {
        // Zip64 extra in a local header: both sizes, always.
        const x = 30 + name.length;
        local.writeUInt16LE(0x0001, x);
        local.writeUInt16LE(16, x + 2);
        u64(local, info.size, x + 4);
        u64(local, info.compressedSize, x + 12);
      }
      await out.push(local);
      if (typeof r.source !== 'string') {
        if (r.source.length !== info.compressedSize) throw new Error('zip: entry data does not match its recorded size');
        await out.push(r.source);
      } else if (info.compressedSize <= SMALL_ENTRY_BYTES) await out.push(readExactSync(r.source, info.compressedSize, small));
      else await copyFile(r.source, info.compressedSize, out, copyBuf);

      const extraLen = wide.some(Boolean) ? 4 + 8 * wide.filter(Boolean).length : 0;
      const cd = central.take(46 + name.length + extraLen);
      cd.writeUInt32LE(0x02014b50, 0);
      cd.writeUInt16LE(MADE_BY, 4);
      common(cd, 6);
      cd.writeUInt32LE(wide[1] ? MAX32 : info.compressedSize, 20);
      cd.writeUInt32LE(wide[0] ? MAX32 : info.size, 24);
      cd.writeUInt16LE(name.length, 28);
      cd.writeUInt16LE(extraLen, 30);
      // comment length, disk number start, internal attributes: 0
      cd.writeUInt32LE(EXTERNAL_ATTRS, 38);
      cd.writeUInt32LE(wide[2] ? MAX32 : offset, 42);
      name.copy(cd, 46);
      if (extraLen > 0) {
        let x = 46 + name.length;
        cd.writeUInt16LE(0x0001, x);
        cd.writeUInt16LE(extraLen - 4, x + 2);
        x += 4;
        for (const [i, v] of [info.size, info.compressedSize, offset].entries()) {
          if (!wide[i]) continue;
          u64(cd, v, x);
          x += 8;
        }
      }
    }

    const cdOffset = out.offset;
    for (const piece of central.done()) await out.push(piece);
    const cdSize = out.offset - cdOffset;
    const count = sorted.length;
    const zip64 = force || count >= MAX16 || cdSize >= MAX32 || cdOffset >= MAX32;
    if (zip64) {
      const z = Buffer.alloc(56 + 20);
      z.writeUInt32LE(0x06064b50, 0);
      u64(z, 44, 4);
      z.writeUInt16LE(MADE_BY, 12);
      z.writeUInt16LE(45, 14);
      // this disk, disk of the central directory: 0
      u64(z, count, 24);
      u64(z, count, 32);
      u64(z, cdSize, 40);
      u64(z, cdOffset, 48);
      // locator
      z.writeUInt32LE(0x07064b50, 56);
      u64(z, out.offset, 64);
      z.writeUInt32LE(1, 72);
      await out.push(z);
    }
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    // Readers (unzipper among them) look for the Zip64 record only when these are all ones.
    end.writeUInt16LE(zip64 ? MAX16 : count, 8);
    end.writeUInt16LE(zip64 ? MAX16 : count, 10);
    end.writeUInt32LE(zip64 ? MAX32 : cdSize, 12);
    end.writeUInt32LE(zip64 ? MAX32 : cdOffset, 16);
    await out.push(end);
    await out.flush();
    const bytes = out.offset;
    // A close that fails (e.g. ENOSPC on a network filesystem) must not leave a whole-looking zip.
    await fh.close();
    fh = undefined;
    return { bytes, sha256: out.hash.digest('hex') };
  } catch (err) {
    if (fh) {
      await fh.close().catch(() => {});
      await unlink(dest).catch(() => {});
    }
    throw err;
  } finally {
    const dir = await scratch?.catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}
