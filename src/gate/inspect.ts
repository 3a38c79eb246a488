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
import { open } from 'node:fs/promises';
import type { Finding } from '../manifest.js';

/** The inline marker. `aliscrub:allow` alone allows every detector; ids may follow. */
export const MARKER = 'aliscrub:allow';
const MARKER_BYTES = Buffer.from(MARKER);
const CHUNK = 1024 * 1024;
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

/** Estimated end when the file cannot be re-read: same line, one column per byte. */
export function estimatedEnd(f: Finding): EndPosition {
  return { endLine: f.line, endColumn: f.column + Math.max(1, f.end - f.start) };
}

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

interface Query {
  readonly offset: number;
  readonly finding: number;
  readonly kind: 'start' | 'end';
}

/**
 * Re-reads `file` (expected to be `size` bytes of UTF-8 text whose byte offsets the findings use).
 * @param known ids of the loaded detectors (a marker naming anything else allows nothing).
 */
export async function inspectFile(file: string, size: number, findings: readonly Finding[], known: ReadonlySet<string>): Promise<Inspection> {
  const fallback: Inspection = { consistent: false, markers: [], ends: findings.map(estimatedEnd) };
  if (findings.length === 0) return { consistent: true, markers: [], ends: [] };
  let fh;
  try {
    fh = await open(file, 'r');
  } catch {
    return fallback;
  }
  try {
    if ((await fh.stat()).size !== size) return fallback;
    const queries: Query[] = [];
    findings.forEach((f, i) => {
      queries.push({ offset: f.start, finding: i, kind: 'start' }, { offset: f.end, finding: i, kind: 'end' });
    });
    queries.sort((a, b) => a.offset - b.offset);
    const starts: Array<[number, number] | undefined> = new Array(findings.length);
    const ends: Array<EndPosition | undefined> = new Array(findings.length);
    const markerAt: Array<{ pos: number; line: number }> = [];

    let line = 1; // line at `pos`
    let col = 1; // column at `pos`
    let pos = 0; // bytes consumed
    let qi = 0;
    let carry = Buffer.alloc(0);
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, pos);
      if (bytesRead === 0) break;
      const chunk = buf.subarray(0, bytesRead);
      const chunkStart = pos;
      // Markers: search the carry (end of the previous chunk) plus this chunk.
      const hay = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
      const hayStart = chunkStart - carry.length;
      const inChunk: number[] = [];
      for (let i = hay.indexOf(MARKER_BYTES); i >= 0; i = hay.indexOf(MARKER_BYTES, i + 1)) {
        const g = hayStart + i;
        // A marker that started in the carry holds no newline, so it is on the current line.
        if (g < chunkStart) markerAt.push({ pos: g, line });
        else inChunk.push(g);
      }
      // Walk the chunk event by event, counting lines and characters.
      let cursor = 0;
      const advance = (to: number): void => {
        let k = cursor;
        for (let nl = chunk.indexOf(0x0a, k); nl >= 0 && nl < to; nl = chunk.indexOf(0x0a, k)) {
          line++;
          col = 1;
          k = nl + 1;
        }
        col += countChars(chunk, k, to);
        cursor = to;
      };
      let mi = 0;
      for (;;) {
        const q = queries[qi];
        const qOff = q && q.offset < chunkStart + bytesRead ? q.offset : Infinity;
        const mOff = mi < inChunk.length ? inChunk[mi]! : Infinity;
        if (qOff === Infinity && mOff === Infinity) break;
        if (mOff <= qOff) {
          advance(mOff - chunkStart);
          markerAt.push({ pos: mOff, line });
          mi++;
        } else {
          advance(qOff - chunkStart);
          if (q!.kind === 'start') starts[q!.finding] = [line, col];
          else ends[q!.finding] = { endLine: line, endColumn: col };
          qi++;
        }
      }
      advance(bytesRead);
      pos += bytesRead;
      carry = Buffer.from(hay.subarray(Math.max(0, hay.length - (MARKER_BYTES.length - 1))));
    }
    if (pos !== size) return fallback;
    // Offsets at the very end of the file.
    for (; qi < queries.length; qi++) {
      const q = queries[qi]!;
      if (q.offset !== size) return fallback;
      if (q.kind === 'start') starts[q.finding] = [line, col];
      else ends[q.finding] = { endLine: line, endColumn: col };
    }
    for (let i = 0; i < findings.length; i++) {
      const s = starts[i];
      if (!s || s[0] !== findings[i]!.line || s[1] !== findings[i]!.column || !ends[i]) return fallback;
    }

    // Markers that matter: on a finding's line or the line before, and not inside a finding.
    const wanted = new Set<number>();
    for (const f of findings) wanted.add(f.line).add(f.line - 1);
    const markers: Marker[] = [];
    const tail = Buffer.alloc(TAIL_BYTES);
    for (const m of markerAt) {
      if (!wanted.has(m.line)) continue;
      if (findings.some((f) => m.pos < f.end && m.pos + MARKER_BYTES.length > f.start)) continue;
      const { bytesRead } = await fh.read(tail, 0, TAIL_BYTES, m.pos + MARKER_BYTES.length);
      const parsed = parseMarkerTail(tail.subarray(0, bytesRead), known);
      if (parsed) markers.push({ line: m.line, ...parsed });
    }
    return { consistent: true, markers, ends: ends as EndPosition[] };
  } catch {
    return fallback;
  } finally {
    await fh.close().catch(() => {});
  }
}

/** True when a marker on the finding's line or the line before allows its detector. */
export function allowedInline(markers: readonly Marker[], f: Pick<Finding, 'line' | 'detector'>): boolean {
  return markers.some((m) => (m.line === f.line || m.line === f.line - 1) && (m.detectors === 'all' || m.detectors.includes(f.detector)));
}
