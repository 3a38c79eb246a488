/**
 * One file's redaction as a Transform: original bytes in, redacted bytes out.
 *
 * Input is consumed in windows: the retained tail of the previous window plus the new chunk.
 * The scanner reports only final hits and a frontier before which no new hit can start; the
 * redactor emits output up to that frontier (pulled back to the start of any merged span that
 * crosses it) and keeps the rest. Output is therefore byte-for-byte the same for every chunking,
 * and memory is bounded by the longest detector plus the chunk size.
 *
 * The stream also enforces what "scanned completely" means: a NUL byte makes the file binary and
 * invalid UTF-8 makes it undecodable; either errors the stream so the caller leaves the file out.
 */
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { isUtf8 } from 'node:buffer';
import { FileError } from '../errors.js';
import type { Scanner, FileScanner, Hit } from '../detect/scanner.js';
import type { Category, Detector } from '../detect/detector.js';
import { compareHits } from '../detect/scanner.js';
import { CONTEXT_BYTES } from '../detect/checks.js';
import type { Fingerprinter } from '../fingerprint.js';
import type { Finding } from '../manifest.js';
import { labelHit, mergeHits } from './plan.js';
import type { Span } from './plan.js';
import { formatToken } from './token.js';

/** What a finished redaction reports. */
export interface RedactionResult {
  /** Findings in file order (by start offset); see {@link FindingsCap} for what is left off. */
  readonly findings: Finding[];
  /** Every finding per detector id, listed or not. */
  readonly counts: Record<string, number>;
  /** Findings counted but not listed, per detector (sorted by id); empty when none. */
  readonly omitted: OmittedFindings[];
  readonly bytesIn: number;
  readonly bytesOut: number;
}

/** Findings of one detector that were counted but not listed (see {@link FindingsCap}). */
export interface OmittedFindings {
  readonly detector: string;
  readonly category: Category;
  readonly count: number;
}

/**
 * How many findings of one detector one file lists. A 5 GB access log holds tens of millions of
 * IP addresses; listing each would make memory grow with the input. Beyond `perDetector`, findings
 * of capped categories are still redacted and counted, but not listed. Secrets are never capped.
 */
export interface FindingsCap {
  readonly perDetector: number;
  /** Categories listed in full whatever their number (always includes `secret`). */
  readonly uncapped: readonly Category[];
}

/** The default cap: 1000 listed findings per detector per file; secrets always listed in full. */
export const DEFAULT_FINDINGS_CAP: FindingsCap = { perDetector: 1000, uncapped: ['secret'] };

/** Per-file options. */
export interface RedactorOptions {
  /** Name used in error messages (never file content). */
  readonly name: string;
  /**
   * Gather at least this many bytes before scanning a window. Affects speed only, never output;
   * tests set 0 to exercise every window boundary. @default 65536
   */
  readonly minScanBytes?: number;
  /** Makes the replacement text for a span instead of the default typed token (see {@link TokenMinter}). */
  readonly mint?: TokenMinter;
  /** Listing limit; `false` lists every finding. @default DEFAULT_FINDINGS_CAP */
  readonly findingsCap?: FindingsCap | false;
  /**
   * Find and count only (`scan`): no output is produced, so no token is made, and a value is
   * fingerprinted only when its finding is listed. Findings and counts are the same as with output.
   */
  readonly discard?: boolean;
}

/**
 * A hit decided outside the scanner (structured files: the value of a secret-like key, see
 * src/structure/). Offsets are absolute byte offsets in the redactor's input. It merges with
 * detector hits like any other hit, so tokens, fingerprints, lines and columns work the same.
 */
export interface ForcedHit extends Hit {
  readonly forced: true;
  /** Wrap the token in double quotes: the value was a bare JSON/YAML scalar (number, plain word). */
  readonly quote?: boolean;
  /** Emit these bytes instead of a token (a re-encoded HAR body); used only when no other hit overlaps. */
  readonly replacement?: Buffer;
  /** Findings inside a replaced value; recorded at the hit's position instead of the hit itself. */
  readonly inner?: ReadonlyArray<Pick<Finding, 'detector' | 'category' | 'fingerprint'>>;
}

/**
 * Optional hook that makes the replacement text of one redacted span (default:
 * `formatToken(detector.id, fingerprint)`). Used by bulk archiving to record value → token in a
 * per-incident map and for shape-preserving pseudonyms. Must be a pure function of its arguments
 * (plus fixed state), so that output stays deterministic whatever order files finish in.
 * @param detector the detector labelling the span (its id and category)
 * @param value the original bytes of the span (never to be logged)
 * @param fingerprint the keyed fingerprint of `value` (12 hex digits)
 */
export type TokenMinter = (detector: Pick<Detector, 'id' | 'category'>, value: Buffer, fingerprint: string) => string;

/** Input is scanned in windows of at least this many new bytes (64 KiB). */
const MIN_SCAN_BYTES = 64 * 1024;
/** Larger inputs are scanned in slices of this size (speed only; output is the same). */
const MAX_SCAN_BYTES = 64 * 1024;

/** Length of an incomplete UTF-8 sequence at the end of `buf` (0–3 bytes). */
function incompleteTail(buf: Buffer): number {
  for (let back = 1; back <= Math.min(3, buf.length); back++) {
    const b = buf[buf.length - back]!;
    if ((b & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

/** Counts Unicode characters (non-continuation bytes) in buf[from, to). */
function countChars(buf: Buffer, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) if ((buf[i]! & 0xc0) !== 0x80) n++;
  return n;
}

/** A Transform that redacts one file. Read {@link RedactTransform.result} after 'finish'/'end'. */
export class RedactTransform extends Transform {
  private readonly files: FileScanner;
  /** Retained bytes, starting at absolute offset `pendingBase`. */
  private pending: Buffer = Buffer.alloc(0);
  private pendingBase = 0;
  /** Absolute offset up to which output has been produced. */
  private emitted = 0;
  /** Final hits not yet emitted (their merged span may still grow). */
  private open: Hit[] = [];
  private readonly findings: Finding[] = [];
  /** Per detector: findings seen, and of those not listed. */
  private readonly seen = new Map<string, { category: Category; count: number; omitted: number }>();
  private bytesIn = 0;
  private bytesOut = 0;
  /** Line/column bookkeeping: position `counted` is at (line, column). */
  private counted = 0;
  private line = 1;
  private column = 1;
  /** Input not yet scanned (see MIN_SCAN_BYTES). */
  private gathered: Buffer[] = [];
  private gatheredBytes = 0;
  /** Bytes of an incomplete UTF-8 character carried to the next chunk. */
  private utf8Tail: Buffer = Buffer.alloc(0);
  /** Forced hits (sorted by start) and the next one not yet moved into `open`. */
  private readonly forced: ForcedHit[] = [];
  private forcedNext = 0;

  constructor(
    scanner: Scanner,
    private readonly fingerprints: Fingerprinter,
    private readonly options: RedactorOptions,
  ) {
    super();
    this.files = scanner.forFile();
  }

  /** Valid after the stream has ended. */
  get result(): RedactionResult {
    const ids = [...this.seen.keys()].sort();
    const counts: Record<string, number> = {};
    const omitted: OmittedFindings[] = [];
    for (const id of ids) {
      const s = this.seen.get(id)!;
      counts[id] = s.count;
      if (s.omitted > 0) omitted.push({ detector: id, category: s.category, count: s.omitted });
    }
    return { findings: this.findings, counts, omitted, bytesIn: this.bytesIn, bytesOut: this.bytesOut };
  }

  /** Counts a finding of `detector`; returns false when it is over the cap and not to be listed. */
  private count(detector: string, category: Category): boolean {
    let s = this.seen.get(detector);
    if (!s) this.seen.set(detector, (s = { category, count: 0, omitted: 0 }));
    s.count++;
    const cap = this.options.findingsCap === undefined ? DEFAULT_FINDINGS_CAP : this.options.findingsCap;
    if (cap && s.count > cap.perDetector && category !== 'secret' && !cap.uncapped.includes(category)) {
      s.omitted++;
      return false;
    }
    return true;
  }

  /** Counts a finding and lists it unless its detector is over the cap. */
  private add(f: Finding): void {
    if (this.count(f.detector, f.category)) this.findings.push(f);
  }

  /**
   * Adds hits decided outside the scanner. They must be sorted by start, start at or after every
   * earlier forced hit and after every byte already written (so output cannot depend on chunking).
   * @throws Error when that order is violated (a bug, reported as a scan error: fail closed).
   */
  force(hits: readonly ForcedHit[]): void {
    for (const h of hits) {
      const last = this.forced[this.forced.length - 1];
      if (h.start < this.bytesIn || h.end <= h.start || (last && h.start < last.start)) throw new Error(`${this.options.name}: forced hit out of order`);
      this.forced.push(h);
    }
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.bytesIn += chunk.length;
      this.checkText(chunk, false);
      // Small chunks are gathered first: each scan re-reads up to maxLength bytes of carry, so
      // scanning every tiny chunk on its own would cost O(size × maxLength). Output is the same
      // for any split (that is the point of the windowing), so this changes speed only.
      this.gathered.push(chunk);
      this.gatheredBytes += chunk.length;
      if (this.gatheredBytes >= (this.options.minScanBytes ?? MIN_SCAN_BYTES)) this.processGathered(false);
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  private processGathered(eof: boolean): void {
    const data = this.gathered.length === 1 ? this.gathered[0]! : Buffer.concat(this.gathered);
    this.gathered = [];
    this.gatheredBytes = 0;
    // Big reads are scanned in slices: the prefilter then runs a detector only on the slices that
    // hold its keyword, instead of on a whole 1 MiB read where almost every keyword occurs.
    const step = Math.max(MAX_SCAN_BYTES, this.options.minScanBytes ?? MIN_SCAN_BYTES);
    for (let at = 0; at + step < data.length; at += step) this.process(data.subarray(at, at + step), false);
    this.process(data.subarray(Math.floor(Math.max(0, data.length - 1) / step) * step), eof);
  }

  override _flush(cb: TransformCallback): void {
    try {
      this.checkText(Buffer.alloc(0), true);
      this.processGathered(true);
      if (this.forcedNext < this.forced.length || this.open.length > 0) throw new Error(`${this.options.name}: forced hit past the end of the input`);
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  /** Fails closed on binary content or invalid UTF-8, wherever in the file it appears. */
  private checkText(chunk: Buffer, eof: boolean): void {
    if (chunk.indexOf(0) >= 0) throw new FileError('binary', `${this.options.name}: binary content (NUL byte)`);
    const data = this.utf8Tail.length ? Buffer.concat([this.utf8Tail, chunk]) : chunk;
    const tail = eof ? 0 : incompleteTail(data);
    if (!isUtf8(data.subarray(0, data.length - tail)) || (eof && this.utf8Tail.length > 0 && data.length === this.utf8Tail.length && !isUtf8(data))) {
      throw new FileError('undecodable', `${this.options.name}: not valid UTF-8`);
    }
    this.utf8Tail = Buffer.from(data.subarray(data.length - tail));
  }

  private process(chunk: Buffer, eof: boolean): void {
    const window = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const base = this.pendingBase;
    const windowEnd = base + window.length;
    const hits = this.files.scan(window, base, eof);
    if (hits.length) this.open.push(...hits);
    while (this.forcedNext < this.forced.length && this.forced[this.forcedNext]!.start < windowEnd) this.open.push(this.forced[this.forcedNext++]!);
    this.open.sort(compareHits);

    let cut = eof ? windowEnd : Math.min(this.files.frontier, windowEnd);
    const spans = mergeHits(this.open);
    for (const s of spans) {
      if (s.start < cut && s.end > cut) {
        cut = s.start; // a span crossing the cut may still grow: hold it back whole
        break;
      }
    }

    const out: Buffer[] = [];
    let at = this.emitted;
    const stillOpen: Hit[] = [];
    const discard = this.options.discard === true;
    for (const s of spans) {
      if (s.end > cut) {
        stillOpen.push(...s.hits);
        continue;
      }
      const recorded = this.recordSpan(window, base, s);
      if (discard) continue;
      out.push(window.subarray(at - base, s.start - base));
      const own = s.hits.length === 1 ? (s.hits[0] as Partial<ForcedHit>).replacement : undefined;
      at = s.end;
      if (own) {
        out.push(own);
        continue;
      }
      const label = labelHit(s);
      const value = window.subarray(s.start - base, s.end - base);
      const fp = recorded ?? this.fingerprints.of(value);
      const token = this.options.mint ? this.options.mint(label.detector, value, fp) : formatToken(label.detector.id, fp);
      // A bare scalar (JSON number, YAML plain word) becomes a quoted string so the document still parses.
      const quote = s.hits.some((h) => (h as Partial<ForcedHit>).quote && h.start === s.start && h.end === s.end);
      out.push(Buffer.from(quote ? `"${token}"` : token));
    }
    if (!discard) out.push(window.subarray(at - base, cut - base));
    this.advance(window, base, cut);
    this.emitted = cut;
    this.open = stillOpen;

    const joined = out.length === 1 ? out[0]! : Buffer.concat(out);
    if (joined.length) {
      this.bytesOut += joined.length;
      // No copy: windows are never mutated (the retained tail below is a fresh Buffer).
      this.push(joined);
    }
    const keepFrom = Math.max(base, cut - CONTEXT_BYTES);
    this.pending = Buffer.from(window.subarray(keepFrom - base));
    this.pendingBase = keepFrom;
  }

  /**
   * Records a merged span's hits. A forced hit wholly covered by a detector hit adds nothing (the
   * detector already names the value); a replaced value records the findings inside it instead.
   * @returns the fingerprint of the whole span's value when a recorded hit covers exactly the span.
   */
  private recordSpan(window: Buffer, base: number, s: Span): string | undefined {
    let whole: string | undefined;
    for (const h of s.hits) {
      const f = h as Partial<ForcedHit>;
      let fp: string | undefined;
      if (!f.forced) fp = this.record(window, base, h);
      else if (f.inner) {
        this.advance(window, base, h.start);
        for (const x of f.inner) this.add({ detector: x.detector, category: x.category, line: this.line, column: this.column, start: h.start, end: h.end, fingerprint: x.fingerprint });
      } else if (!s.hits.some((o) => !(o as Partial<ForcedHit>).forced && o.start <= h.start && o.end >= h.end)) fp = this.record(window, base, h);
      if (fp !== undefined && h.start === s.start && h.end === s.end) whole = fp;
    }
    return whole;
  }

  /**
   * Records one hit as a finding; returns its value's fingerprint (the span's token reuses it), or
   * undefined when nothing needed it (discard mode, finding over the cap).
   */
  private record(window: Buffer, base: number, h: Hit): string | undefined {
    this.advance(window, base, h.start);
    const listed = this.count(h.detector.id, h.detector.category);
    if (!listed && this.options.discard) return undefined;
    const fingerprint = this.fingerprints.of(window.subarray(h.start - base, h.end - base));
    if (listed) {
      this.findings.push({
        detector: h.detector.id,
        category: h.detector.category,
        line: this.line,
        column: this.column,
        start: h.start,
        end: h.end,
        fingerprint,
      });
    }
    return fingerprint;
  }

  /** Moves the line/column counter forward to absolute offset `to` (which must be in `window`). */
  private advance(window: Buffer, base: number, to: number): void {
    if (to <= this.counted) return;
    let i = this.counted - base;
    const stop = to - base;
    for (;;) {
      const nl = window.indexOf(0x0a, i);
      if (nl < 0 || nl >= stop) break;
      this.line++;
      this.column = 1;
      i = nl + 1;
    }
    this.column += countChars(window, i, stop);
    this.counted = to;
  }
}

/** Creates the Transform for one file. */
export function createRedactor(scanner: Scanner, fingerprints: Fingerprinter, options: RedactorOptions): RedactTransform {
  return new RedactTransform(scanner, fingerprints, options);
}

/** Redacts a whole buffer at once (same algorithm, one window). Used by tests and `verify`. */
export async function redactBuffer(
  scanner: Scanner,
  fingerprints: Fingerprinter,
  input: Buffer,
  chunkSize = input.length || 1,
  minScanBytes?: number,
  findingsCap?: FindingsCap | false,
): Promise<{ output: Buffer; result: RedactionResult }> {
  const t = createRedactor(scanner, fingerprints, { name: '(buffer)', minScanBytes, findingsCap });
  const parts: Buffer[] = [];
  t.on('data', (b: Buffer) => parts.push(b));
  const done = new Promise<void>((resolve, reject) => {
    t.on('end', resolve);
    t.on('error', reject);
  });
  for (let i = 0; i < input.length; i += chunkSize) t.write(input.subarray(i, i + chunkSize));
  t.end();
  await done;
  return { output: Buffer.concat(parts), result: t.result };
}

/**
 * Redacts a short in-memory value synchronously (used for file names, which are part of the
 * bundle too). Same scanner, same merging, same tokens as file content.
 */
export function redactSmall(scanner: Scanner, fingerprints: Fingerprinter, input: Buffer, mint?: TokenMinter): { output: Buffer; hits: number } {
  const hits = scanner.forFile().scan(input, 0, true).sort(compareHits);
  if (hits.length === 0) return { output: input, hits: 0 };
  const out: Buffer[] = [];
  let at = 0;
  for (const s of mergeHits(hits)) {
    out.push(input.subarray(at, s.start));
    const value = input.subarray(s.start, s.end);
    const detector = labelHit(s).detector;
    out.push(Buffer.from(mint ? mint(detector, value, fingerprints.of(value)) : formatToken(detector.id, fingerprints.of(value))));
    at = s.end;
  }
  out.push(input.subarray(at));
  return { output: Buffer.concat(out), hits: hits.length };
}
