/**
 * Image metadata stripping (src/source/image.ts) on fixtures built by fixtures/formats/images.mjs:
 * every planted value is reported in `removed[].text` and absent from the output, the blocks that
 * carry pixels are byte-identical, and anything malformed or truncated throws.
 */
import { crc32, deflateSync, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  IMAGE_CANARIES,
  JPEG_BODY_HEX,
  PNG_SIGNATURE,
  VP8L_HEX,
  gifExtension,
  jfif,
  jpegExif,
  jpegSegment,
  makeGif,
  makeJpeg,
  makePng,
  makeWebp,
  pngChunk,
  riff,
  riffChunk,
  tiff,
} from '../fixtures/formats/images.mjs';
import {
  IMAGE_MAGIC_BYTES,
  ImageMetadataError,
  MAX_IMAGE_BYTES,
  imageFormat,
  stripImageMetadata,
} from '../src/source/image.js';
import type { RemovedBlock, StripResult } from '../src/source/image.js';

const C = IMAGE_CANARIES;

/** Canaries planted in one format (keys start with the format name). */
function canaries(prefix: string): string[] {
  return Object.entries(C)
    .filter(([k]) => k.startsWith(prefix))
    .map(([, v]) => v);
}

/** No planted value in the output, in any encoding a viewer could decode it from. */
function expectNoCanary(output: Buffer, values: string[]): void {
  for (const v of values) {
    for (const enc of ['utf8', 'latin1', 'utf16le'] as const) {
      expect(output.includes(Buffer.from(v, enc)), `${v} (${enc}) left in output`).toBe(false);
    }
  }
}

function allText(removed: readonly RemovedBlock[]): string {
  return removed.map((r) => r.text).join('\n');
}

function block(res: StripResult, kind: string): RemovedBlock {
  const b = res.removed.find((r) => r.kind === kind);
  expect(b, `no removed block ${kind}`).toBeDefined();
  return b as RemovedBlock;
}

function expectThrows(input: Buffer, reason: 'corrupt' | 'unsupported' | 'too-large', message?: RegExp): ImageMetadataError {
  let caught: unknown;
  try {
    stripImageMetadata(input);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ImageMetadataError);
  const err = caught as ImageMetadataError;
  expect(err.reason).toBe(reason);
  if (message) expect(err.message).toMatch(message);
  return err;
}

// ---------------------------------------------------------------------------------------------
// Independent container walkers (not the module's own code), used to check the output.

interface PngChunk { type: string; data: Buffer; raw: Buffer; crcOk: boolean }

function pngChunks(buf: Buffer): PngChunk[] {
  expect(buf.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
  const chunks: PngChunk[] = [];
  let pos = 8;
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    const data = buf.subarray(pos + 8, pos + 8 + len);
    const crcOk = crc32(buf.subarray(pos + 4, pos + 8 + len)) === buf.readUInt32BE(pos + 8 + len);
    chunks.push({ type, data, raw: buf.subarray(pos, pos + 12 + len), crcOk });
    pos += 12 + len;
  }
  return chunks;
}

interface JpegHead { markers: number[]; segments: Map<number, Buffer[]>; scan: Buffer }

/** Segments before the first SOS, and everything from the SOS to the end of the file. */
function jpegHead(buf: Buffer): JpegHead {
  expect(buf.readUInt16BE(0)).toBe(0xffd8);
  const markers: number[] = [];
  const segments = new Map<number, Buffer[]>();
  let pos = 2;
  for (;;) {
    expect(buf[pos]).toBe(0xff);
    const marker = buf[pos + 1] as number;
    if (marker === 0xda) return { markers, segments, scan: buf.subarray(pos) };
    const end = pos + 2 + buf.readUInt16BE(pos + 2);
    markers.push(marker);
    segments.set(marker, [...(segments.get(marker) ?? []), buf.subarray(pos, end)]);
    pos = end;
  }
}

function riffList(buf: Buffer): Array<{ fourcc: string; raw: Buffer; data: Buffer }> {
  const out = [];
  let pos = 12;
  while (pos < buf.length) {
    const size = buf.readUInt32LE(pos + 4);
    out.push({ fourcc: buf.toString('latin1', pos, pos + 4), raw: buf.subarray(pos, pos + 8 + size + (size & 1)), data: buf.subarray(pos + 8, pos + 8 + size) });
    pos += 8 + size + (size & 1);
  }
  return out;
}

/** GIF blocks after the global colour table: 'image', 'ext:XX' (label in hex) or 'trailer'. */
function gifBlocks(buf: Buffer): Array<{ kind: string; raw: Buffer }> {
  const packed = buf[10] as number;
  let pos = 13 + (packed & 0x80 ? 3 << ((packed & 7) + 1) : 0);
  const out = [];
  const skipSubBlocks = (p: number): number => {
    while (buf[p] !== 0) p += 1 + (buf[p] as number);
    return p + 1;
  };
  for (;;) {
    const start = pos;
    const intro = buf[pos];
    if (intro === 0x3b) {
      out.push({ kind: 'trailer', raw: buf.subarray(pos, pos + 1) });
      return out;
    }
    if (intro === 0x2c) {
      const flags = buf[pos + 9] as number;
      pos += 10 + (flags & 0x80 ? 3 << ((flags & 7) + 1) : 0);
      pos = skipSubBlocks(pos + 1);
      out.push({ kind: 'image', raw: buf.subarray(start, pos) });
    } else {
      pos = skipSubBlocks(pos + 2);
      out.push({ kind: `ext:${(buf[start + 1] as number).toString(16)}`, raw: buf.subarray(start, pos) });
    }
  }
}

// ---------------------------------------------------------------------------------------------

describe('imageFormat', () => {
  it('recognises each format by its magic bytes only', () => {
    expect(imageFormat(makePng().subarray(0, IMAGE_MAGIC_BYTES))).toBe('png');
    expect(imageFormat(makeJpeg().subarray(0, IMAGE_MAGIC_BYTES))).toBe('jpeg');
    expect(imageFormat(makeWebp().subarray(0, IMAGE_MAGIC_BYTES))).toBe('webp');
    expect(imageFormat(makeGif().subarray(0, IMAGE_MAGIC_BYTES))).toBe('gif');
    expect(imageFormat(Buffer.from('GIF87a'))).toBe('gif');
    expect(imageFormat(Buffer.from('2025-11-17 INFO screenshot.png'))).toBeUndefined();
    expect(imageFormat(Buffer.from('RIFF\0\0\0\0WAVE'))).toBeUndefined();
    expect(imageFormat(Buffer.alloc(0))).toBeUndefined();
  });

  it('refuses what is not a supported image, and inputs over the size limit', () => {
    expectThrows(Buffer.from('just text, not an image'), 'unsupported');
    const huge = Buffer.alloc(MAX_IMAGE_BYTES + 1);
    makePng().copy(huge);
    expectThrows(huge, 'too-large');
  });
});

describe('PNG', () => {
  const input = makePng();
  const res = stripImageMetadata(input);

  it('reports every text chunk, EXIF, ICC and unknown chunk with its text', () => {
    expect(res.format).toBe('png');
    expect(res.removed.map((r) => r.kind)).toEqual([
      'png:iCCP', 'png:tEXt', 'png:iTXt', 'png:iTXt', 'png:zTXt', 'png:eXIf', 'png:tIME', 'png:prVt',
    ]);
    expect(res.removed.find((r) => r.kind === 'png:tEXt')?.text).toBe(`Author: Wang Fang <${C.pngAuthor}>`);
    const [plain, compressed] = res.removed.filter((r) => r.kind === 'png:iTXt');
    expect(plain?.text).toBe(`Description [zh-CN] (描述): 控制台截图 用户 ${C.pngName} 手机 ${C.pngMobile}`);
    expect(compressed?.text).toContain('XML:com.adobe.xmp: <?xpacket');
    expect(compressed?.text).toContain(C.pngXmpKey);
    expect(block(res, 'png:zTXt').text).toBe(`Comment: sts_token=${C.pngZtxtToken}`);
    expect(block(res, 'png:eXIf').text.split('\n')).toEqual([
      `Artist ${C.pngExifArtist}`, 'GPSLatitudeRef S', 'GPSLatitude 22/1 32/1 0/1 S', 'GPSLongitudeRef W', 'GPSLongitude 113/1 58/1 0/1 W',
    ]);
    const icc = block(res, 'png:iCCP').text;
    expect(icc).toContain(`ProfileName ${C.pngIccName}`);
    expect(icc).toContain(`ProfileDescription ${C.pngIccDesc}`);
    expect(icc).toContain('DeviceManufacturer HZMall Displays');
    expect(block(res, 'png:tIME').text).toBe('ModifyDate 2025-11-17 10:00:01');
    expect(block(res, 'png:prVt').text).toBe(`private note ${C.pngPrivate}`);
    const dropped = pngChunks(input).filter((c) => !['IHDR', 'gAMA', 'pHYs', 'IDAT', 'IEND'].includes(c.type));
    expect(res.removed.map((r) => r.bytes)).toEqual(dropped.map((c) => c.raw.length));
  });

  it('leaves no planted value in the output', () => {
    expectNoCanary(res.output, canaries('png'));
  });

  it('keeps IHDR, rendering chunks and IDAT byte-identical, with valid CRCs, and decodes to the same scanlines', () => {
    const before = pngChunks(input);
    const after = pngChunks(res.output);
    expect(after.map((c) => c.type)).toEqual(['IHDR', 'gAMA', 'pHYs', 'IDAT', 'IDAT', 'IEND']);
    expect(after.every((c) => c.crcOk)).toBe(true);
    for (const c of after) expect(before.some((b) => b.raw.equals(c.raw))).toBe(true);
    const idat = (cs: PngChunk[]): Buffer => Buffer.concat(cs.filter((c) => c.type === 'IDAT').map((c) => c.data));
    expect(idat(after).equals(idat(before))).toBe(true);
    expect(inflateSync(idat(after)).equals(inflateSync(idat(before)))).toBe(true);
    expect(inflateSync(idat(after)).length).toBe(8 * (1 + 16 * 3));
  });

  it('is idempotent: a stripped image has nothing left to remove', () => {
    const again = stripImageMetadata(res.output);
    expect(again.removed).toEqual([]);
    expect(again.output.equals(res.output)).toBe(true);
  });

  it('removes and reports data after IEND', () => {
    const withTail = Buffer.concat([input, Buffer.from(`appended ${C.pngAuthor}`)]);
    const r = stripImageMetadata(withTail);
    expect(r.output.equals(res.output)).toBe(true);
    expect(block(r, 'png:trailing').text).toBe(`appended ${C.pngAuthor}`);
  });

  it('throws on a bad CRC without quoting the chunk text', () => {
    const bad = Buffer.from(input);
    const at = bad.indexOf('tEXtAuthor');
    bad[at + 8] = (bad[at + 8] as number) ^ 0x01; // inside the text: the CRC no longer matches
    const err = expectThrows(bad, 'corrupt', /tEXt\): CRC mismatch/u);
    expect(err.message).not.toContain('wang');
  });

  it('throws on a missing IEND, a non-IHDR first chunk and an unknown critical chunk', () => {
    const iend = input.length - 12;
    expectThrows(input.subarray(0, iend), 'corrupt', /no IEND/u);
    expectThrows(Buffer.concat([PNG_SIGNATURE, pngChunk('tEXt', Buffer.from('a\0b')), input.subarray(8)]), 'corrupt', /IHDR/u);
    const withCritical = Buffer.concat([input.subarray(0, iend), pngChunk('ZZZZ', Buffer.from('x')), input.subarray(iend)]);
    expectThrows(withCritical, 'unsupported', /unknown critical chunk ZZZZ/u);
  });

  it('throws on malformed text chunks and on compressed text that inflates past the limit', () => {
    const iend = input.length - 12;
    const withChunk = (c: Buffer): Buffer => Buffer.concat([input.subarray(0, iend), c, input.subarray(iend)]);
    expectThrows(withChunk(pngChunk('tEXt', Buffer.from('no keyword terminator'))), 'corrupt', /keyword/u);
    expectThrows(withChunk(pngChunk('zTXt', Buffer.from('Comment\0\0not zlib'))), 'corrupt', /compressed data is invalid/u);
    const bomb = Buffer.concat([Buffer.from('Comment\0\0'), deflateSync(Buffer.alloc(17 * 1024 * 1024))]);
    expectThrows(withChunk(pngChunk('zTXt', bomb)), 'too-large');
  });
});

describe('JPEG', () => {
  const input = makeJpeg();
  const res = stripImageMetadata(input);
  const body = Buffer.from(JPEG_BODY_HEX, 'hex');

  it('reports EXIF (Artist, XP* in UTF-16LE, GPS, description), XMP, ICC, IPTC and COM', () => {
    expect(res.format).toBe('jpeg');
    expect(res.removed.map((r) => r.kind)).toEqual(['jpeg:APP1/Exif', 'jpeg:APP1/XMP', 'jpeg:APP2/ICC', 'jpeg:APP13/IPTC', 'jpeg:COM']);
    const exif = block(res, 'jpeg:APP1/Exif').text.split('\n');
    expect(exif).toEqual(expect.arrayContaining([
      `ImageDescription Order failure screenshot, contact ${C.jpegEmail}, key ${C.jpegKey}`,
      'Make HZMall',
      'Model OpsCam 1',
      `Artist ${C.jpegArtist}`,
      'Copyright Copyright 2025 HZMall Tech',
      `XPAuthor ${C.jpegXpAuthor}`,
      `XPComment ${C.jpegXpComment}`,
      'DateTimeOriginal 2025:11:17 10:00:01',
      `UserComment ${C.jpegUserComment}`,
      `BodySerialNumber ${C.jpegSerial}`,
      'ExifVersion 0232',
      'GPSVersionID 2 3 0 0',
      'GPSLatitudeRef N',
      'GPSLatitude 30/1 15/1 1234/100 N',
      'GPSLongitude 120/1 9/1 5678/100 E',
      'GPSAltitude 1250/100',
    ]));
    expect(allText(res.removed)).toContain(C.jpegEmail);
    expect(block(res, 'jpeg:APP1/XMP').text).toContain(`<dc:creator>${C.jpegXmpCreator}</dc:creator>`);
    expect(block(res, 'jpeg:APP1/XMP').text).toContain(C.jpegXmpToken);
    expect(block(res, 'jpeg:APP2/ICC').text).toContain(`ProfileDescription ${C.jpegIccDesc}`);
    expect(block(res, 'jpeg:APP13/IPTC').text.split('\n')).toEqual([`By-line ${C.jpegIptcByline}`, `Caption-Abstract ${C.jpegIptcCaption}`, 'City Hangzhou']);
    expect(block(res, 'jpeg:COM').text).toBe(`${C.jpegComment} ${C.jpegEmail}`);
    // The ICC profile came in two APP2 segments and is reported once, with both sizes.
    const app2 = jpegHead(input).segments.get(0xe2) ?? [];
    expect(app2).toHaveLength(2);
    expect(block(res, 'jpeg:APP2/ICC').bytes).toBe(app2.reduce((n, s) => n + s.length, 0));
  });

  it('leaves no planted value in the output', () => {
    expectNoCanary(res.output, canaries('jpeg'));
  });

  it('keeps JFIF, Adobe, DQT/SOF/DHT and the scan data (SOS to EOI) byte-identical', () => {
    const before = jpegHead(input);
    const after = jpegHead(res.output);
    expect(after.markers).toEqual([0xe0, 0xee, 0xdb, 0xdb, 0xc0, 0xc4, 0xc4, 0xc4, 0xc4]);
    for (const m of [0xe0, 0xee, 0xdb, 0xc0, 0xc4]) expect(after.segments.get(m)).toEqual(before.segments.get(m));
    expect(after.scan.equals(before.scan)).toBe(true);
    expect(res.output.equals(Buffer.concat([Buffer.from([0xff, 0xd8]), jfif(), (before.segments.get(0xee) ?? [])[0] as Buffer, body]))).toBe(true);
  });

  it('reads EXIF in either byte order', () => {
    const le = tiff('II', [
      [[0x013b, 'ASCII', 'LE Artist'], [0x9c9d, 'BYTE', Buffer.from('小明\0', 'utf16le')], [0x8825, 'IFD', 1]],
      [[0x0001, 'ASCII', 'N'], [0x0002, 'RATIONAL', [[30, 1], [15, 1], [1234, 100]]]],
    ]);
    const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8]), jpegSegment(0xe1, Buffer.concat([Buffer.from('Exif\0\0'), le])), body]);
    expect(block(stripImageMetadata(jpeg), 'jpeg:APP1/Exif').text.split('\n')).toEqual([
      'Artist LE Artist', 'XPAuthor 小明', 'GPSLatitudeRef N', 'GPSLatitude 30/1 15/1 1234/100 N',
    ]);
    expect(stripImageMetadata(jpeg).output.equals(Buffer.concat([Buffer.from([0xff, 0xd8]), body]))).toBe(true);
  });

  it('drops a JFIF thumbnail but keeps the JFIF header', () => {
    const r = stripImageMetadata(makeJpeg({ thumb: 2 }));
    expect(jpegHead(r.output).segments.get(0xe0)).toEqual([jfif()]);
    expect(block(r, 'jpeg:APP0/JFIF-thumbnail').bytes).toBe(12);
    expect(r.output.equals(res.output)).toBe(true);
  });

  it('removes other APPn segments and data after EOI, and strips metadata between scans', () => {
    const sos = body.indexOf(Buffer.from([0xff, 0xda]));
    const jpeg = Buffer.concat([
      Buffer.from([0xff, 0xd8]),
      jpegSegment(0xe1, Buffer.from(`http://ns.adobe.com/xmp/extension/\0${'0'.repeat(40)}<x>${C.jpegXmpCreator}</x>`)),
      jpegSegment(0xe5, Buffer.from(`vendor blob ${C.jpegSerial}`)),
      Buffer.from([0xff, 0xff]), // fill bytes before a marker
      body.subarray(0, sos),
      jpegSegment(0xfe, Buffer.from(C.jpegComment)),
      body.subarray(sos),
      Buffer.from(`trailer ${C.jpegEmail}`),
    ]);
    const r = stripImageMetadata(jpeg);
    expect(r.removed.map((b) => b.kind)).toEqual(['jpeg:APP1/XMP-extension', 'jpeg:APP5', 'jpeg:COM', 'jpeg:trailing']);
    expect(block(r, 'jpeg:APP1/XMP-extension').text).toBe(`<x>${C.jpegXmpCreator}</x>`);
    expect(block(r, 'jpeg:trailing').text).toBe(`trailer ${C.jpegEmail}`);
    expect(r.output.equals(Buffer.concat([Buffer.from([0xff, 0xd8]), body]))).toBe(true);
  });

  it('throws without EOI, without SOS, on a truncated segment and on broken EXIF or ICC', () => {
    expectThrows(input.subarray(0, input.length - 2), 'corrupt', /no EOI|no end marker/u);
    const noSos = Buffer.concat([Buffer.from([0xff, 0xd8]), jfif(), body.subarray(0, body.indexOf(Buffer.from([0xff, 0xda]))), Buffer.from([0xff, 0xd9])]);
    expectThrows(noSos, 'corrupt', /EOI before any SOS/u);
    expectThrows(noSos.subarray(0, noSos.length - 2), 'corrupt', /no SOS/u);
    expectThrows(input.subarray(0, 30), 'corrupt', /truncated/u);
    const exif = jpegExif();
    exif.writeUInt32BE(0xfffff0, 4); // IFD0 offset out of range
    const badExif = Buffer.concat([Buffer.from([0xff, 0xd8]), jpegSegment(0xe1, Buffer.concat([Buffer.from('Exif\0\0'), exif])), body]);
    expectThrows(badExif, 'corrupt', /EXIF/u);
    const loop = tiff('MM', [[[0x8769, 'IFD', 0]]]);
    expectThrows(Buffer.concat([Buffer.from([0xff, 0xd8]), jpegSegment(0xe1, Buffer.concat([Buffer.from('Exif\0\0'), loop])), body]), 'corrupt', /IFD loop/u);
    const oneOfTwo = jpegSegment(0xe2, Buffer.concat([Buffer.from('ICC_PROFILE\0'), Buffer.from([1, 2]), Buffer.alloc(200)]));
    expectThrows(Buffer.concat([Buffer.from([0xff, 0xd8]), oneOfTwo, body]), 'corrupt', /ICC profile segments missing/u);
    expectThrows(Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe1, 0x00, 0x01]), body]), 'corrupt', /length below 2/u);
  });
});

describe('WebP', () => {
  const input = makeWebp();
  const res = stripImageMetadata(input);

  it('reports and removes EXIF, XMP and ICCP', () => {
    expect(res.format).toBe('webp');
    expect(res.removed.map((r) => r.kind)).toEqual(['webp:ICCP', 'webp:EXIF', 'webp:XMP']);
    expect(block(res, 'webp:EXIF').text).toBe(`Software aliscrub fixtures\nArtist ${C.webpArtist}`);
    expect(block(res, 'webp:XMP').text).toContain(C.webpXmp);
    expect(block(res, 'webp:ICCP').text).toContain(`ProfileDescription ${C.webpIccDesc}`);
    expectNoCanary(res.output, canaries('webp'));
  });

  it('keeps the VP8L bitstream byte-identical, clears the VP8X metadata flags and fixes the RIFF size', () => {
    const chunks = riffList(res.output);
    expect(chunks.map((c) => c.fourcc)).toEqual(['VP8X', 'VP8L']);
    expect(chunks[1]?.data.equals(Buffer.from(VP8L_HEX, 'hex'))).toBe(true);
    const before = riffList(input)[0]?.data as Buffer;
    const after = chunks[0]?.data as Buffer;
    expect(before[0]).toBe(0x2c);
    expect(after[0]).toBe(0);
    expect(after.subarray(1).equals(before.subarray(1))).toBe(true); // canvas size unchanged
    expect(res.output.readUInt32LE(4)).toBe(res.output.length - 8);
    expect(stripImageMetadata(res.output).removed).toEqual([]);
  });

  it('strips a simple-format WebP that carries metadata chunks anyway', () => {
    const vp8l = riffChunk('VP8L', Buffer.from(VP8L_HEX, 'hex'));
    const r = stripImageMetadata(riff([vp8l, riffChunk('EXIF', tiff('MM', [[[0x013b, 'ASCII', C.webpArtist]]]))]));
    expect(r.output.equals(riff([vp8l]))).toBe(true);
    expect(r.removed[0]?.text).toBe(`Artist ${C.webpArtist}`);
  });

  it('throws on a RIFF size mismatch, a truncated chunk and a missing image', () => {
    const bigger = Buffer.from(input);
    bigger.writeUInt32LE(input.length, 4);
    expectThrows(bigger, 'corrupt', /RIFF size/u);
    const smaller = Buffer.from(input);
    smaller.writeUInt32LE(input.length - 10, 4);
    expectThrows(smaller, 'corrupt', /RIFF size/u);
    expectThrows(Buffer.concat([input, Buffer.from('xx')]), 'corrupt', /RIFF size/u);
    const cut = input.subarray(0, input.length - 5);
    const fixed = Buffer.from(cut);
    fixed.writeUInt32LE(cut.length - 8, 4); // consistent RIFF size, but the last chunk is cut
    expectThrows(fixed, 'corrupt', /truncated/u);
    expectThrows(riff([riffChunk('EXIF', Buffer.from('II*\0'))]), 'corrupt', /first chunk/u);
  });
});

describe('GIF', () => {
  const input = makeGif();
  const res = stripImageMetadata(input);

  it('reports and removes comment, XMP, plain-text and private application extensions', () => {
    expect(res.format).toBe('gif');
    expect(res.removed.map((r) => r.kind)).toEqual(['gif:comment', 'gif:xmp', 'gif:application', 'gif:plaintext']);
    expect(block(res, 'gif:comment').text).toBe(C.gifComment);
    const xmp = block(res, 'gif:xmp').text;
    expect(xmp).toContain(C.gifXmp);
    expect(xmp.endsWith('<?xpacket end="w"?>')).toBe(true); // the magic trailer is not text
    expect(block(res, 'gif:application').text).toBe(`HZMALLAP1.0\n${C.gifApp}`);
    expect(block(res, 'gif:plaintext').text).toBe(C.gifPlainText);
    expectNoCanary(res.output, canaries('gif'));
  });

  it('keeps header, palette, loop and graphic control extensions and image data byte-identical', () => {
    const before = gifBlocks(input);
    const after = gifBlocks(res.output);
    expect(after.map((b) => b.kind)).toEqual(['ext:ff', 'ext:f9', 'image', 'ext:f9', 'image', 'trailer']);
    expect(res.output.subarray(0, 25).equals(input.subarray(0, 25))).toBe(true); // header + 4-colour table
    for (const b of after) expect(before.some((x) => x.kind === b.kind && x.raw.equals(b.raw))).toBe(true);
    expect(after[0]?.raw.includes(Buffer.from('NETSCAPE2.0'))).toBe(true);
    expect(stripImageMetadata(res.output).removed).toEqual([]);
  });

  it('removes data after the trailer and throws without a trailer or image', () => {
    const r = stripImageMetadata(Buffer.concat([input, Buffer.from(`tail ${C.gifComment}`)]));
    expect(r.output.equals(res.output)).toBe(true);
    expect(block(r, 'gif:trailing').text).toBe(`tail ${C.gifComment}`);
    expectThrows(input.subarray(0, input.length - 1), 'corrupt', /no trailer|truncated/u);
    const header = input.subarray(0, 25);
    expectThrows(Buffer.concat([header, gifExtension(0xfe, Buffer.from('only a comment')), Buffer.from([0x3b])]), 'corrupt', /no image/u);
    expectThrows(Buffer.concat([header, Buffer.from([0x99, 0x3b])]), 'corrupt', /unknown block/u);
  });
});

describe('robustness', () => {
  const fixtures: Array<[string, Buffer]> = [['png', makePng()], ['jpeg', makeJpeg()], ['webp', makeWebp()], ['gif', makeGif()]];

  it.each(fixtures)('%s: every truncation throws ImageMetadataError', (_name, input) => {
    for (let n = 0; n < input.length; n++) {
      const cut = input.subarray(0, n);
      expect(() => stripImageMetadata(cut), `cut at ${n}`).toThrow(ImageMetadataError);
    }
  });

  it.each(fixtures)('%s: corrupted bytes either strip or throw ImageMetadataError, never anything else', (_name, input) => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(input.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (edits) => {
        const bad = Buffer.from(input);
        for (const [at, value] of edits) bad[at] = value;
        try {
          const r = stripImageMetadata(bad);
          expect(r.output.length).toBeLessThanOrEqual(bad.length + 16);
        } catch (err) {
          expect(err).toBeInstanceOf(ImageMetadataError);
        }
      }),
      { numRuns: 400, seed: 20251117 },
    );
  });
});

describe('fixture sanity', () => {
  it('the JPEG and WebP pixel payloads are ours and well-formed', () => {
    const body = Buffer.from(JPEG_BODY_HEX, 'hex');
    expect(body.subarray(0, 2).equals(Buffer.from([0xff, 0xdb]))).toBe(true);
    expect(body.subarray(-2).equals(Buffer.from([0xff, 0xd9]))).toBe(true);
    const vp8l = Buffer.from(VP8L_HEX, 'hex');
    expect(vp8l[0]).toBe(0x2f); // VP8L signature
    const bits = vp8l.readUInt32LE(1);
    expect([(bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1]).toEqual([16, 16]);
  });
});

describe('images in the pipeline', () => {
  it('pack strips every screenshot, reports what the metadata held, and the bundle verifies', async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const unzipper = (await import('unzipper')).default;
    const { pack } = await import('../src/run.js');
    const { cli } = await import('./helpers/cli.js');
    const { makeImages, IMAGE_CANARIES } = await import('../fixtures/formats/images.mjs');
    const dir = mkdtempSync(path.join(tmpdir(), 'aliscrub-img-'));
    makeImages(path.join(dir, 'in'));
    const out = path.join(dir, 'b.zip');
    const res = await pack({ inputs: ['in'], cwd: dir, key: Buffer.alloc(32, 9) }, out);
    const images = res.manifest.files.filter((f) => f.status === 'stripped');
    expect(images.map((f) => f.path).sort()).toEqual(['animation.gif', 'photo.jpg', 'screenshot.png', 'screenshot.webp']);
    const jpeg = images.find((f) => f.path === 'photo.jpg');
    expect(jpeg && jpeg.status === 'stripped' && jpeg.findings.some((x) => x.detector === 'email-address')).toBe(true);
    const z = await unzipper.Open.file(out);
    for (const f of z.files) {
      const data = await f.buffer();
      for (const [k, v] of Object.entries(IMAGE_CANARIES)) {
        expect(data.includes(Buffer.from(v)), `${f.path} holds ${k}`).toBe(false);
        expect(data.includes(Buffer.from(v, 'utf16le')), `${f.path} holds ${k} (UTF-16)`).toBe(false);
      }
    }
    const v = await cli(['verify', out], { cwd: dir });
    expect(v.stdout).toContain('verified');
    const skip = await pack({ inputs: ['in'], cwd: dir, images: 'skip' }, path.join(dir, 'c.zip'));
    expect(skip.manifest.files.every((f) => f.status === 'excluded' && f.reason === 'binary')).toBe(true);
  });
});
