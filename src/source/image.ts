/**
 * Metadata stripping for screenshots and photos: PNG, JPEG, WebP and GIF.
 *
 * {@link stripImageMetadata} walks the container structure of an image, copies the blocks that
 * carry or shape pixels byte for byte, and drops every other block, returning what it dropped with
 * the block's text (EXIF tags incl. GPS, XMP packets, IPTC datasets, ICC descriptions, PNG text
 * chunks, comments) so the caller can run the secret/PII detectors over it. Pixels are never
 * decoded or scanned: compressed image data is copied unchanged, so the output decodes to exactly
 * the input's pixels.
 *
 * The module is pure and synchronous (Buffers in, Buffers out, no I/O). It never guesses: a
 * structure it cannot parse completely (truncation, bad CRC, out-of-range offsets, unknown
 * critical parts) makes it throw an {@link ImageMetadataError}, and the caller leaves the file
 * out (fail closed). Error messages name the structure and offset, never the bytes in it.
 */
import { crc32, inflateSync } from 'node:zlib';

/** Image formats handled here, recognised by magic bytes. */
export type ImageFormat = 'png' | 'jpeg' | 'webp' | 'gif';

/** Largest input accepted. Screenshots are far smaller; larger inputs throw ('too-large'). */
export const MAX_IMAGE_BYTES = 64 * 1024 * 1024;

/** Largest result of inflating one compressed metadata block (PNG zTXt/iTXt/iCCP); more throws. */
export const MAX_INFLATED_BYTES = 16 * 1024 * 1024;

/** Bytes of the file head {@link imageFormat} needs to recognise every format. */
export const IMAGE_MAGIC_BYTES = 12;

/** One metadata block removed from the image. */
export interface RemovedBlock {
  /**
   * What the block was, as `format:name`: `png:tEXt`, `png:iTXt`, `png:zTXt`, `png:eXIf`,
   * `png:iCCP`, `png:tIME`, `png:<chunk>` (any other ancillary chunk), `jpeg:APP1/Exif`,
   * `jpeg:APP1/XMP`, `jpeg:APP1/XMP-extension`, `jpeg:APP2/ICC` (all segments of one profile),
   * `jpeg:APP2/MPF`, `jpeg:APP13/IPTC` (all Photoshop segments), `jpeg:APP0/JFIF-thumbnail`,
   * `jpeg:APP14/Adobe-extra`, `jpeg:APPn`, `jpeg:COM`, `webp:EXIF`, `webp:XMP`, `webp:ICCP`,
   * `webp:<chunk>`, `gif:comment`, `gif:xmp`, `gif:icc`, `gif:application`, `gif:plaintext`,
   * `gif:extension`, and `<format>:trailing` for bytes after the end of the image. Never contains
   * input text beyond a 4-character PNG/WebP chunk type.
   */
  readonly kind: string;
  /** Size of the block in the input, headers included (for ICC/IPTC: all its segments). */
  readonly bytes: number;
  /**
   * The block's human-readable content: one `Name value` line per EXIF/IPTC field, the XMP
   * packet, `keyword: text` for PNG text chunks, ICC description/copyright texts, comments; for
   * blocks with no known structure, the printable runs of their bytes. May be empty. This is
   * evidence content: scan it, never write it out.
   */
  readonly text: string;
}

/** The stripped image and what was removed from it. */
export interface StripResult {
  readonly format: ImageFormat;
  /** The image without metadata; compressed pixel data byte-identical to the input's. */
  readonly output: Buffer;
  /** Removed blocks in file order. */
  readonly removed: readonly RemovedBlock[];
}

/** Why an image could not be stripped. */
export type ImageErrorReason = 'too-large' | 'corrupt' | 'unsupported';

/** Thrown when an image cannot be parsed completely; the caller must leave the file out. */
export class ImageMetadataError extends Error {
  override readonly name = 'ImageMetadataError';
  constructor(
    readonly reason: ImageErrorReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

function corrupt(message: string, cause?: unknown): never {
  throw new ImageMetadataError('corrupt', message, cause === undefined ? undefined : { cause });
}

function unsupported(message: string): never {
  throw new ImageMetadataError('unsupported', message);
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * The image format of a file from its first bytes (at least {@link IMAGE_MAGIC_BYTES} for WebP),
 * or undefined when it is none of the supported formats.
 */
export function imageFormat(head: Buffer): ImageFormat | undefined {
  if (head.length >= 8 && head.subarray(0, 8).equals(PNG_SIGNATURE)) return 'png';
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg';
  if (head.length >= 12 && ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 4) === 'WEBP') return 'webp';
  if (head.length >= 6) {
    const sig = ascii(head, 0, 6);
    if (sig === 'GIF87a' || sig === 'GIF89a') return 'gif';
  }
  return undefined;
}

/**
 * Removes every metadata block from a PNG, JPEG, WebP or GIF image and reports what was removed.
 *
 * Kept, byte for byte: PNG IHDR, PLTE, IDAT, IEND and the chunks that change how pixels render
 * (tRNS, gAMA, cHRM, sRGB, sBIT, cICP, mDCV, cLLI, bKGD, pHYs) plus APNG frames (acTL, fcTL,
 * fdAT); JPEG frame, table and scan segments, APP0 JFIF (without thumbnail) and APP14 Adobe
 * (colour transform); WebP VP8X (metadata flags cleared), VP8, VP8L, ALPH, ANIM, ANMF; GIF header,
 * colour tables, image data, graphic control and loop (NETSCAPE2.0/ANIMEXTS1.0) extensions.
 * Everything else is removed and reported. Removing an ICC profile can shift how colours are
 * displayed; the pixel values themselves are unchanged.
 *
 * @throws {ImageMetadataError} on an input over {@link MAX_IMAGE_BYTES}, an unrecognised format,
 *   or any structure that cannot be parsed completely.
 */
export function stripImageMetadata(input: Buffer): StripResult {
  if (input.length > MAX_IMAGE_BYTES) {
    throw new ImageMetadataError('too-large', `image is ${input.length} bytes, over the ${MAX_IMAGE_BYTES}-byte limit`);
  }
  const format = imageFormat(input);
  switch (format) {
    case 'png':
      return { format, ...stripPng(input) };
    case 'jpeg':
      return { format, ...stripJpeg(input) };
    case 'webp':
      return { format, ...stripWebp(input) };
    case 'gif':
      return { format, ...stripGif(input) };
    default:
      return unsupported('not a PNG, JPEG, WebP or GIF image');
  }
}

type Stripped = { output: Buffer; removed: RemovedBlock[] };

// ---------------------------------------------------------------------------------------------
// Text helpers

function ascii(buf: Buffer, start: number, length: number): string {
  return buf.toString('latin1', start, start + length);
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 when the bytes are valid UTF-8, else Latin-1 (old writers use legacy 8-bit text). */
function decodeText(buf: Buffer): string {
  try {
    return utf8Strict.decode(buf);
  } catch {
    return buf.toString('latin1');
  }
}

function trimNul(s: string): string {
  return s.replace(/\0+$/u, '');
}

/**
 * Printable runs (of at least `min` characters) of a block with no known text structure, one per
 * line, like strings(1) but UTF-8 aware, so embedded ASCII or UTF-8 text still reaches the scanner.
 */
function printableRuns(buf: Buffer, min = 4): string {
  return buf
    .toString('utf8')
    .split(/[\u0000-\u0008\u000b-\u001f\u007f\ufffd]+/u)
    .map((s) => s.trim())
    .filter((s) => s.length >= min)
    .join('\n');
}

function inflateBounded(data: Buffer, what: string): Buffer {
  try {
    return inflateSync(data, { maxOutputLength: MAX_INFLATED_BYTES });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new ImageMetadataError('too-large', `${what}: inflates to more than ${MAX_INFLATED_BYTES} bytes`, { cause: err });
    }
    return corrupt(`${what}: compressed data is invalid`, err);
  }
}

/** Bounds check: `length` bytes at `offset` lie inside a buffer of `size` bytes. */
function need(size: number, offset: number, length: number, what: string): void {
  if (offset < 0 || length < 0 || offset + length > size) corrupt(`${what}: truncated or out of range (offset ${offset}, ${length} bytes)`);
}

// ---------------------------------------------------------------------------------------------
// PNG

/** Critical chunks plus ancillary chunks that change how the pixels are drawn. */
const PNG_KEEP = new Set([
  'IHDR', 'PLTE', 'IDAT', 'IEND',
  'tRNS', 'gAMA', 'cHRM', 'sRGB', 'sBIT', 'cICP', 'mDCV', 'cLLI', 'bKGD', 'pHYs',
  'acTL', 'fcTL', 'fdAT',
]);

function stripPng(buf: Buffer): Stripped {
  const out: Buffer[] = [PNG_SIGNATURE];
  const removed: RemovedBlock[] = [];
  let pos = 8;
  let index = 0;
  let ended = false;
  while (pos < buf.length) {
    const at = `png: chunk ${index} at offset ${pos}`;
    need(buf.length, pos, 12, at);
    const length = buf.readUInt32BE(pos);
    if (length > 0x7fffffff) corrupt(`${at}: length over 2^31-1`);
    const type = ascii(buf, pos + 4, 4);
    if (!/^[A-Za-z]{4}$/u.test(type)) corrupt(`${at}: invalid chunk type`);
    need(buf.length, pos + 8, length + 4, `${at} (${type})`);
    const end = pos + 12 + length;
    const data = buf.subarray(pos + 8, pos + 8 + length);
    if (crc32(buf.subarray(pos + 4, pos + 8 + length)) !== buf.readUInt32BE(pos + 8 + length)) {
      corrupt(`${at} (${type}): CRC mismatch`);
    }
    if (index === 0 && (type !== 'IHDR' || length !== 13)) corrupt('png: first chunk is not a 13-byte IHDR');
    const chunk = buf.subarray(pos, end);
    if (PNG_KEEP.has(type)) {
      out.push(chunk);
    } else if (/^[A-Z]/u.test(type)) {
      // A critical chunk we do not know: the image cannot be understood without it.
      unsupported(`${at}: unknown critical chunk ${type}`);
    } else {
      removed.push({ kind: `png:${type}`, bytes: chunk.length, text: pngChunkText(type, data, `${at} (${type})`) });
    }
    pos = end;
    index++;
    if (type === 'IEND') {
      ended = true;
      break;
    }
  }
  if (!ended) corrupt('png: no IEND chunk (truncated)');
  if (pos < buf.length) {
    const tail = buf.subarray(pos);
    removed.push({ kind: 'png:trailing', bytes: tail.length, text: printableRuns(tail) });
  }
  return { output: Buffer.concat(out), removed };
}

/** Splits `keyword\0rest`; the keyword is Latin-1, 1–79 bytes. */
function pngKeyword(data: Buffer, what: string): { keyword: string; rest: number } {
  const nul = data.indexOf(0);
  if (nul < 1 || nul > 79) corrupt(`${what}: missing or invalid keyword`);
  return { keyword: data.toString('latin1', 0, nul), rest: nul + 1 };
}

function pngChunkText(type: string, data: Buffer, what: string): string {
  switch (type) {
    case 'tEXt': {
      const { keyword, rest } = pngKeyword(data, what);
      return `${keyword}: ${data.toString('latin1', rest)}`;
    }
    case 'zTXt': {
      const { keyword, rest } = pngKeyword(data, what);
      need(data.length, rest, 1, what);
      if (data[rest] !== 0) corrupt(`${what}: unknown compression method`);
      return `${keyword}: ${inflateBounded(data.subarray(rest + 1), what).toString('latin1')}`;
    }
    case 'iTXt': {
      const { keyword, rest } = pngKeyword(data, what);
      need(data.length, rest, 2, what);
      const compressed = data[rest];
      if (compressed !== 0 && compressed !== 1) corrupt(`${what}: invalid compression flag`);
      if (compressed === 1 && data[rest + 1] !== 0) corrupt(`${what}: unknown compression method`);
      const langEnd = data.indexOf(0, rest + 2);
      if (langEnd < 0) corrupt(`${what}: unterminated language tag`);
      const keyEnd = data.indexOf(0, langEnd + 1);
      if (keyEnd < 0) corrupt(`${what}: unterminated translated keyword`);
      const language = data.toString('latin1', rest + 2, langEnd);
      const translated = data.toString('utf8', langEnd + 1, keyEnd);
      const body = data.subarray(keyEnd + 1);
      const text = (compressed === 1 ? inflateBounded(body, what) : body).toString('utf8');
      const label = [keyword, language && `[${language}]`, translated && `(${translated})`].filter(Boolean).join(' ');
      return `${label}: ${text}`;
    }
    case 'eXIf':
      return exifText(data, what);
    case 'iCCP': {
      const { keyword, rest } = pngKeyword(data, what);
      need(data.length, rest, 1, what);
      if (data[rest] !== 0) corrupt(`${what}: unknown compression method`);
      const profile = inflateBounded(data.subarray(rest + 1), what);
      return [`ProfileName ${keyword}`, iccText(profile, what)].filter(Boolean).join('\n');
    }
    case 'tIME': {
      if (data.length !== 7) corrupt(`${what}: length is not 7`);
      const p2 = (n: number | undefined): string => String(n).padStart(2, '0');
      return `ModifyDate ${data.readUInt16BE(0)}-${p2(data[2])}-${p2(data[3])} ${p2(data[4])}:${p2(data[5])}:${p2(data[6])}`;
    }
    default:
      return printableRuns(data);
  }
}

// ---------------------------------------------------------------------------------------------
// JPEG

const JFIF_ID = Buffer.from('JFIF\0', 'latin1');
const EXIF_ID = Buffer.from('Exif\0', 'latin1');
const XMP_ID = Buffer.from('http://ns.adobe.com/xap/1.0/\0', 'latin1');
const XMP_EXT_ID = Buffer.from('http://ns.adobe.com/xmp/extension/\0', 'latin1');
const ICC_ID = Buffer.from('ICC_PROFILE\0', 'latin1');
const MPF_ID = Buffer.from('MPF\0', 'latin1');
const PHOTOSHOP_ID = Buffer.from('Photoshop 3.0\0', 'latin1');
const ADOBE_ID = Buffer.from('Adobe', 'latin1');

/** Frame, table and scan markers that the decoder needs (SOFn, DHT, DAC, DQT, DNL, DRI, DHP, EXP). */
function isImageMarker(m: number): boolean {
  return (m >= 0xc0 && m <= 0xcf && m !== 0xc8) || (m >= 0xdb && m <= 0xdf);
}

function isFrameMarker(m: number): boolean {
  return m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
}

function segment(marker: number, payload: Buffer): Buffer {
  const head = Buffer.from([0xff, marker, 0, 0]);
  head.writeUInt16BE(payload.length + 2, 2);
  return Buffer.concat([head, payload]);
}

/** One removed block whose text is filled in once all of its segments have been seen. */
interface PendingBlock {
  kind: string;
  bytes: number;
  text: string;
  parts: Buffer[];
}

function stripJpeg(buf: Buffer): Stripped {
  const out: Buffer[] = [buf.subarray(0, 2)];
  const removed: RemovedBlock[] = [];
  let icc: (PendingBlock & { seqs: number[]; total: number }) | undefined;
  let photoshop: PendingBlock | undefined;
  let sawFrame = false;
  let sawScan = false;
  let pos = 2;
  for (;;) {
    if (pos >= buf.length) corrupt(sawScan ? 'jpeg: no EOI marker (truncated)' : 'jpeg: no SOS marker (truncated)');
    if (buf[pos] !== 0xff) corrupt(`jpeg: expected a marker at offset ${pos}`);
    while (pos < buf.length && buf[pos] === 0xff) pos++; // fill bytes before a marker
    need(buf.length, pos, 1, 'jpeg: marker');
    const marker = buf[pos] as number;
    const at = `jpeg: marker 0x${marker.toString(16).toUpperCase()} at offset ${pos - 1}`;
    pos++;
    if (marker === 0xd9) {
      if (!sawScan) corrupt('jpeg: EOI before any SOS (no image data)');
      out.push(Buffer.from([0xff, 0xd9]));
      break;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x00) {
      corrupt(`${at}: unexpected outside entropy-coded data`);
    }
    need(buf.length, pos, 2, at);
    const length = buf.readUInt16BE(pos);
    if (length < 2) corrupt(`${at}: segment length below 2`);
    need(buf.length, pos, length, at);
    const start = pos - 2;
    const end = pos + length;
    const payload = buf.subarray(pos + 2, end);
    const seg = buf.subarray(start, end);
    pos = end;

    if (marker === 0xda) {
      if (!sawFrame) corrupt(`${at}: SOS before any SOF`);
      sawScan = true;
      // Entropy-coded data runs to the next marker that is not a stuffed 0xFF00 or an RSTn.
      let i = end;
      for (;;) {
        i = buf.indexOf(0xff, i);
        if (i < 0 || i >= buf.length - 1) corrupt('jpeg: entropy-coded data has no end marker (truncated)');
        const next = buf[i + 1] as number;
        if (next !== 0x00 && (next < 0xd0 || next > 0xd7)) break;
        i += 2;
      }
      out.push(seg, buf.subarray(end, i));
      pos = i;
      continue;
    }
    if (isImageMarker(marker)) {
      if (isFrameMarker(marker)) sawFrame = true;
      out.push(seg);
      continue;
    }
    if (marker === 0xfe) {
      removed.push({ kind: 'jpeg:COM', bytes: seg.length, text: decodeText(payload) });
      continue;
    }
    if (marker < 0xe0 || marker > 0xef) unsupported(`${at}: unsupported JPEG marker`);

    const n = marker - 0xe0;
    if (n === 0 && payload.subarray(0, 5).equals(JFIF_ID)) {
      if (payload.length < 14) corrupt(`${at}: JFIF segment too short`);
      if (payload.length === 14 && payload[12] === 0 && payload[13] === 0) {
        out.push(seg);
      } else {
        // Keep the JFIF header (density, version) but drop its thumbnail: a thumbnail can show
        // what was cropped out of the main image.
        const head = Buffer.from(payload.subarray(0, 14));
        head[12] = 0;
        head[13] = 0;
        out.push(segment(0xe0, head));
        removed.push({ kind: 'jpeg:APP0/JFIF-thumbnail', bytes: payload.length - 14, text: '' });
      }
    } else if (n === 14 && payload.subarray(0, 5).equals(ADOBE_ID) && payload.length >= 12) {
      // The Adobe segment's transform flag decides YCbCr vs RGB/CMYK decoding: keep it.
      if (payload.length === 12) {
        out.push(seg);
      } else {
        out.push(segment(0xee, payload.subarray(0, 12)));
        removed.push({ kind: 'jpeg:APP14/Adobe-extra', bytes: payload.length - 12, text: printableRuns(payload.subarray(12)) });
      }
    } else if (n === 1 && payload.subarray(0, 5).equals(EXIF_ID)) {
      removed.push({ kind: 'jpeg:APP1/Exif', bytes: seg.length, text: exifText(payload, at) });
    } else if (n === 1 && payload.subarray(0, XMP_ID.length).equals(XMP_ID)) {
      removed.push({ kind: 'jpeg:APP1/XMP', bytes: seg.length, text: payload.toString('utf8', XMP_ID.length) });
    } else if (n === 1 && payload.subarray(0, XMP_EXT_ID.length).equals(XMP_EXT_ID)) {
      // Extended XMP: GUID (32) + full length (4) + offset (4), then a slice of the packet.
      need(payload.length, XMP_EXT_ID.length, 40, at);
      removed.push({ kind: 'jpeg:APP1/XMP-extension', bytes: seg.length, text: payload.toString('utf8', XMP_EXT_ID.length + 40) });
    } else if (n === 2 && payload.subarray(0, ICC_ID.length).equals(ICC_ID)) {
      // A profile may span several APP2 segments: report it once, as a whole.
      need(payload.length, ICC_ID.length, 2, at);
      const seq = payload[ICC_ID.length] as number;
      const total = payload[ICC_ID.length + 1] as number;
      if (!icc) {
        icc = { kind: 'jpeg:APP2/ICC', bytes: 0, text: '', parts: [], seqs: [], total };
        removed.push(icc);
      }
      if (total !== icc.total || seq < 1 || seq > total || icc.seqs.includes(seq)) corrupt(`${at}: inconsistent ICC segment numbering`);
      icc.bytes += seg.length;
      icc.seqs.push(seq);
      icc.parts.push(payload.subarray(ICC_ID.length + 2));
    } else if (n === 2 && payload.subarray(0, MPF_ID.length).equals(MPF_ID)) {
      removed.push({ kind: 'jpeg:APP2/MPF', bytes: seg.length, text: printableRuns(payload.subarray(MPF_ID.length)) });
    } else if (n === 13 && payload.subarray(0, PHOTOSHOP_ID.length).equals(PHOTOSHOP_ID)) {
      // Photoshop splits large resource blocks over consecutive APP13 segments.
      if (!photoshop) {
        photoshop = { kind: 'jpeg:APP13/IPTC', bytes: 0, text: '', parts: [] };
        removed.push(photoshop);
      }
      photoshop.bytes += seg.length;
      photoshop.parts.push(payload.subarray(PHOTOSHOP_ID.length));
    } else {
      removed.push({ kind: `jpeg:APP${n}`, bytes: seg.length, text: printableRuns(payload) });
    }
  }
  if (icc) {
    const { seqs, parts } = icc;
    if (seqs.length !== icc.total) corrupt('jpeg: ICC profile segments missing');
    const ordered = seqs.map((seq, i) => ({ seq, part: parts[i] as Buffer })).sort((a, b) => a.seq - b.seq);
    icc.text = iccText(Buffer.concat(ordered.map((o) => o.part)), 'jpeg: APP2 ICC profile');
  }
  if (photoshop) photoshop.text = photoshopText(Buffer.concat(photoshop.parts), 'jpeg: APP13 Photoshop');
  if (pos < buf.length) {
    // Data after EOI (appended previews, MPF secondary images, vendor trailers) is not the image.
    const tail = buf.subarray(pos);
    removed.push({ kind: 'jpeg:trailing', bytes: tail.length, text: printableRuns(tail) });
  }
  return { output: Buffer.concat(out), removed: removed.map(({ kind, bytes, text }) => ({ kind, bytes, text })) };
}

// ---------------------------------------------------------------------------------------------
// EXIF (TIFF structure)

/** Bytes per value of each TIFF field type (13 is IFD, used for sub-IFD pointers). */
const TIFF_TYPE_SIZE: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4 };

const TIFF_TAGS: Record<number, string> = {
  0x0100: 'ImageWidth', 0x0101: 'ImageHeight', 0x0102: 'BitsPerSample', 0x0103: 'Compression',
  0x0106: 'PhotometricInterpretation', 0x010d: 'DocumentName', 0x010e: 'ImageDescription',
  0x010f: 'Make', 0x0110: 'Model', 0x0112: 'Orientation', 0x011a: 'XResolution',
  0x011b: 'YResolution', 0x011d: 'PageName', 0x0128: 'ResolutionUnit', 0x0131: 'Software',
  0x0132: 'DateTime', 0x013b: 'Artist', 0x013c: 'HostComputer', 0x0201: 'ThumbnailOffset',
  0x0202: 'ThumbnailLength', 0x0213: 'YCbCrPositioning', 0x8298: 'Copyright',
  0x829a: 'ExposureTime', 0x829d: 'FNumber', 0x8822: 'ExposureProgram', 0x8827: 'ISO',
  0x9000: 'ExifVersion', 0x9003: 'DateTimeOriginal', 0x9004: 'DateTimeDigitized',
  0x9010: 'OffsetTime', 0x9011: 'OffsetTimeOriginal', 0x9012: 'OffsetTimeDigitized',
  0x9101: 'ComponentsConfiguration', 0x920a: 'FocalLength', 0x927c: 'MakerNote',
  0x9286: 'UserComment', 0x9290: 'SubSecTime', 0x9c9b: 'XPTitle', 0x9c9c: 'XPComment',
  0x9c9d: 'XPAuthor', 0x9c9e: 'XPKeywords', 0x9c9f: 'XPSubject', 0xa000: 'FlashpixVersion',
  0xa001: 'ColorSpace', 0xa002: 'PixelXDimension', 0xa003: 'PixelYDimension',
  0xa004: 'RelatedSoundFile', 0xa420: 'ImageUniqueID', 0xa430: 'CameraOwnerName',
  0xa431: 'BodySerialNumber', 0xa432: 'LensSpecification', 0xa433: 'LensMake',
  0xa434: 'LensModel', 0xa435: 'LensSerialNumber', 0xc614: 'UniqueCameraModel',
};

const GPS_TAGS: Record<number, string> = {
  0x00: 'GPSVersionID', 0x01: 'GPSLatitudeRef', 0x02: 'GPSLatitude', 0x03: 'GPSLongitudeRef',
  0x04: 'GPSLongitude', 0x05: 'GPSAltitudeRef', 0x06: 'GPSAltitude', 0x07: 'GPSTimeStamp',
  0x08: 'GPSSatellites', 0x09: 'GPSStatus', 0x0a: 'GPSMeasureMode', 0x0b: 'GPSDOP',
  0x0c: 'GPSSpeedRef', 0x0d: 'GPSSpeed', 0x0e: 'GPSTrackRef', 0x0f: 'GPSTrack',
  0x10: 'GPSImgDirectionRef', 0x11: 'GPSImgDirection', 0x12: 'GPSMapDatum',
  0x13: 'GPSDestLatitudeRef', 0x14: 'GPSDestLatitude', 0x15: 'GPSDestLongitudeRef',
  0x16: 'GPSDestLongitude', 0x17: 'GPSDestBearingRef', 0x18: 'GPSDestBearing',
  0x19: 'GPSDestDistanceRef', 0x1a: 'GPSDestDistance', 0x1b: 'GPSProcessingMethod',
  0x1c: 'GPSAreaInformation', 0x1d: 'GPSDateStamp', 0x1e: 'GPSDifferential',
  0x1f: 'GPSHPositioningError',
};

const INTEROP_TAGS: Record<number, string> = { 0x0001: 'InteropIndex', 0x0002: 'InteropVersion' };

type IfdKind = 'main' | 'gps' | 'interop';

/** Tags that point to another IFD, and the dictionary its tags are named from. */
const SUB_IFD: Record<number, IfdKind> = { 0x8769: 'main', 0x8825: 'gps', 0xa005: 'interop', 0x014a: 'main' };

/** Numeric arrays longer than this are cut in the text (they are offsets and tables, not prose). */
const MAX_RENDERED_VALUES = 32;

const MAX_IFDS = 64;

/**
 * The text of an EXIF block: one `Name value` line per field of every IFD (IFD0, IFD1, Exif,
 * GPS, Interop, SubIFDs), both byte orders. `block` is a TIFF structure, optionally behind the
 * `Exif\0\0` header used in JPEG APP1 and some WebP EXIF chunks.
 */
function exifText(block: Buffer, what: string): string {
  const tiff = block.subarray(0, 5).equals(EXIF_ID) ? block.subarray(6) : block;
  need(tiff.length, 0, 8, `${what}: EXIF header`);
  const order = ascii(tiff, 0, 2);
  if (order !== 'II' && order !== 'MM') corrupt(`${what}: EXIF byte order mark is invalid`);
  const le = order === 'II';
  const u16 = (off: number): number => {
    need(tiff.length, off, 2, `${what}: EXIF`);
    return le ? tiff.readUInt16LE(off) : tiff.readUInt16BE(off);
  };
  const u32 = (off: number): number => {
    need(tiff.length, off, 4, `${what}: EXIF`);
    return le ? tiff.readUInt32LE(off) : tiff.readUInt32BE(off);
  };
  if (u16(2) !== 42) corrupt(`${what}: EXIF magic number is not 42`);

  const lines: string[] = [];
  const visited = new Set<number>();

  const walk = (offset: number, kind: IfdKind): number => {
    if (visited.has(offset)) corrupt(`${what}: EXIF IFD loop at offset ${offset}`);
    if (visited.size >= MAX_IFDS) corrupt(`${what}: more than ${MAX_IFDS} EXIF IFDs`);
    visited.add(offset);
    const count = u16(offset);
    need(tiff.length, offset + 2, count * 12 + 4, `${what}: EXIF IFD at offset ${offset}`);
    const fields: Array<{ name: string; value: string }> = [];
    const subIfds: Array<[number, IfdKind]> = [];
    for (let i = 0; i < count; i++) {
      const entry = offset + 2 + i * 12;
      const tag = u16(entry);
      const type = u16(entry + 2);
      const n = u32(entry + 4);
      const size = TIFF_TYPE_SIZE[type];
      if (size === undefined) corrupt(`${what}: EXIF tag 0x${tag.toString(16)} has unknown type ${type}`);
      const total = size * n;
      const valueAt = total <= 4 ? entry + 8 : u32(entry + 8);
      need(tiff.length, valueAt, total, `${what}: EXIF tag 0x${tag.toString(16)} value`);
      const value = tiff.subarray(valueAt, valueAt + total);
      const sub = kind === 'main' ? SUB_IFD[tag] : undefined;
      if (sub !== undefined && (type === 4 || type === 13)) {
        for (let k = 0; k < n; k++) {
          const target = le ? value.readUInt32LE(k * 4) : value.readUInt32BE(k * 4);
          if (target !== 0) subIfds.push([target, sub]);
        }
        continue;
      }
      const names = kind === 'gps' ? GPS_TAGS : kind === 'interop' ? INTEROP_TAGS : TIFF_TAGS;
      const name = names[tag] ?? `Tag0x${tag.toString(16).padStart(4, '0')}`;
      const rendered = renderTiffValue(kind, tag, type, n, value, le);
      if (rendered) fields.push({ name, value: rendered });
    }
    if (kind === 'gps') {
      // Show a coordinate with its hemisphere, e.g. 'GPSLatitude 30/1 15/1 1234/100 N'.
      for (const f of fields) {
        const ref = fields.find((r) => r.name === `${f.name}Ref`);
        if (ref && /(Latitude|Longitude)$/u.test(f.name)) f.value = `${f.value} ${ref.value}`;
      }
    }
    for (const f of fields) lines.push(`${f.name} ${f.value}`);
    // Sub-IFDs after this IFD's own fields, so the text reads in file order.
    for (const [target, sub] of subIfds) walk(target, sub);
    return u32(offset + 2 + count * 12);
  };

  // IFD0, then the chain after it (IFD1 describes the thumbnail).
  let next = walk(u32(4), 'main');
  while (next !== 0) next = walk(next, 'main');
  return lines.join('\n');
}

function renderTiffValue(kind: IfdKind, tag: number, type: number, count: number, value: Buffer, le: boolean): string {
  if (kind === 'main' && tag >= 0x9c9b && tag <= 0x9c9f && (type === 1 || type === 7)) {
    // Windows XP* tags: UTF-16LE whatever the TIFF byte order.
    return trimNul(value.subarray(0, value.length & ~1).toString('utf16le')).trim();
  }
  if (type === 7 && ((kind === 'main' && tag === 0x9286) || (kind === 'gps' && (tag === 0x1b || tag === 0x1c)))) {
    return encodedText(value, le);
  }
  const read = (i: number): string => {
    switch (type) {
      case 1: case 7: return String(value.readUInt8(i));
      case 6: return String(value.readInt8(i));
      case 3: return String(le ? value.readUInt16LE(i * 2) : value.readUInt16BE(i * 2));
      case 8: return String(le ? value.readInt16LE(i * 2) : value.readInt16BE(i * 2));
      case 4: case 13: return String(le ? value.readUInt32LE(i * 4) : value.readUInt32BE(i * 4));
      case 9: return String(le ? value.readInt32LE(i * 4) : value.readInt32BE(i * 4));
      case 5: return `${le ? value.readUInt32LE(i * 8) : value.readUInt32BE(i * 8)}/${le ? value.readUInt32LE(i * 8 + 4) : value.readUInt32BE(i * 8 + 4)}`;
      case 10: return `${le ? value.readInt32LE(i * 8) : value.readInt32BE(i * 8)}/${le ? value.readInt32LE(i * 8 + 4) : value.readInt32BE(i * 8 + 4)}`;
      case 11: return String(le ? value.readFloatLE(i * 4) : value.readFloatBE(i * 4));
      default: return String(le ? value.readDoubleLE(i * 8) : value.readDoubleBE(i * 8));
    }
  };
  if (type === 2) {
    // ASCII may hold several NUL-separated strings; many writers put UTF-8 in it.
    return splitNul(value).map(decodeText).join(' ').trim();
  }
  if (type === 7 || ((type === 1 || type === 6) && count > 16)) return printableRuns(value);
  const shown = Math.min(count, MAX_RENDERED_VALUES);
  const parts: string[] = [];
  for (let i = 0; i < shown; i++) parts.push(read(i));
  if (count > shown) parts.push('…');
  return parts.join(' ');
}

function splitNul(buf: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= buf.length; i++) {
    if (i === buf.length || buf[i] === 0) {
      if (i > start) parts.push(buf.subarray(start, i));
      start = i + 1;
    }
  }
  return parts;
}

/** EXIF "encoded string" (UserComment, GPSProcessingMethod): an 8-byte charset code, then text. */
function encodedText(value: Buffer, le: boolean): string {
  if (value.length < 8) return printableRuns(value);
  const code = value.toString('latin1', 0, 8).replace(/\0+$/u, '');
  const body = value.subarray(8);
  if (code === 'UNICODE') {
    const even = Buffer.from(body.subarray(0, body.length & ~1));
    return trimNul((le ? even : even.swap16()).toString('utf16le')).trim();
  }
  if (code === 'ASCII' || code === '') return trimNul(decodeText(body)).trim();
  return printableRuns(body);
}

// ---------------------------------------------------------------------------------------------
// ICC profiles

const ICC_TAG_NAMES: Record<string, string> = {
  desc: 'ProfileDescription', cprt: 'ProfileCopyright', dmnd: 'DeviceManufacturer',
  dmdd: 'DeviceModel', vued: 'ViewingConditions',
};

/** The text-typed tags of an ICC profile ('desc', 'text', 'mluc'), one `Name value` line each. */
function iccText(profile: Buffer, what: string): string {
  const at = `${what}: ICC profile`;
  need(profile.length, 0, 132, at);
  const declared = profile.readUInt32BE(0);
  if (declared > profile.length || declared < 132) corrupt(`${at}: declared size does not match`);
  const icc = profile.subarray(0, declared);
  const count = icc.readUInt32BE(128);
  need(icc.length, 132, count * 12, `${at} tag table`);
  const lines: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < count; i++) {
    const entry = 132 + i * 12;
    const sig = ascii(icc, entry, 4);
    const offset = icc.readUInt32BE(entry + 4);
    const size = icc.readUInt32BE(entry + 8);
    need(icc.length, offset, size, `${at} tag ${i}`);
    const data = icc.subarray(offset, offset + size);
    if (data.length < 8) continue;
    const type = ascii(data, 0, 4);
    let text = '';
    if (type === 'text') {
      text = trimNul(data.toString('latin1', 8));
    } else if (type === 'desc') {
      need(data.length, 8, 4, `${at} tag ${i}`);
      const n = data.readUInt32BE(8);
      need(data.length, 12, n, `${at} tag ${i}`);
      text = trimNul(data.toString('latin1', 12, 12 + n));
    } else if (type === 'mluc') {
      need(data.length, 8, 8, `${at} tag ${i}`);
      const records = data.readUInt32BE(8);
      const recordSize = data.readUInt32BE(12);
      if (recordSize < 12) corrupt(`${at} tag ${i}: bad mluc record size`);
      need(data.length, 16, records * recordSize, `${at} tag ${i}`);
      const texts: string[] = [];
      for (let r = 0; r < records; r++) {
        const rec = 16 + r * recordSize;
        const len = data.readUInt32BE(rec + 4);
        const off = data.readUInt32BE(rec + 8);
        need(data.length, off, len, `${at} tag ${i}`);
        const t = trimNul(Buffer.from(data.subarray(off, off + (len & ~1))).swap16().toString('utf16le'));
        if (t && !texts.includes(t)) texts.push(t);
      }
      text = texts.join(' / ');
    } else {
      continue;
    }
    const line = `${ICC_TAG_NAMES[sig] ?? `ICC ${sig.replace(/[^\x20-\x7e]/gu, '?')}`} ${text.trim()}`;
    if (text.trim() && !seen.has(line)) {
      seen.add(line);
      lines.push(line);
    }
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Photoshop image resources and IPTC-IIM

const PS_SIGNATURES = new Set(['8BIM', 'MeSa', 'PHUT', 'AgHg', 'DCSR']);

const IPTC_NAMES: Record<string, string> = {
  '2:5': 'ObjectName', '2:15': 'Category', '2:20': 'SupplementalCategories', '2:25': 'Keywords',
  '2:40': 'SpecialInstructions', '2:55': 'DateCreated', '2:60': 'TimeCreated', '2:80': 'By-line',
  '2:85': 'By-lineTitle', '2:90': 'City', '2:92': 'Sub-location', '2:95': 'Province-State',
  '2:100': 'Country-PrimaryLocationCode', '2:101': 'Country-PrimaryLocationName',
  '2:103': 'OriginalTransmissionReference', '2:105': 'Headline', '2:110': 'Credit',
  '2:115': 'Source', '2:116': 'CopyrightNotice', '2:118': 'Contact', '2:120': 'Caption-Abstract',
  '2:122': 'Writer-Editor',
};

/** Text of a Photoshop image-resource block (after 'Photoshop 3.0\0'): IPTC, XMP, EXIF, names. */
function photoshopText(data: Buffer, what: string): string {
  const lines: string[] = [];
  let p = 0;
  while (p < data.length) {
    need(data.length, p, 8, `${what}: image resource at ${p}`);
    if (!PS_SIGNATURES.has(ascii(data, p, 4))) corrupt(`${what}: bad image resource signature at ${p}`);
    const id = data.readUInt16BE(p + 4);
    const nameLength = data[p + 6] as number;
    const nameTotal = (1 + nameLength + 1) & ~1; // Pascal string padded to even length
    need(data.length, p + 6, nameTotal + 4, `${what}: image resource at ${p}`);
    const name = data.toString('latin1', p + 7, p + 7 + nameLength);
    const size = data.readUInt32BE(p + 6 + nameTotal);
    const start = p + 10 + nameTotal;
    need(data.length, start, size, `${what}: image resource at ${p}`);
    const body = data.subarray(start, start + size);
    if (name) lines.push(`ResourceName ${name}`);
    if (id === 0x0404) lines.push(iptcText(body, what));
    else if (id === 0x0424) lines.push(body.toString('utf8'));
    else if (id === 0x0422) lines.push(exifText(body, what));
    else if (id !== 0x0409 && id !== 0x040c) lines.push(printableRuns(body)); // 0x0409/0x040C: thumbnails
    p = start + size + (size & 1);
  }
  return lines.filter(Boolean).join('\n');
}

function iptcText(data: Buffer, what: string): string {
  const lines: string[] = [];
  let p = 0;
  while (p < data.length) {
    if (data[p] !== 0x1c) {
      // Writers pad the IIM block with zeros; anything else is not IIM.
      if (data.subarray(p).every((b) => b === 0)) break;
      corrupt(`${what}: bad IPTC dataset tag at ${p}`);
    }
    need(data.length, p, 5, `${what}: IPTC dataset at ${p}`);
    const key = `${data[p + 1]}:${data[p + 2]}`;
    let length = data.readUInt16BE(p + 3);
    let start = p + 5;
    if (length & 0x8000) {
      // Extended dataset: the low 15 bits give how many bytes hold the length.
      const n = length & 0x7fff;
      if (n < 1 || n > 4) corrupt(`${what}: bad IPTC extended length at ${p}`);
      need(data.length, start, n, `${what}: IPTC dataset at ${p}`);
      length = data.readUIntBE(start, n);
      start += n;
    }
    need(data.length, start, length, `${what}: IPTC dataset at ${p}`);
    const value = data.subarray(start, start + length);
    if (key !== '2:0' && key !== '1:90' && value.length > 0) {
      lines.push(`${IPTC_NAMES[key] ?? `IPTC${key}`} ${decodeText(value)}`);
    }
    p = start + length;
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// WebP (RIFF)

/** VP8X flag bits for ICC, EXIF and XMP: cleared when their chunks go. */
const VP8X_METADATA_FLAGS = 0x20 | 0x08 | 0x04;
const WEBP_IMAGE_CHUNKS = new Set(['VP8 ', 'VP8L', 'ALPH']);

interface RiffChunk {
  fourcc: string;
  data: Buffer;
  /** The whole chunk: header, data and pad byte. */
  raw: Buffer;
}

function riffChunks(buf: Buffer, start: number, what: string): RiffChunk[] {
  const chunks: RiffChunk[] = [];
  let pos = start;
  while (pos < buf.length) {
    need(buf.length, pos, 8, `${what}: chunk header at ${pos}`);
    const fourcc = ascii(buf, pos, 4);
    if (!/^[A-Za-z0-9 ]{4}$/u.test(fourcc)) corrupt(`${what}: invalid chunk id at ${pos}`);
    const size = buf.readUInt32LE(pos + 4);
    const padded = size + (size & 1);
    need(buf.length, pos + 8, padded, `${what}: chunk ${fourcc.trim()} at ${pos}`);
    chunks.push({ fourcc, data: buf.subarray(pos + 8, pos + 8 + size), raw: buf.subarray(pos, pos + 8 + padded) });
    pos += 8 + padded;
  }
  return chunks;
}

function stripWebp(buf: Buffer): Stripped {
  const riffSize = buf.readUInt32LE(4);
  if (riffSize + 8 !== buf.length) corrupt(`webp: RIFF size ${riffSize} does not match the file length ${buf.length} - 8`);
  const chunks = riffChunks(buf, 12, 'webp');
  const first = chunks[0];
  if (!first || !['VP8 ', 'VP8L', 'VP8X'].includes(first.fourcc)) corrupt('webp: first chunk is not VP8, VP8L or VP8X');
  const out: Buffer[] = [];
  const removed: RemovedBlock[] = [];
  let hasImage = false;
  for (const [i, c] of chunks.entries()) {
    const what = `webp: chunk ${c.fourcc.trim()} at index ${i}`;
    if (c.fourcc === 'VP8X') {
      if (i !== 0 || c.data.length !== 10) corrupt(`${what}: VP8X must be first and 10 bytes long`);
      const raw = Buffer.from(c.raw);
      raw[8] = (raw[8] as number) & ~VP8X_METADATA_FLAGS;
      out.push(raw);
    } else if (WEBP_IMAGE_CHUNKS.has(c.fourcc) || c.fourcc === 'ANIM') {
      if (c.fourcc !== 'ALPH' && c.fourcc !== 'ANIM') hasImage = true;
      out.push(c.raw);
    } else if (c.fourcc === 'ANMF') {
      // A frame holds its own image chunks; anything else inside would be metadata we keep.
      need(c.data.length, 0, 16, what);
      for (const sub of riffChunks(c.data, 16, `${what} frame`)) {
        if (!WEBP_IMAGE_CHUNKS.has(sub.fourcc)) unsupported(`${what}: unexpected chunk inside an animation frame`);
      }
      hasImage = true;
      out.push(c.raw);
    } else if (c.fourcc === 'EXIF') {
      removed.push({ kind: 'webp:EXIF', bytes: c.raw.length, text: exifText(c.data, what) });
    } else if (c.fourcc === 'XMP ') {
      removed.push({ kind: 'webp:XMP', bytes: c.raw.length, text: c.data.toString('utf8') });
    } else if (c.fourcc === 'ICCP') {
      removed.push({ kind: 'webp:ICCP', bytes: c.raw.length, text: iccText(c.data, what) });
    } else {
      removed.push({ kind: `webp:${c.fourcc.trim()}`, bytes: c.raw.length, text: printableRuns(c.data) });
    }
  }
  if (!hasImage) corrupt('webp: no image data chunk');
  const body = Buffer.concat(out);
  const header = Buffer.alloc(12);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(body.length + 4, 4);
  header.write('WEBP', 8, 'latin1');
  return { output: Buffer.concat([header, body]), removed };
}

// ---------------------------------------------------------------------------------------------
// GIF

/** Application extensions that control animation looping: kept. */
const GIF_KEEP_APPS = new Set(['NETSCAPE2.0', 'ANIMEXTS1.0']);

/** Parses data sub-blocks from `pos`; returns the offset after the terminator and the blocks. */
function gifSubBlocks(buf: Buffer, pos: number, what: string): { end: number; blocks: Buffer[] } {
  const blocks: Buffer[] = [];
  for (;;) {
    need(buf.length, pos, 1, `${what}: sub-block`);
    const size = buf[pos] as number;
    if (size === 0) return { end: pos + 1, blocks };
    need(buf.length, pos + 1, size, `${what}: sub-block`);
    blocks.push(buf.subarray(pos + 1, pos + 1 + size));
    pos += 1 + size;
  }
}

function stripGif(buf: Buffer): Stripped {
  need(buf.length, 0, 13, 'gif: header');
  const packed = buf[10] as number;
  let pos = 13 + (packed & 0x80 ? 3 << ((packed & 7) + 1) : 0);
  need(buf.length, 0, pos, 'gif: global colour table');
  const out: Buffer[] = [buf.subarray(0, pos)];
  const removed: RemovedBlock[] = [];
  let images = 0;
  for (;;) {
    need(buf.length, pos, 1, 'gif: no trailer (truncated)');
    const introducer = buf[pos];
    const start = pos;
    const at = `gif: block at offset ${pos}`;
    if (introducer === 0x3b) {
      out.push(buf.subarray(pos, pos + 1));
      pos++;
      break;
    }
    if (introducer === 0x2c) {
      need(buf.length, pos, 10, `${at}: image descriptor`);
      const flags = buf[pos + 9] as number;
      pos += 10 + (flags & 0x80 ? 3 << ((flags & 7) + 1) : 0);
      need(buf.length, pos, 1, `${at}: image data`);
      const minCodeSize = buf[pos] as number;
      if (minCodeSize < 1 || minCodeSize > 11) corrupt(`${at}: invalid LZW minimum code size`);
      pos = gifSubBlocks(buf, pos + 1, at).end;
      out.push(buf.subarray(start, pos));
      images++;
      continue;
    }
    if (introducer !== 0x21) corrupt(`${at}: unknown block type`);
    need(buf.length, pos, 2, at);
    const label = buf[pos + 1] as number;
    const { end, blocks } = gifSubBlocks(buf, pos + 2, at);
    const raw = buf.subarray(start, end);
    pos = end;
    if (label === 0xf9) {
      if (blocks.length !== 1 || blocks[0]?.length !== 4) corrupt(`${at}: malformed graphic control extension`);
      out.push(raw);
    } else if (label === 0xfe) {
      removed.push({ kind: 'gif:comment', bytes: raw.length, text: decodeText(Buffer.concat(blocks)) });
    } else if (label === 0xff) {
      const idBlock = blocks[0];
      if (!idBlock || idBlock.length !== 11) corrupt(`${at}: malformed application extension`);
      const id = idBlock.toString('latin1');
      if (GIF_KEEP_APPS.has(id)) {
        out.push(raw);
      } else if (id === 'XMP DataXMP') {
        // XMP is stored raw (its bytes double as sub-block lengths) and ends with a 258-byte
        // "magic trailer"; the packet is everything up to that trailer.
        const rawPacket = buf.subarray(start + 14, end - 1);
        const magic = rawPacket.lastIndexOf(Buffer.from([0x01, 0xff, 0xfe, 0xfd]));
        removed.push({ kind: 'gif:xmp', bytes: raw.length, text: rawPacket.subarray(0, magic < 0 ? rawPacket.length : magic).toString('utf8') });
      } else if (id === 'ICCRGBG1012') {
        removed.push({ kind: 'gif:icc', bytes: raw.length, text: iccText(Buffer.concat(blocks.slice(1)), at) });
      } else {
        const text = [printableRuns(idBlock, 1), printableRuns(Buffer.concat(blocks.slice(1)))].filter(Boolean).join('\n');
        removed.push({ kind: 'gif:application', bytes: raw.length, text });
      }
    } else if (label === 0x01) {
      // Plain-text extension: text meant to be drawn over the image, which browsers ignore.
      if (blocks[0]?.length !== 12) corrupt(`${at}: malformed plain text extension`);
      removed.push({ kind: 'gif:plaintext', bytes: raw.length, text: decodeText(Buffer.concat(blocks.slice(1))) });
    } else {
      removed.push({ kind: 'gif:extension', bytes: raw.length, text: printableRuns(Buffer.concat(blocks)) });
    }
  }
  if (images === 0) corrupt('gif: no image');
  if (pos < buf.length) {
    const tail = buf.subarray(pos);
    removed.push({ kind: 'gif:trailing', bytes: tail.length, text: printableRuns(tail) });
  }
  return { output: Buffer.concat(out), removed };
}
