/**
 * The manifest: the record of a run. It lists every input with its outcome and every finding by
 * position, detector and keyed fingerprint. It never holds a scanned value or source text.
 * Its JSON Schema is schema/manifest.schema.json; bump {@link MANIFEST_SCHEMA_VERSION} on any
 * incompatible change.
 */
import { BATCH, LazyArray, LazyObject, prettyJsonChunks } from './report/stream.js';
import type { Category } from './detect/detector.js';
import { findingColumns } from './findings.js';

export const MANIFEST_SCHEMA_VERSION = 1;

/** One sensitive span in an input file. Holds no bytes of the value. */
export interface Finding {
  /** Detector id, e.g. `alibaba-access-key-id`. */
  readonly detector: string;
  readonly category: Category;
  /** 1-based line of the first byte of the value. */
  readonly line: number;
  /** 1-based column of the first byte of the value, in Unicode characters. */
  readonly column: number;
  /** Byte offset of the value's first byte in the original file's text, as UTF-8 (for a UTF-8 file without compression: the file itself). */
  readonly start: number;
  /** Byte offset just past the value, exclusive. */
  readonly end: number;
  /** Keyed HMAC fingerprint (12 hex digits): same value, same key ⇒ same fingerprint. */
  readonly fingerprint: string;
}

/** Why an input is not in the output. */
export type ExcludeReason =
  | 'binary'
  | 'excluded'
  | 'too-large'
  | 'symlink-outside-root'
  | 'special-file'
  // archive members refused before reading
  | 'unsafe-path'
  | 'link'
  | 'encrypted'
  | 'archive-bomb'
  | 'too-many-entries'
  | 'archive-depth'
  // a later archive member whose cleaned name (or bundle path) an earlier member already took
  | 'duplicate-name';

/**
 * Where a manifest path lives inside a bundle, under `evidence/`: an archive member
 * `logs.zip!/app/a.log` becomes `logs.zip/app/a.log` (the archive as a folder).
 */
export function bundlePath(manifestPath: string): string {
  // Most paths are not archive members: no array and no new string for them.
  return manifestPath.includes('!/') ? manifestPath.split('!/').join('/') : manifestPath;
}

/** The zip entry name of a bundled file: `evidence/` and its {@link bundlePath}. */
export function evidenceName(manifestPath: string): string {
  return `evidence/${bundlePath(manifestPath)}`;
}

export type FileStatus = 'redacted' | 'clean' | 'stripped' | 'unscanned' | 'excluded' | 'failed';

/** True when the file has a copy in the bundle under `evidence/` (scrubbed, stripped or, on request, as is). */
export function isBundled(f: FileRecord): boolean {
  return f.status === 'redacted' || f.status === 'clean' || f.status === 'stripped' || f.status === 'unscanned';
}

/** Inputs not in the bundle although the user did not choose to leave them out (failed, or excluded for a reason). */
export function leftOut(files: readonly FileRecord[]): FileRecord[] {
  return files.filter((f) => f.status === 'failed' || (f.status === 'excluded' && f.reason !== 'excluded'));
}

/** The structured layer's record for one file. The text detectors ran on every byte in every case. */
export interface StructureRecord {
  readonly format: 'json' | 'ndjson' | 'har' | 'yaml' | 'ini' | 'env' | 'properties' | 'xml';
  /** `applied`: the whole file parsed; `partial`: some NDJSON lines did not; `text-only`: the key rules did not run. */
  readonly keyRules: 'applied' | 'partial' | 'text-only';
  /** Why not `applied`: the text does not parse, or it is over the 16 MiB parse limit. */
  readonly reason?: 'not-parseable' | 'too-large';
  /** HAR bodies with a binary MIME type whose text was emptied (they cannot be scanned). */
  readonly bodiesRemoved: number;
}

/** One input file's outcome. Paths are '/'-separated and relative to their input root. */
export type FileRecord =
  | {
      readonly path: string;
      readonly status: 'redacted' | 'clean';
      /** Size of the input, in bytes. */
      readonly bytesIn: number;
      /** Size of the redacted output, in bytes. Absent in `scan` results: nothing is written. */
      readonly bytesOut?: number;
      /** sha256 (hex) of the redacted output, as stored in the bundle. Absent in `scan` results. */
      readonly sha256?: string;
      /** Text encoding the file was read and written back in. */
      readonly encoding: 'utf-8' | 'utf-16le' | 'utf-16be' | 'gb18030';
      /** Whether the file starts with a byte-order mark (kept in the output). */
      readonly bom: boolean;
      /** `gzip`: decompressed, scrubbed and recompressed under the same name. */
      readonly compression: 'none' | 'gzip';
      /** Structured files (JSON, HAR, YAML, INI, XML...): how the key-name rules went (src/structure/). */
      readonly structure?: StructureRecord;
      /** Findings per detector id (all of them, listed or not). */
      readonly counts: Readonly<Record<string, number>>;
      /**
       * Listed findings. In a manifest from `scan`/`redact`/`pack` this is a read-only view over the
       * run's compact store (src/findings.ts): it indexes, iterates and serialises like an array,
       * but `util.inspect` shows `[]` and `structuredClone` cannot copy it (`[...findings]` can).
       */
      readonly findings: readonly Finding[];
      /** Findings redacted and counted but not listed (over the per-detector cap; never secrets). */
      readonly omitted?: ReadonlyArray<{ readonly detector: string; readonly category: Category; readonly count: number }>;
      /**
       * A piece of a file cut at line ends to fit a bundle part (`archive --split-oversized`):
       * concatenating pieces 1..count gives the whole redacted file (`of`, `bytesOut`, `sha256`).
       * Piece 1 carries the file's counts and findings (positions in the whole file).
       */
      readonly split?: { readonly index: number; readonly count: number; readonly of: string; readonly bytesOut: number; readonly sha256: string };
    }
  | {
      readonly path: string;
      /** An image whose metadata blocks were removed; its pixels are copied unchanged. */
      readonly status: 'stripped';
      readonly bytesIn: number;
      readonly bytesOut: number;
      /** sha256 (hex) of the stripped image, as stored in the bundle. */
      readonly sha256: string;
      readonly format: 'png' | 'jpeg' | 'webp' | 'gif';
      /** Text drawn in the picture is not read (no OCR). */
      readonly pixels: 'unscanned';
      /** Every metadata block removed (EXIF, XMP, IPTC, ICC, text chunks, comments). */
      readonly removed: ReadonlyArray<{ readonly kind: string; readonly bytes: number }>;
      readonly counts: Readonly<Record<string, number>>;
      /** Findings in the removed metadata text; positions refer to that text (blocks joined by newlines). */
      readonly findings: readonly Finding[];
    }
  | {
      readonly path: string;
      /** A binary file bundled unmodified and not scanned, because it matched `--include-unscanned`. */
      readonly status: 'unscanned';
      readonly bytesIn: number;
      readonly bytesOut: number;
      /** sha256 (hex) of the file, as stored in the bundle (the input's bytes). */
      readonly sha256: string;
    }
  | { readonly path: string; readonly status: 'excluded'; readonly reason: ExcludeReason; readonly bytesIn: number }
  | { readonly path: string; readonly status: 'failed'; readonly reason: string; readonly message: string };

export interface ManifestTotals {
  readonly files: number;
  readonly redacted: number;
  readonly clean: number;
  /** Images whose metadata was removed (pixels unscanned). */
  readonly stripped: number;
  /** Binary files bundled unscanned (`--include-unscanned`); present only when there are any. */
  readonly unscanned?: number;
  readonly excluded: number;
  readonly failed: number;
  readonly findings: number;
  readonly byDetector: Readonly<Record<string, number>>;
  readonly byCategory: Readonly<Record<Category, number>>;
}

/** Options recorded in the manifest (nothing secret: the key itself is never recorded). */
export interface ManifestOptions {
  readonly keySource: 'random' | 'file';
  readonly exclude: readonly string[];
  readonly detectors: readonly string[] | 'all';
  readonly maxFileBytes: number;
}

export interface Manifest {
  readonly schemaVersion: typeof MANIFEST_SCHEMA_VERSION;
  readonly tool: { readonly name: 'aliscrub'; readonly version: string };
  /** ISO 8601 UTC: SOURCE_DATE_EPOCH when set, else the newest input modification time. */
  readonly createdAt: string;
  readonly ruleset: {
    readonly sha256: string;
    readonly detectors: ReadonlyArray<{ readonly id: string; readonly category: Category }>;
  };
  readonly options: ManifestOptions;
  /** Sorted by path. */
  readonly files: readonly FileRecord[];
  readonly totals: ManifestTotals;
  /** A part of a split set (`archive --max-part-size`): `files`/`totals` are this part's, `set` the whole set's totals. */
  readonly part?: { readonly index: number; readonly count: number; readonly set: ManifestTotals };
  /** `shape`: identifiers were replaced by shape-preserving pseudonyms (see src/pseudonym). */
  readonly pseudonyms?: 'shape';
}

/** Computes totals from file records. */
export function computeTotals(files: readonly FileRecord[]): ManifestTotals {
  const byDetector: Record<string, number> = {};
  const byCategory: Record<Category, number> = { secret: 0, pii: 0, identifier: 0 };
  let redacted = 0;
  let clean = 0;
  let stripped = 0;
  let unscanned = 0;
  let excluded = 0;
  let failed = 0;
  let findings = 0;
  for (const f of files) {
    if (f.status === 'redacted' || f.status === 'clean' || f.status === 'stripped') {
      if (f.status === 'stripped') stripped++;
      else if (f.status === 'redacted') redacted++;
      else clean++;
      const xs = findingColumns(f.findings);
      for (let i = 0; i < xs.length; i++) {
        const detector = xs.detector(i);
        byDetector[detector] = (byDetector[detector] ?? 0) + 1;
        byCategory[xs.category(i)]++;
        findings++;
      }
      for (const o of ('omitted' in f ? f.omitted : undefined) ?? []) {
        byDetector[o.detector] = (byDetector[o.detector] ?? 0) + o.count;
        byCategory[o.category] += o.count;
        findings += o.count;
      }
    } else if (f.status === 'unscanned') unscanned++;
    else if (f.status === 'excluded') excluded++;
    else failed++;
  }
  const sortedByDetector = Object.fromEntries(Object.entries(byDetector).sort(([a], [b]) => (a < b ? -1 : 1)));
  return { files: files.length, redacted, clean, stripped, ...(unscanned ? { unscanned } : {}), excluded, failed, findings, byDetector: sortedByDetector, byCategory };
}

/** Serialises a manifest deterministically (2-space JSON, trailing newline). */
export function serializeManifest(m: Manifest): string {
  return `${JSON.stringify(m, null, 2)}\n`;
}

/**
 * The text of {@link serializeManifest} in pieces of about 64 KiB: a manifest listing a million
 * findings is hundreds of MB as one string (and again as a Buffer). File records are serialized
 * a few hundred findings at a time, and a record listing more findings than that has them
 * streamed too: batches of 512 records, each listing ~1 000 findings, built ~130 MB strings at
 * once, and `scan --format json` peaked at 775 MB on the 1 GB bench corpus.
 */
export function manifestChunks(m: Manifest): Iterable<string> {
  return prettyJsonChunks({ ...m, files: new LazyArray(streamedRecords(m.files), true, recordWeight) });
}

/** The file records, each one listing more than {@link BATCH} findings wrapped to be streamed. */
function* streamedRecords(files: readonly FileRecord[]): Generator<FileRecord | LazyObject> {
  for (const f of files) {
    // A record listing more findings than a batch holds has its list streamed, not serialized
    // whole; `{ ...f, findings }` keeps the key order, so the text is the record's.
    yield 'findings' in f && f.findings.length > BATCH ? new LazyObject({ ...f, findings: new LazyArray(f.findings, true) }) : f;
  }
}

/** A record's weight in a batch: itself and each finding it lists. */
function recordWeight(item: unknown): number {
  const f = item as FileRecord;
  return 1 + ('findings' in f ? f.findings.length : 0);
}
