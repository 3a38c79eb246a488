/**
 * A second, read-only pass over the files that have findings. It finds inline
 * `aliscrub:allow` markers and works out where each finding ends (line and column), which the
 * manifest does not record.
 *
 * Nothing read here leaves this module except line numbers, columns and the detector ids a
 * marker names (only when they are ids of loaded detectors). Line text is never kept.
 *
 * The pass re-reads the file as it is now. If the file no longer matches the scan (size differs,
 * or a finding's recorded line and column do not land where the scan put them), the file is
 * "inconsistent": its markers are not trusted (the findings stay, fail closed) and end positions
 * are estimated. Files the scan decoded (UTF-16, GB18030) or decompressed (`.gz`) are treated the
 * same way, because manifest offsets refer to their decoded UTF-8 text.
 */
import { closeSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { SYNC_READ_MAX, openForSyncRead } from '../source/read.js';
import type { FileRecord, Finding } from '../manifest.js';
import { findingColumns } from '../findings.js';
import type { FindingColumns } from '../findings.js';

/** The inline marker. `aliscrub:allow` alone allows every detector; ids may follow. */
export const MARKER = 'aliscrub:allow';
const MARKER_BYTES = Buffer.from(MARKER);
/** Read size: a small file is read in one call; a larger one in chunks of this size. */
export const CHUNK = 256 * 1024;
/** How far after the marker its detector ids are read. */
const TAIL_BYTES = 512;

/** A marker on a line. */
export interface Marker {
  readonly line: number;
  /** Detector ids it names, or `all` when it names none. */
  readonly detectors: readonly string[] | 'all';
  /** The marker named something that is not a loaded detector id (it then allows nothing else). */
  readonly unknownId: boolean;
}

/** Where a finding ends: 1-based line, and the column just past its last character. */
export interface EndPosition {
  readonly endLine: number;
  readonly endColumn: number;
}

export interface Inspection {
  /** False when the file could not be re-read or no longer matches the scan. */
  readonly consistent: boolean;
  /** Markers on a line that holds a finding or on the line before one. */
  readonly markers: readonly Marker[];
  /** End of each finding, in the order given. */
  readonly ends: readonly EndPosition[];
}

/**
 * The same as {@link Inspection} without an object per finding: the end of finding `i` is
 * (`ends[2i]`, `ends[2i + 1]`), or its {@link estimatedEnd} when `consistent` is false.
 */
export interface CompactInspection {
  readonly consistent: boolean;
  readonly markers: readonly Marker[];
  /** End line and column of each finding, interleaved. Present when consistent. */
  readonly ends?: Float64Array;
}

/**
 * True when a scanned file on disk can be re-read at its manifest offsets: a plain UTF-8 file
 * with findings. Archive members, decoded (UTF-16, GB18030) and decompressed files are not: they
 * keep estimated ends and their markers are not read (their findings stay: fail closed).
 */
export function inspectable(f: FileRecord): f is Extract<FileRecord, { readonly status: 'redacted' | 'clean' }> {
  return (f.status === 'redacted' || f.status === 'clean') && f.findings.length > 0 && f.encoding === 'utf-8' && f.compression === 'none';
}

/** Estimated end when the file cannot be re-read: same line, one column per byte. */
export function estimatedEnd(f: Finding): EndPosition {
  return { endLine: f.line, endColumn: estimatedEndColumn(f) };
}

/** The column of {@link estimatedEnd} (its line is the finding's line). */
export function estimatedEndColumn(f: Pick<Finding, 'column' | 'start' | 'end'>): number {
  return endColumnOf(f.column, f.start, f.end);
}

/** {@link estimatedEndColumn} of finding `i` of a column-wise list. */
export function estimatedEndColumnAt(xs: FindingColumns, i: number): number {
  return endColumnOf(xs.column(i), xs.start(i), xs.end(i));
}

/** One column per byte, at least one (an empty span still marks a column). */
const endColumnOf = (column: number, start: number, end: number): number => column + Math.max(1, end - start);

const isIdChar = (b: number | undefined): boolean =>
  b !== undefined && ((b >= 0x61 && b <= 0x7a) || (b >= 0x41 && b <= 0x5a) || (b >= 0x30 && b <= 0x39) || b === 0x2d || b === 0x5f);

/**
 * Parses what follows a marker: `aliscrub:allow`, `aliscrub:allow id`, `aliscrub:allow id1,id2`.
 * Returns undefined when the marker is part of a longer word (`aliscrub:allowlist`).
 */
export function parseMarkerTail(tail: Buffer, known: ReadonlySet<string>): Omit<Marker, 'line'> | undefined {
  if (isIdChar(tail[0])) return undefined;
  const nl = tail.findIndex((b) => b === 0x0a || b === 0x0d);
  const text = tail.subarray(0, nl < 0 ? tail.length : nl).toString('latin1');
  const m = /^[ \t]+([a-z0-9]+(?:-[a-z0-9]+)*(?:,[a-z0-9]+(?:-[a-z0-9]+)*)*)(?![A-Za-z0-9_-])/.exec(text);
  if (!m) return { detectors: 'all', unknownId: false };
  const ids = m[1]!.split(',');
  const good = ids.filter((id) => known.has(id));
  return { detectors: good, unknownId: good.length < ids.length };
}

/** Number of UTF-8 characters in buf[from, to): every byte that is not a continuation byte. */
function countChars(buf: Buffer, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) if ((buf[i]! & 0xc0) !== 0x80) n++;
  return n;
}

/**
 * Read buffers, reused from one file to the next (a fresh 1 MiB buffer per file made 100k small
 * files cost 100 GB of allocation and a full GC every few dozen files). At most as many are
 * kept as were in use at once.
 */
const spare: Buffer[] = [];
const MAX_SPARE = 16;

/**
 * The offsets of the findings' starts (query 2i) and ends (query 2i + 1), and the queries in
 * offset order (undefined when they already are: the usual case).
 */
function queries(findings: FindingColumns): { offsets: Float64Array; order: Uint32Array | undefined } {
  const offsets = new Float64Array(2 * findings.length);
  let sorted = true;
  let last = -1;
  for (let i = 0; i < findings.length; i++) {
    const start = findings.start(i);
    const end = findings.end(i);
    offsets[2 * i] = start;
    offsets[2 * i + 1] = end;
    if (start < last || end < start) sorted = false;
    last = end;
  }
  if (sorted) return { offsets, order: undefined };
  const order = new Uint32Array(offsets.length);
  for (let q = 0; q < order.length; q++) order[q] = q;
  order.sort((a, b) => offsets[a]! - offsets[b]! || a - b);
  return { offsets, order };
}

/**
 * Re-reads `file` (expected to be `size` bytes of UTF-8 text whose byte offsets the findings use).
 * @param known ids of the loaded detectors (a marker naming anything else allows nothing).
 */
export async function inspectFile(file: string, size: number, findings: readonly Finding[], known: ReadonlySet<string>): Promise<Inspection> {
  const c = await inspectFileCompact(file, size, findings, known);
  if (!c.consistent) return { consistent: false, markers: [], ends: findings.map(estimatedEnd) };
  return { consistent: true, markers: c.markers, ends: findings.map((_, i) => ({ endLine: c.ends![2 * i]!, endColumn: c.ends![2 * i + 1]! })) };
}

/** The few file operations the pass needs. */
interface Source {
  size(): Promise<number>;
  read(buf: Buffer, length: number, position: number): Promise<number>;
  close(): Promise<void>;
}

/**
 * Files up to {@link SYNC_READ_MAX} are read with synchronous calls, as the scan reads them (see
 * source/read.ts): a round trip through the thread pool per call made the re-read of 100k small
 * files cost seconds.
 */
async function openSource(file: string, size: number): Promise<Source> {
  if (size <= SYNC_READ_MAX) {
    const fd = openForSyncRead(file);
    return {
      // No fstat: the read asks for more than `size` bytes, so a file that changed size since the
      // scan is caught by the amount read.
      size: async () => size,
      read: async (buf, length, position) => readSync(fd, buf, 0, length, position),
      close: async () => closeSync(fd),
    };
  }
  const fh = await open(file, 'r');
  return {
    size: async () => (await fh.stat()).size,
    read: async (buf, length, position) => (await fh.read(buf, 0, length, position)).bytesRead,
    close: () => fh.close(),
  };
}

const INCONSISTENT: CompactInspection = { consistent: false, markers: [] };

// A class and a module-level function, not closures made per file and per chunk: V8 holds a
// closure's optimised code only weakly once the closure is gone, so every full GC threw it away
// and the next file compiled it again (DESIGN.md, "Closures made per call").

/** A walk's chunk before its first: never written, so one serves every walk. */
const NO_BYTES = Buffer.alloc(0);

/**
 * Lines counted as the walk goes through a file's chunks (newline search is native); columns only
 * where a query needs one, from the start of its line (or of the chunk).
 */
class LineWalk {
  /** Line at the walk's position, 1-based. */
  line = 1;
  /** Column (1-based, in characters) at byte {@link LineWalk.colPos}. */
  col = 1;
  /** Absolute byte offset that {@link LineWalk.col} is the column of. */
  private colPos = 0;
  private chunk: Buffer = NO_BYTES;
  /** Absolute byte offset of the chunk's first byte. */
  private chunkStart = 0;
  /** Chunk index the line count has reached. */
  private cursor = 0;

  /** Starts on the next chunk, at absolute byte offset `chunkStart`. */
  enter(chunk: Buffer, chunkStart: number): void {
    this.chunk = chunk;
    this.chunkStart = chunkStart;
    this.cursor = 0;
  }

  /** Counts the lines up to chunk index `to`. */
  advance(to: number): void {
    const chunk = this.chunk;
    for (let nl = chunk.indexOf(0x0a, this.cursor); nl >= 0 && nl < to; nl = chunk.indexOf(0x0a, nl + 1)) {
      this.line++;
      this.col = 1;
      this.colPos = this.chunkStart + nl + 1;
    }
    this.cursor = to;
  }

  /** The column at chunk index `to` (after {@link LineWalk.advance} to it). */
  column(to: number): number {
    this.col += countChars(this.chunk, this.colPos - this.chunkStart, to);
    this.colPos = this.chunkStart + to;
    return this.col;
  }
}

/** Records query `q` at (line, col) in `ends`; false when a start is not where the scan put it. */
function place(ends: Float64Array, findings: FindingColumns, q: number, line: number, col: number): boolean {
  const i = q >>> 1;
  if (q & 1) {
    ends[2 * i] = line;
    ends[2 * i + 1] = col;
    return true;
  }
  return findings.line(i) === line && findings.column(i) === col;
}

/** {@link inspectFile} without an object per finding. */
export async function inspectFileCompact(file: string, size: number, list: readonly Finding[], known: ReadonlySet<string>): Promise<CompactInspection> {
  const findings = findingColumns(list);
  const n = findings.length;
  if (n === 0) return { consistent: true, markers: [], ends: new Float64Array(0) };
  let fh;
  try {
    fh = await openSource(file, size);
  } catch {
    return INCONSISTENT;
  }
  const buf = spare.pop() ?? Buffer.allocUnsafe(CHUNK);
  try {
    if ((await fh.size()) !== size) return INCONSISTENT;
    const { offsets, order } = queries(findings);
    const nq = offsets.length;
    const ends = new Float64Array(nq);
    const markerPos: number[] = [];
    const markerLine: number[] = [];
    const walk = new LineWalk();
    let pos = 0; // bytes consumed
    let qi = 0;
    let carry: Buffer | undefined;
    for (;;) {
      const bytesRead = await fh.read(buf, CHUNK, pos);
      if (bytesRead === 0) break;
      const chunk = buf.subarray(0, bytesRead);
      const chunkStart = pos;
      const chunkEnd = chunkStart + bytesRead;
      // Markers: one that starts in the carry (end of the previous chunk) is searched in the carry
      // plus this chunk's first bytes (not a copy of the whole chunk); the others in this chunk.
      if (carry) {
        const edge = Buffer.concat([carry, chunk.subarray(0, MARKER_BYTES.length - 1)]);
        for (let i = edge.indexOf(MARKER_BYTES); i >= 0 && i < carry.length; i = edge.indexOf(MARKER_BYTES, i + 1)) {
          // It holds no newline, so it is on the current line.
          markerPos.push(chunkStart - carry.length + i);
          markerLine.push(walk.line);
        }
      }
      let inChunk: number[] | undefined;
      for (let i = chunk.indexOf(MARKER_BYTES); i >= 0; i = chunk.indexOf(MARKER_BYTES, i + 1)) (inChunk ??= []).push(chunkStart + i);
      walk.enter(chunk, chunkStart);
      let mi = 0;
      for (;;) {
        const q = qi < nq ? (order ? order[qi]! : qi) : -1;
        const qOff = q >= 0 && offsets[q]! < chunkEnd ? offsets[q]! : Infinity;
        const mOff = inChunk && mi < inChunk.length ? inChunk[mi]! : Infinity;
        if (qOff === Infinity && mOff === Infinity) break;
        if (mOff <= qOff) {
          walk.advance(mOff - chunkStart);
          markerPos.push(mOff);
          markerLine.push(walk.line);
          mi++;
        } else {
          walk.advance(qOff - chunkStart);
          if (!place(ends, findings, q, walk.line, walk.column(qOff - chunkStart))) return INCONSISTENT;
          qi++;
        }
      }
      pos += bytesRead;
      // A short read is the end of a regular file: no further read needed.
      if (bytesRead < CHUNK) {
        if (qi < nq) {
          walk.advance(bytesRead);
          walk.column(bytesRead);
        }
        break;
      }
      walk.advance(bytesRead);
      walk.column(bytesRead); // the column is carried into the next chunk
      carry = Buffer.from(chunk.subarray(chunk.length - (MARKER_BYTES.length - 1))); // a full chunk: longer than that
    }
    if (pos !== size) return INCONSISTENT;
    // Offsets at the very end of the file.
    for (; qi < nq; qi++) {
      const q = order ? order[qi]! : qi;
      if (offsets[q] !== size || !place(ends, findings, q, walk.line, walk.col)) return INCONSISTENT;
    }

    // Markers that matter: on a finding's line or the line before, and not inside a finding.
    const markers: Marker[] = [];
    if (markerPos.length > 0) {
      const wanted = new Set<number>();
      for (let i = 0; i < n; i++) wanted.add(findings.line(i)).add(findings.line(i) - 1);
      const tail = Buffer.alloc(TAIL_BYTES);
      for (let k = 0; k < markerPos.length; k++) {
        const mp = markerPos[k]!;
        const ml = markerLine[k]!;
        if (!wanted.has(ml)) continue;
        let inside = false;
        for (let i = 0; i < n && !inside; i++) inside = mp < findings.end(i) && mp + MARKER_BYTES.length > findings.start(i);
        if (inside) continue;
        const bytesRead = await fh.read(tail, TAIL_BYTES, mp + MARKER_BYTES.length);
        const parsed = parseMarkerTail(tail.subarray(0, bytesRead), known);
        if (parsed) markers.push({ line: ml, ...parsed });
      }
    }
    return { consistent: true, markers, ends };
  } catch {
    return INCONSISTENT;
  } finally {
    if (spare.length < MAX_SPARE) spare.push(buf);
    await fh.close().catch(() => {});
  }
}

/** True when a marker on the finding's line or the line before allows its detector. */
export function allowedInline(markers: readonly Marker[], f: Pick<Finding, 'line' | 'detector'>): boolean {
  return markers.some((m) => (m.line === f.line || m.line === f.line - 1) && (m.detectors === 'all' || m.detectors.includes(f.detector)));
}
