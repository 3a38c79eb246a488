/**
 * Text encodings of evidence files. Detectors run on UTF-8 bytes, so a UTF-16 or GB18030 file is
 * decoded to UTF-8 on the way in and encoded back on the way out: the redacted copy keeps its
 * original encoding, BOM and line endings. Decoding is strict (WHATWG TextDecoder with
 * `fatal: true`): a byte sequence that is not valid in the detected encoding fails the file
 * (fail closed) instead of turning into U+FFFD.
 */
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { isUtf8 } from 'node:buffer';
import { TextDecoder } from 'node:util';
import { createRequire } from 'node:module';
import { FileError } from '../errors.js';

// iconv-lite (CommonJS, ~7 ms to load) only encodes GB18030 back: required on first such file.
const require = createRequire(import.meta.url);
let iconvLib: typeof import('iconv-lite') | undefined;
const iconv = (): typeof import('iconv-lite') => (iconvLib ??= require('iconv-lite') as typeof import('iconv-lite'));

/** Encodings aliscrub reads and writes back. */
export type TextEncoding = 'utf-8' | 'utf-16le' | 'utf-16be' | 'gb18030';
export const TEXT_ENCODINGS: readonly TextEncoding[] = ['utf-8', 'utf-16le', 'utf-16be', 'gb18030'];

/** What sniffing the start of a file concluded. */
export type Sniffed =
  | { readonly kind: 'text'; readonly encoding: TextEncoding; readonly bom: boolean }
  | { readonly kind: 'binary' }
  | { readonly kind: 'undecodable' };

/** Bytes sniffed to decide the encoding. */
export const SNIFF_BYTES = 64 * 1024;

/** Accepts user spellings of an encoding (`--encoding`). */
export function parseEncoding(name: string): TextEncoding | undefined {
  const n = name.toLowerCase().replace(/_/g, '-');
  if (n === 'utf8' || n === 'utf-8') return 'utf-8';
  if (n === 'utf-16le' || n === 'utf16le') return 'utf-16le';
  if (n === 'utf-16be' || n === 'utf16be') return 'utf-16be';
  if (n === 'gb18030' || n === 'gbk' || n === 'gb2312' || n === 'cp936') return 'gb18030';
  return undefined;
}

/** Strict decode of a sample; a trailing incomplete character is allowed (the sample is cut). */
function decodesAs(encoding: TextEncoding, sample: Buffer): string | undefined {
  try {
    return new TextDecoder(encoding, { fatal: true, ignoreBOM: true }).decode(sample, { stream: true });
  } catch {
    return undefined;
  }
}

/** True when the NUL bytes of `sample` sit at one parity, as in UTF-16 text with mostly ASCII. */
function utf16Parity(sample: Buffer): 'le' | 'be' | undefined {
  const pairs = Math.floor(Math.min(sample.length, 4096) / 2);
  if (pairs < 2) return undefined;
  let evenZero = 0;
  let oddZero = 0;
  for (let i = 0; i < pairs; i++) {
    if (sample[2 * i] === 0) evenZero++;
    if (sample[2 * i + 1] === 0) oddZero++;
  }
  if (oddZero / pairs > 0.3 && evenZero / pairs < 0.02) return 'le';
  if (evenZero / pairs > 0.3 && oddZero / pairs < 0.02) return 'be';
  return undefined;
}

/**
 * Decides how to read a file from its first bytes.
 * @param sample the first {@link SNIFF_BYTES} bytes (fewer for a short file).
 * @param forced an encoding given by the user, which skips detection.
 */
export function sniffEncoding(sample: Buffer, forced?: TextEncoding): Sniffed {
  const bomUtf8 = sample[0] === 0xef && sample[1] === 0xbb && sample[2] === 0xbf;
  const bomLe = sample[0] === 0xff && sample[1] === 0xfe;
  const bomBe = sample[0] === 0xfe && sample[1] === 0xff;
  if (forced) {
    const bom = forced === 'utf-8' ? bomUtf8 : forced === 'utf-16le' ? bomLe : forced === 'utf-16be' ? bomBe : false;
    return { kind: 'text', encoding: forced, bom };
  }
  if (bomUtf8) return { kind: 'text', encoding: 'utf-8', bom: true };
  if (bomLe) return decodesAs('utf-16le', sample.subarray(2)) !== undefined ? { kind: 'text', encoding: 'utf-16le', bom: true } : { kind: 'undecodable' };
  if (bomBe) return decodesAs('utf-16be', sample.subarray(2)) !== undefined ? { kind: 'text', encoding: 'utf-16be', bom: true } : { kind: 'undecodable' };
  if (sample.indexOf(0) >= 0) {
    const parity = utf16Parity(sample);
    if (parity) {
      const enc = parity === 'le' ? 'utf-16le' : 'utf-16be';
      const text = decodesAs(enc, sample);
      if (text !== undefined && !text.includes('\u0000')) return { kind: 'text', encoding: enc, bom: false };
    }
    return { kind: 'binary' };
  }
  // Valid UTF-8 (allowing a character cut at the end of the sample) wins; plain ASCII is UTF-8.
  if (isUtf8(sample) || decodesAs('utf-8', sample) !== undefined) return { kind: 'text', encoding: 'utf-8', bom: false };
  const gb = decodesAs('gb18030', sample);
  if (gb !== undefined && /[\u3400-\u9fff]/.test(gb) && asciiTrailShare(sample) <= MAX_ASCII_TRAIL_SHARE) return { kind: 'text', encoding: 'gb18030', bom: false };
  return { kind: 'undecodable' };
}

/**
 * Above this share of two-byte GB18030 characters whose second byte is printable ASCII, the text
 * is more likely Windows-1252 (or another single-byte code page) than Chinese: there, `“LTAI…`
 * is 0x93 followed by ASCII, and reading it as GB18030 would fuse the quote and the `L` into one
 * character and hide the AccessKey from every detector. Simplified Chinese (GB2312 characters)
 * always has second bytes ≥ 0xA1; the GBK extensions with ASCII-range second bytes are a minority.
 */
const MAX_ASCII_TRAIL_SHARE = 0.3;

/** Share of GB18030 two-byte sequences in `sample` whose trail byte is in 0x40–0x7E. */
export function asciiTrailShare(sample: Buffer): number {
  let pairs = 0;
  let ascii = 0;
  for (let i = 0; i < sample.length; i++) {
    const b = sample[i]!;
    if (b < 0x81 || b === 0xff) continue;
    const t = sample[i + 1];
    if (t === undefined) break;
    if (t >= 0x30 && t <= 0x39) {
      i += 3; // four-byte sequence: lead, digit, lead, digit
      continue;
    }
    pairs++;
    if (t >= 0x40 && t <= 0x7e) ascii++;
    i++;
  }
  return pairs === 0 ? 0 : ascii / pairs;
}

/** Decodes `encoding` to UTF-8 bytes, strictly. The BOM (if any) is dropped and re-added by the encoder. */
export class DecodeToUtf8 extends Transform {
  private readonly decoder: TextDecoder;

  constructor(
    encoding: TextEncoding,
    private readonly name: string,
  ) {
    super();
    this.decoder = new TextDecoder(encoding, { fatal: true, ignoreBOM: false });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.run(() => this.decoder.decode(chunk, { stream: true }), cb);
  }

  override _flush(cb: TransformCallback): void {
    this.run(() => this.decoder.decode(), cb);
  }

  private run(decode: () => string, cb: TransformCallback): void {
    let text: string;
    try {
      text = decode();
    } catch {
      cb(new FileError('undecodable', `${this.name}: not valid ${this.decoder.encoding}`));
      return;
    }
    cb(null, text.length ? Buffer.from(text, 'utf8') : undefined);
  }
}

/** Encodes UTF-8 bytes back to `encoding`, restoring a BOM when the input had one. */
export class EncodeFromUtf8 extends Transform {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private started = false;

  constructor(
    private readonly encoding: TextEncoding,
    private readonly bom: boolean,
  ) {
    super();
  }

  private encode(text: string): Buffer {
    let out: Buffer;
    if (this.encoding === 'utf-16le') out = Buffer.from(text, 'utf16le');
    else if (this.encoding === 'utf-16be') out = Buffer.from(text, 'utf16le').swap16();
    else if (this.encoding === 'gb18030') out = iconv().encode(text, 'gb18030');
    else out = Buffer.from(text, 'utf8');
    if (!this.started) {
      this.started = true;
      if (this.bom) {
        const mark = this.encoding === 'utf-16le' ? [0xff, 0xfe] : this.encoding === 'utf-16be' ? [0xfe, 0xff] : [];
        out = Buffer.concat([Buffer.from(mark), out]);
      }
    }
    return out;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      const text = this.decoder.decode(chunk, { stream: true });
      cb(null, text.length || (!this.started && this.bom) ? this.encode(text) : undefined);
    } catch (err) {
      cb(err as Error);
    }
  }

  override _flush(cb: TransformCallback): void {
    try {
      const text = this.decoder.decode();
      cb(null, text.length || (!this.started && this.bom) ? this.encode(text) : undefined);
    } catch (err) {
      cb(err as Error);
    }
  }
}

/** The decision shared by an {@link AutoDecode} and its {@link AutoEncode}. */
export interface EncodingState {
  sniffed?: Sniffed & { kind: 'text' };
}

/**
 * Sniffs the first {@link SNIFF_BYTES} bytes, then passes UTF-8 through unchanged or decodes
 * UTF-16/GB18030 to UTF-8. Binary or undecodable input errors the stream with a FileError.
 */
export class AutoDecode extends Transform {
  private head: Buffer[] = [];
  private headBytes = 0;
  private inner: DecodeToUtf8 | undefined;
  private decided = false;

  constructor(
    readonly state: EncodingState,
    private readonly name: string,
    private readonly forced?: TextEncoding,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.decided) {
      this.forward(chunk, cb);
      return;
    }
    this.head.push(chunk);
    this.headBytes += chunk.length;
    if (this.headBytes < SNIFF_BYTES) {
      cb();
      return;
    }
    this.decide(cb);
  }

  override _flush(cb: TransformCallback): void {
    const finish = (err?: Error | null, data?: Buffer): void => {
      if (err) return cb(err);
      if (data) this.push(data);
      if (!this.inner) return cb();
      this.inner._flush((e, data) => {
        if (e) return cb(e);
        if (data) this.push(data);
        cb();
      });
    };
    if (!this.decided) this.decide(finish);
    else finish();
  }

  private decide(cb: TransformCallback): void {
    const head = Buffer.concat(this.head);
    this.head = [];
    this.decided = true;
    const s = sniffEncoding(head, this.forced);
    if (s.kind === 'binary') return cb(new FileError('binary', `${this.name}: binary content`));
    if (s.kind === 'undecodable') return cb(new FileError('undecodable', `${this.name}: not valid UTF-8, UTF-16 or GB18030 text (use --encoding to force one)`));
    this.state.sniffed = s;
    if (s.encoding !== 'utf-8') this.inner = new DecodeToUtf8(s.encoding, this.name);
    this.forward(head, cb);
  }

  private forward(chunk: Buffer, cb: TransformCallback): void {
    if (!this.inner) return cb(null, chunk);
    this.inner._transform(chunk, 'utf8', cb);
  }
}

/** Encodes the redacted UTF-8 back into the encoding its {@link AutoDecode} detected. */
export class AutoEncode extends Transform {
  private inner: EncodeFromUtf8 | undefined;
  private decided = false;

  constructor(private readonly state: EncodingState) {
    super();
  }

  private ensure(): void {
    if (this.decided) return;
    this.decided = true;
    const s = this.state.sniffed;
    if (s && (s.encoding !== 'utf-8')) this.inner = new EncodeFromUtf8(s.encoding, s.bom);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.ensure();
    if (!this.inner) return cb(null, chunk);
    this.inner._transform(chunk, 'utf8', cb);
  }

  override _flush(cb: TransformCallback): void {
    this.ensure();
    if (!this.inner) return cb();
    this.inner._flush(cb);
  }
}
