/**
 * Inspections (src/gate/inspect.ts) made while scanning, kept until the gate uses them.
 *
 * Every file's inspection lives from its scan to the gate. Kept as they come (an object, a marker
 * array, a Float64Array and its buffer each) they held ~550 bytes per file on the 10 000-file
 * bench corpus; here each file's ends are copied into a few large arrays, a file costs a map
 * entry, and markers are kept only for the few files that have some: ~280 bytes per file, ~190 of
 * them the ends themselves (16 bytes per finding). A file whose every end is its estimate (no
 * finding spans lines or holds a non-ASCII character: nearly all) keeps no ends at all.
 */
import { findingColumns } from '../findings.js';
import type { FileRecord, Finding } from '../manifest.js';
import { estimatedEndColumnAt } from './inspect.js';
import type { CompactInspection, Marker } from './inspect.js';

/** Floats per shared chunk of ends (1 MiB). */
const CHUNK = 1 << 17;
/** Ends longer than this keep their own array instead of a chunk's tail. */
const OWN = CHUNK >> 2;
/** {@link Inspections} entry of a file that no longer matched the scan. */
const INCONSISTENT = -1;
/** Entry of a file whose ends have their own array. */
const OWN_ARRAY = -2;
/** Entry of a file whose every end is its estimate (same line, one column per byte): the usual case. */
const AS_ESTIMATED = -3;
const NO_MARKERS: readonly Marker[] = Object.freeze([]);

/** The gate's inspections of a scan's files, by manifest record (`ScanResult.inspections`). */
export class Inspections {
  private readonly chunks: Float64Array[] = [];
  /** Floats used in the last chunk. */
  private used = CHUNK;
  /** Where each file's ends start (chunk × CHUNK + offset), or INCONSISTENT / OWN_ARRAY. */
  private readonly at = new Map<FileRecord, number>();
  private readonly own = new Map<FileRecord, Float64Array>();
  private readonly markers = new Map<FileRecord, readonly Marker[]>();

  /** Files held. */
  get size(): number {
    return this.at.size;
  }

  /**
   * Keeps the inspection of `f` (which must hold the findings it was made for). A consistent one
   * whose ends do not number two per finding is not kept: the gate then re-reads the file.
   */
  add(f: FileRecord, ins: CompactInspection): boolean {
    const n = listed(f).length;
    if (!ins.consistent) {
      this.at.set(f, INCONSISTENT);
      return true;
    }
    const ends = ins.ends;
    if (!ends || ends.length !== 2 * n) return false;
    if (ins.markers.length > 0) this.markers.set(f, ins.markers);
    if (endsAsEstimated(f, ends)) {
      this.at.set(f, AS_ESTIMATED);
      return true;
    }
    if (ends.length > OWN) {
      this.own.set(f, ends);
      this.at.set(f, OWN_ARRAY);
      return true;
    }
    if (this.used + ends.length > CHUNK) {
      this.chunks.push(new Float64Array(CHUNK));
      this.used = 0;
    }
    const c = this.chunks.length - 1;
    this.chunks[c]!.set(ends, this.used);
    this.at.set(f, c * CHUNK + this.used);
    this.used += ends.length;
    return true;
  }

  /** True when `f` has an inspection here. */
  has(f: FileRecord): boolean {
    return this.at.has(f);
  }

  /** The inspection of `f`, its ends a view into the store (valid until {@link clear}). */
  get(f: FileRecord): CompactInspection | undefined {
    const where = this.at.get(f);
    if (where === undefined) return undefined;
    if (where === INCONSISTENT) return { consistent: false, markers: NO_MARKERS };
    const markers = this.markers.get(f) ?? NO_MARKERS;
    if (where === OWN_ARRAY) return { consistent: true, markers, ends: this.own.get(f)! };
    if (where === AS_ESTIMATED) return { consistent: true, markers, ends: estimatedEnds(f) };
    const n = listed(f).length;
    const off = where % CHUNK;
    return { consistent: true, markers, ends: this.chunks[(where - off) / CHUNK]!.subarray(off, off + 2 * n) };
  }

  /** Drops everything. */
  clear(): void {
    this.chunks.length = 0;
    this.used = CHUNK;
    this.at.clear();
    this.own.clear();
    this.markers.clear();
  }
}

/** True when each end in `ends` (line, column pairs) is the finding's estimated end. */
function endsAsEstimated(f: FileRecord, ends: Float64Array): boolean {
  const xs = findingColumns(listed(f));
  for (let i = 0; i < xs.length; i++) {
    if (ends[2 * i] !== xs.line(i) || ends[2 * i + 1] !== estimatedEndColumnAt(xs, i)) return false;
  }
  return true;
}

/** The estimated ends of `f`'s findings, interleaved as in {@link CompactInspection.ends}. */
function estimatedEnds(f: FileRecord): Float64Array {
  const xs = findingColumns(listed(f));
  const ends = new Float64Array(2 * xs.length);
  for (let i = 0; i < xs.length; i++) {
    ends[2 * i] = xs.line(i);
    ends[2 * i + 1] = estimatedEndColumnAt(xs, i);
  }
  return ends;
}

/** The findings a record lists (none for a record without a findings list). */
function listed(f: FileRecord): readonly Finding[] {
  return 'findings' in f ? f.findings : [];
}
