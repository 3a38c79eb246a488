/**
 * Compressing a zip entry's data where it is produced (a worker redacting a file), so the zip
 * writer only copies bytes. The stages compute what a zip header needs (CRC-32, both sizes) on
 * the way through.
 *
 * Determinism: the bytes zlib writes must not depend on how its input happened to be chunked (an
 * archive member arrives in pieces that vary with I/O timing). zlib makes no promise about that,
 * so input is cut into fixed {@link DEFLATE_BLOCK}-byte blocks before it reaches the compressor:
 * the same bytes give the same calls to zlib, whatever the upstream chunks were.
 */
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { crc32, createDeflateRaw, deflateRaw, deflateRawSync } from 'node:zlib';
import type { DeflateRaw } from 'node:zlib';

/** What a zip header records about one entry's data. */
export interface PackedData {
  /** CRC-32 of the uncompressed bytes (unsigned). */
  readonly crc32: number;
  /** Uncompressed size in bytes. */
  readonly size: number;
  /** Size in bytes of the data as stored in the zip (equals `size` when stored). */
  readonly compressedSize: number;
  /** Zip compression method: 0 stored, 8 deflated. */
  readonly method: 0 | 8;
}

/**
 * Header facts of many entries by name, in typed columns: a run keeps one per staged file until
 * the zip is written. A Map of {@link PackedData} objects took 107 bytes an entry (V8 boxes the
 * three numbers: a CRC-32 does not fit a small integer); this takes 65, most of it the name → slot
 * Map (100 000 names, heap and typed arrays after a full GC).
 */
export class PackedTable {
  private readonly slots = new Map<string, number>();
  private crc = new Uint32Array(0);
  private size = new Float64Array(0);
  private compressed = new Float64Array(0);
  private method = new Uint8Array(0);

  /** Records `info` for `name`, replacing what it had. */
  set(name: string, info: PackedData): void {
    let i = this.slots.get(name);
    if (i === undefined) {
      i = this.slots.size;
      if (i === this.crc.length) this.grow(Math.max(1024, 2 * i));
      this.slots.set(name, i);
    }
    this.crc[i] = info.crc32;
    this.size[i] = info.size;
    this.compressed[i] = info.compressedSize;
    this.method[i] = info.method;
  }

  /** The slot of `name` for {@link PackedTable.at}, or undefined when nothing was recorded for it. */
  slot(name: string): number | undefined {
    return this.slots.get(name);
  }

  /** The facts in `slot`, as a new object. */
  at(slot: number): PackedData {
    return { crc32: this.crc[slot]!, size: this.size[slot]!, compressedSize: this.compressed[slot]!, method: this.method[slot] === 0 ? 0 : 8 };
  }

  private grow(n: number): void {
    const crc = new Uint32Array(n);
    const size = new Float64Array(n);
    const compressed = new Float64Array(n);
    const method = new Uint8Array(n);
    crc.set(this.crc);
    size.set(this.size);
    compressed.set(this.compressed);
    method.set(this.method);
    this.crc = crc;
    this.size = size;
    this.compressed = compressed;
    this.method = method;
  }
}

/** Size in bytes of the blocks fed to zlib (see the module comment). */
export const DEFLATE_BLOCK = 64 * 1024;

/** Counts bytes and CRCs them; with `block` > 0 re-emits them in blocks of exactly that size (the last may be shorter). */
class CrcBlocks extends Transform {
  crc = 0;
  size = 0;
  /** Pieces of the block being gathered (views of the input: a small file is never copied). */
  private parts: Buffer[] = [];
  private fill = 0;

  constructor(private readonly block: number) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.crc = crc32(chunk, this.crc);
    this.size += chunk.length;
    if (this.block === 0) return cb(null, chunk);
    for (let at = 0; at < chunk.length; ) {
      const take = Math.min(this.block - this.fill, chunk.length - at);
      this.parts.push(chunk.subarray(at, at + take));
      this.fill += take;
      at += take;
      if (this.fill === this.block) this.emit1();
    }
    cb();
  }

  override _flush(cb: TransformCallback): void {
    if (this.fill > 0) this.emit1();
    cb();
  }

  private emit1(): void {
    this.push(this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.fill));
    this.parts = [];
    this.fill = 0;
  }
}

/**
 * Raw deflate of {@link DEFLATE_BLOCK}-sized blocks. Data of one block or less (most log files in a
 * folder of many) is deflated in one synchronous call; a zlib stream, with its ~300 KB of state and
 * a thread-pool round trip per block, starts only at the second block. Both give what the stream
 * gives for the same blocks, and which one runs depends only on the size: deterministic.
 */
class BlockDeflate extends Transform {
  private first: Buffer | undefined;
  private z: DeflateRaw | undefined;

  constructor(private readonly level: number) {
    super();
  }

  override _transform(block: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (!this.z && !this.first) {
      this.first = block;
      return cb();
    }
    if (!this.z) {
      const z = (this.z = createDeflateRaw({ level: this.level, chunkSize: DEFLATE_BLOCK }));
      z.on('data', (d: Buffer) => this.push(d));
      z.on('error', (err) => this.destroy(err));
      z.write(this.first!);
      this.first = undefined;
    }
    this.z.write(block, () => cb());
  }

  override _flush(cb: TransformCallback): void {
    if (!this.z) {
      this.push(deflateRawSync(this.first ?? Buffer.alloc(0), { level: this.level }));
      this.first = undefined;
      return cb();
    }
    this.z.once('end', () => cb());
    this.z.end();
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    this.z?.destroy();
    cb(err);
  }
}

/** Counts the bytes that pass. */
class Counter extends Transform {
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    cb(null, chunk);
  }
}

/** Stream stages that turn an entry's bytes into zip entry data, and what they measured once done. */
export interface Packer {
  /** Put these, in order, between the producer and the file: uncompressed in, entry data out. */
  readonly stages: readonly Transform[];
  /** CRC and sizes; valid once the stages have finished. */
  result(): PackedData;
}

/** Validates a deflate level: a whole number 0 (store) – 9. */
export function checkLevel(level: number): void {
  if (!Number.isInteger(level) || level < 0 || level > 9) throw new RangeError(`deflate level must be a whole number 0-9, not ${level}`);
}

/**
 * Stages that deflate (raw, as zip stores it) at `level`, or store when `level` is 0.
 * @param level deflate level 0 (store) – 9.
 */
export function createPacker(level: number): Packer {
  checkLevel(level);
  if (level === 0) {
    const crc = new CrcBlocks(0);
    return { stages: [crc], result: () => ({ crc32: crc.crc >>> 0, size: crc.size, compressedSize: crc.size, method: 0 }) };
  }
  const crc = new CrcBlocks(DEFLATE_BLOCK);
  const count = new Counter();
  return {
    stages: [crc, new BlockDeflate(level), count],
    result: () => ({ crc32: crc.crc >>> 0, size: crc.size, compressedSize: count.bytes, method: 8 }),
  };
}

/** In-memory data up to this size is deflated on the calling thread (a thread-pool round trip costs more). */
const SYNC_BYTES = 64 * 1024;

/**
 * Entry data for bytes in memory: deflated at `level` (whole, in one zlib call) or stored when
 * `level` is 0. The same bytes always give the same output.
 * @param level deflate level 0 (store) – 9.
 */
export async function packBuffer(data: Buffer, level: number): Promise<{ readonly data: Buffer; readonly info: PackedData }> {
  checkLevel(level);
  const crc = crc32(data) >>> 0;
  if (level === 0) return { data, info: { crc32: crc, size: data.length, compressedSize: data.length, method: 0 } };
  const out =
    data.length <= SYNC_BYTES
      ? deflateRawSync(data, { level })
      : await new Promise<Buffer>((resolve, reject) => deflateRaw(data, { level }, (err, res) => (err ? reject(err) : resolve(res))));
  return { data: out, info: { crc32: crc, size: data.length, compressedSize: out.length, method: 8 } };
}
