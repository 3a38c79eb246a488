/**
 * The orchestrator: the one module that knows every stage.
 *
 *   source (collect) → detect (Scanner) → redact (RedactTransform) → bundle (staging, zip)
 *
 * with the manifest as the record of all of it. Fatal problems (usage, patterns, output path)
 * throw before anything is written; per-file problems become `failed`/`excluded` records and the
 * file is left out (fail closed). Output appears at its final path only when complete.
 */
import { createHash, randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, realpath, rm, unlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { Transform, Writable } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setImmediate as setImmediatePromise } from 'node:timers/promises';
import { createGunzip, createGzip } from 'node:zlib';
import type Micromatch from 'micromatch';
import { FileError, UsageError, fileErrorFromErrno } from './errors.js';
import { loadRuleset, reportedDetectors } from './detect/load.js';
import type { Ruleset } from './detect/load.js';
import { Scanner } from './detect/scanner.js';
import { keepPredicate } from './detect/policy.js';
import type { KeepPolicy } from './detect/policy.js';
import { Fingerprinter, MIN_KEY_BYTES } from './fingerprint.js';
import { createRedactor, redactBuffer, redactSmall } from './redact/redactor.js';
import type { FindingsCap, TokenMinter } from './redact/redactor.js';
import { collect, compareNames } from './source/collect.js';
import { loadSecretKeys } from './structure/keys.js';
import { formatFor } from './structure/formats.js';
import { StructureStage } from './structure/stage.js';
import type { StructureContext } from './structure/document.js';
import type { Collected } from './source/collect.js';
import type { Entry } from './source/entry.js';
import { AutoDecode, AutoEncode } from './source/encoding.js';
import { openInput } from './source/read.js';
import { ByteBudget, DEFAULT_ARCHIVE_LIMITS, archiveKind, walkArchive } from './source/archive.js';
import type { ArchiveKind, ArchiveLimits } from './source/archive.js';
import { hasBinaryExtension, hasImageExtension } from './source/entry.js';
import type { StripResult } from './source/image.js';
import type { EncodingState, TextEncoding } from './source/encoding.js';
import { bundlePath, computeTotals, evidenceName, isBundled, manifestChunks, MANIFEST_SCHEMA_VERSION } from './manifest.js';
import type { ExcludeReason, FileRecord, Finding, Manifest } from './manifest.js';
import { FindingStore } from './findings.js';
import { silentLogger } from './log.js';
import type { Logger } from './log.js';
import { Staging, evidencePath, exists, isNonEmptyDir, publish, stagedPath, writeText } from './bundle/staging.js';
import { WorkerPool } from './parallel/pool.js';
import type { PoolJob, PoolResult, SpareWorker } from './parallel/pool.js';
import { MAX_THREADS, threadsPay } from './parallel/spare.js';
import { DEFAULT_ZIP_LEVEL, writeZip } from './bundle/zip.js';
import type { PackedFile, ZipEntry } from './bundle/zip.js';
import { createPacker, packBuffer, PackedTable } from './bundle/deflate.js';
import type { PackedData } from './bundle/deflate.js';
import { redactionsMdChunks } from './bundle/redactions-md.js';
import { inspectFileCompact, inspectable } from './gate/inspect.js';
import type { CompactInspection } from './gate/inspect.js';
import { SourcePaths } from './source/sources.js';
import { Inspections } from './gate/inspections.js';
import { VERSION } from './version.js';

/** Options shared by every command. */
export interface RunOptions {
  /** Files, directories or globs. */
  readonly inputs: readonly string[];
  /** Directory relative inputs are resolved against. */
  readonly cwd: string;
  /** Globs of entry names to leave out. */
  readonly exclude?: readonly string[];
  /** Pattern files or folders; default: the built-in set. */
  readonly patterns?: readonly string[];
  /** Restrict to these detector ids. */
  readonly detectors?: readonly string[];
  /** Leave out these detector ids (after `detectors`); an id that is not loaded is an error. */
  readonly disable?: readonly string[];
  /** Limits for archives (depth, total bytes, entries, ratio); defaults in DEFAULT_ARCHIVE_LIMITS. */
  readonly archiveLimits?: Partial<ArchiveLimits>;
  /** Findings to leave visible (private IPs, own account IDs, whole pii/identifier categories). */
  readonly keep?: KeepPolicy;
  /** Screenshots: `strip` removes their metadata and bundles the pixels (default); `skip` leaves them out. */
  readonly images?: 'strip' | 'skip';
  /** Read every text file in this encoding instead of detecting it. */
  readonly encoding?: TextEncoding;
  /** Fingerprint key (at least 16 bytes); random per run when absent. */
  readonly key?: Buffer;
  /** Files processed at once. @default 4 */
  readonly concurrency?: number;
  /**
   * Worker threads scanning files in parallel; 1 = scan in the main thread, 0 or absent = one per
   * core when the run is big enough to pay for starting them (see {@link threadsPay}). Output is
   * the same for every value. A `tokenMinter` (a function) always runs in the main thread.
   */
  readonly threads?: number;
  /**
   * A worker thread started early, taken as the run's first worker when it uses threads, and
   * stopped when it does not (see {@link SpareWorker}). Output is the same either way.
   */
  readonly spareWorker?: SpareWorker;
  /**
   * Largest structured file (JSON, HAR, YAML, …) parsed whole for the key-name rules, in bytes;
   * larger JSON/YAML/XML get the text detectors only (recorded), a larger HAR is left out.
   * @default 16 MiB
   */
  readonly maxStructuredBytes?: number;
  /** `pack`: deflate level of the zip, 0 (store) – 9. @default 6 */
  readonly zipLevel?: number;
  /**
   * How many findings per detector each file lists in the manifest (the rest are counted);
   * `false` lists all. Secrets are always listed. @default DEFAULT_FINDINGS_CAP (1000, secrets uncapped)
   */
  readonly findingsCap?: FindingsCap | false;
  /**
   * Globs (like `exclude`) of binary files to bundle unmodified instead of leaving them out; they
   * are marked `unscanned` in the manifest and fail `scan` unless unscanned inputs are allowed.
   */
  readonly includeUnscanned?: readonly string[];
  /**
   * `scan` only: the thread that scans a plain UTF-8 file with findings also re-reads it at once
   * (while it is in the page cache) for the gate's inline markers and end positions, and the
   * result's {@link ScanResult.inspections} holds them. Set it when the result goes to
   * `evaluateGate`, which otherwise re-reads those files itself, serially, after the scan.
   */
  readonly inspectForGate?: boolean;
  /** Leave out files larger than this many bytes; 0 = no limit. @default 0 */
  readonly maxFileBytes?: number;
  /** Fixed timestamp in seconds since the epoch (SOURCE_DATE_EPOCH) for the manifest and zip entries. */
  readonly sourceDateEpoch?: number;
  readonly log?: Logger;
  /** Called once the inputs are listed, before any file is read (progress reporting). */
  readonly onCollected?: (files: number, bytes: number) => void | Promise<void>;
  /** Called after each file is processed, in completion order (progress reporting). */
  readonly onFileDone?: (record: FileRecord, bytesIn: number) => void;
  /** Aborting stops the run and removes partial output. */
  readonly signal?: AbortSignal;
  /** Makes each replacement (file content and names) instead of the default typed token: per-incident maps and pseudonyms (src/pseudonym). */
  readonly tokenMinter?: TokenMinter;
  /**
   * `pack` only: more top-level entries (e.g. TICKET.md), made once the manifest is known. Their
   * bytes are scrubbed here with this run's scanner and key, like evidence, before zipping.
   */
  readonly extraEntries?: (manifest: Manifest, scrub: (data: Buffer) => Buffer) => Promise<ReadonlyArray<{ readonly name: string; readonly data: Buffer }>>;
}

/** What `scan` returns: the manifest that a pack of the same inputs would record. */
export interface ScanResult {
  readonly manifest: Manifest;
  /** Absolute path of the folder that manifest paths are relative to (the common input root). */
  readonly base: string;
  /** Absolute path of each scanned file (`redacted`/`clean`/`failed`), by manifest path. */
  readonly sources: ReadonlyMap<string, string>;
  /** The detectors that ran (ids, categories, descriptions: for report rules). */
  readonly ruleset: Ruleset;
  /** Worker threads the run used (1 = main thread only). */
  readonly threads: number;
  /**
   * With {@link RunOptions.inspectForGate}: the gate's re-read of each file it would re-read, done
   * when the file was scanned, by manifest record. `evaluateGate` uses them and then clears them
   * (a second evaluation of the same result re-reads); a record without one is re-read then.
   */
  readonly inspections?: Inspections;
}

/** What `redact` and `pack` return. */
export interface OutputResult {
  readonly manifest: Manifest;
  /** Final path of the folder or zip. */
  readonly path: string;
  /** Zip only: size in bytes and sha256 of the bundle. */
  readonly bytes?: number;
  readonly sha256?: string;
  /** Worker threads the run used (1 = main thread only). */
  readonly threads: number;
}

/** What processing one file needs: the same in the main thread and in every worker. */
interface Engine {
  readonly ruleset: Ruleset;
  readonly scanner: Scanner;
  readonly fingerprints: Fingerprinter;
  /** The fingerprint key (given or drawn for this run), shared with workers so tokens agree. */
  readonly key: Buffer;
  /** Ids of the loaded detectors: an inline marker naming anything else allows nothing. */
  readonly detectorIds: ReadonlySet<string>;
  readonly log: Logger;
  readonly opts: RunOptions;
  readonly limits: ArchiveLimits;
  /** Key rules for structured files (JSON, HAR, YAML, INI, XML); absent when `secret-key-value` is not selected. */
  readonly structure?: StructureContext;
  /** `pack`: staged files are written as zip entry data; absent = plain copies (`redact`, bulk) or nothing (`scan`). */
  readonly packing?: Packing;
}

/**
 * `pack` deflates each file where it is redacted (worker threads included) so the zip writer only
 * copies bytes: compression runs in parallel with scanning instead of after it, serially.
 */
interface Packing {
  /** Deflate level 0 (store) – 9. */
  readonly level: number;
  /**
   * Zip header facts (CRC, sizes) of each staged file, by manifest path. Not part of the manifest.
   * A {@link PackedTable} for the run; a Map for one job on a worker, sent back with its records.
   */
  readonly entries: { set(name: string, info: PackedData): unknown };
}

/** Everything prepared before any file is read. */
interface Prepared extends Engine {
  readonly collected: Collected;
}

/**
 * The caller's options with a signal the run owns, aborted with the caller's. Every file in flight
 * holds an abort listener on the run's signal (stream pipelines), so `concurrency` above ~9
 * passed Node's default of 10 listeners and printed a MaxListenersExceededWarning. The limit is
 * lifted on the run's own signal: the caller's is left as it was, and holds no listener of ours.
 */
function withOwnSignal(opts: RunOptions): RunOptions {
  if (!opts.signal) return opts;
  const signal = AbortSignal.any([opts.signal]);
  setMaxListeners(0, signal);
  return { ...opts, signal };
}

async function prepare(callerOpts: RunOptions): Promise<Prepared> {
  const opts = withOwnSignal(callerOpts);
  if (opts.key && opts.key.length < MIN_KEY_BYTES) throw new UsageError(`--key-file: the key must be at least ${MIN_KEY_BYTES} bytes`);
  if (opts.concurrency !== undefined && (!Number.isInteger(opts.concurrency) || opts.concurrency < 1))
    throw new UsageError('--concurrency: must be a whole number of at least 1');
  if (opts.threads !== undefined && (!Number.isInteger(opts.threads) || opts.threads < 0))
    throw new UsageError('--threads: must be a whole number (0 = one per core)');
  const engine = await buildEngine(opts, opts.key ?? randomBytes(32));
  const collected = await collect(opts.inputs, {
    cwd: opts.cwd,
    exclude: opts.exclude ?? [],
    maxFileBytes: opts.maxFileBytes ?? 0,
    images: opts.images ?? 'strip',
    includeUnscanned: opts.includeUnscanned ?? [],
  });
  await opts.onCollected?.(
    collected.entries.length,
    collected.entries.reduce((n, e) => n + e.size, 0),
  );
  return { ...engine, collected };
}

async function buildEngine(opts: RunOptions, key: Buffer): Promise<Engine> {
  const ruleset = withoutDisabled(await loadRuleset(opts.patterns, opts.detectors), opts.disable);
  const scanner = new Scanner(ruleset.detectors, true, keepPredicate(opts.keep));
  // A user pattern pack may not fit RE2's set memory: fail here, at start-up, not file by file.
  if (opts.patterns && opts.patterns.length > 0) scanner.compileNow();
  const fingerprints = new Fingerprinter(key);
  return {
    ruleset,
    scanner,
    fingerprints,
    detectorIds: new Set(reportedDetectors(ruleset).map((d) => d.id)),
    ...(ruleset.structural ? { structure: { keys: await loadSecretKeys(), scanner, fingerprints, mint: opts.tokenMinter, maxBytes: opts.maxStructuredBytes } } : {}),
    key,
    log: opts.log ?? silentLogger,
    opts,
    limits: { ...DEFAULT_ARCHIVE_LIMITS, ...opts.archiveLimits },
  };
}

/** File names are part of the bundle: a name holding a detected value is redacted like content. */
function safeName(p: Engine, name: string): string {
  const safe = redactSmall(p.scanner, p.fingerprints, Buffer.from(name), p.opts.tokenMinter).output.toString('utf8');
  // The usual case keeps the one string already held (100 000 names: ~4 MB less heap).
  return safe === name ? name : safe;
}

/** Counts bytes and hashes them on the way through. */
class Hasher extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }
}

/** A sink that discards bytes (scan mode). */
const nullSink = (): Writable => new Writable({ write: (_c, _e, cb) => cb() });

/**
 * The output of one record: `dest` opened exclusively (`wx`), or a null sink. `discard` removes the
 * file only if this sink created it, once the stream has closed, so a failure never deletes a file
 * it did not write (another member's output under the same name).
 */
function exclusiveSink(dest: string | undefined): { readonly stream: Writable; readonly discard: () => Promise<void> } {
  if (!dest) return { stream: nullSink(), discard: async () => {} };
  const stream = createWriteStream(dest, { flags: 'wx' });
  let created = false;
  stream.once('open', () => (created = true));
  return {
    stream,
    discard: async () => {
      stream.on('error', () => {}); // a pending open may still fail (EEXIST): already reported, or moot
      stream.destroy();
      if (!stream.closed) await new Promise<void>((resolve) => stream.once('close', () => resolve()));
      if (created) await unlink(dest).catch(() => {});
    },
  };
}

/**
 * Redacts one file into `dest` (or nowhere). Never throws for per-file problems: returns the
 * record. On any failure the partial destination file is removed.
 */
async function processEntry(p: Engine, entry: Entry, name: string, destFor: DestFor): Promise<FileRecord[]> {
  const kind = archiveKind(entry.path);
  if (kind) {
    const budget = new ByteBudget(p.limits.maxTotalBytes);
    return processArchive(p, entry.absolutePath, kind, name, 1, budget, { entries: 0, files: new Set(), dirs: new Set(), archives: new Set() }, destFor);
  }
  const open = () => openInput(entry.absolutePath, entry.size);
  const strip = (p.opts.images ?? 'strip') === 'strip' && hasImageExtension(entry.path);
  // Binary by name and asked for with --include-unscanned: bundled as is, marked unscanned.
  if (!strip && hasBinaryExtension(entry.path) && includesUnscanned(p, entry.path)) return [await copyUnscanned(p, open, name, await destFor(name))];
  if (strip) return [await processImage(p, () => readFile(entry.absolutePath), entry.size, name, await destFor(name))];
  const rec = await processStream(p, open, entry.path, name, entry.size, await destFor(name));
  // Binary found while reading (a NUL byte): a file can be read again, unlike an archive member.
  if (rec.status === 'excluded' && rec.reason === 'binary' && includesUnscanned(p, entry.path)) return [await copyUnscanned(p, open, name, await destFor(name))];
  return [rec];
}

/**
 * The gate's re-read (src/gate/inspect.ts) of a top-level entry just processed, while its pages
 * are still cached; undefined when the gate would not re-read it (an archive, a decoded or
 * decompressed file, no findings).
 */
async function inspectProcessed(p: Engine, entry: Entry, records: readonly FileRecord[]): Promise<CompactInspection | undefined> {
  const r = records.length === 1 ? records[0]! : undefined;
  if (!r || archiveKind(entry.path) || !inspectable(r)) return undefined;
  return inspectFileCompact(entry.absolutePath, r.bytesIn, r.findings, p.detectorIds);
}

// micromatch (CommonJS, ~15 ms to load) is needed only with --include-unscanned globs.
let micromatchLib: typeof Micromatch | undefined;
const micromatch = (): typeof Micromatch => (micromatchLib ??= createRequire(import.meta.url)('micromatch') as typeof Micromatch);

/** True when `--include-unscanned` names this file (globs match paths relative to the input root). */
function includesUnscanned(p: Engine, ...names: string[]): boolean {
  const globs = p.opts.includeUnscanned;
  return globs !== undefined && globs.length > 0 && names.some((n) => micromatch().isMatch(n, globs as string[], { dot: true }));
}

/** Copies a binary file into the bundle unmodified (`--include-unscanned`). Nothing in it is scanned. */
async function copyUnscanned(p: Engine, open: () => NodeJS.ReadableStream, name: string, dest: string | undefined, meter?: Transform): Promise<FileRecord> {
  const hasher = new Hasher();
  const packer = dest !== undefined && p.packing ? createPacker(p.packing.level) : undefined;
  let sink: ReturnType<typeof exclusiveSink> | undefined;
  try {
    const stages: Array<NodeJS.ReadableStream | NodeJS.WritableStream | NodeJS.ReadWriteStream> = [open()];
    if (meter) stages.push(meter);
    stages.push(hasher, ...(packer?.stages ?? []), (sink = exclusiveSink(dest)).stream);
    await pipeline(stages, { signal: p.opts.signal });
  } catch (err) {
    await sink?.discard();
    if (p.opts.signal?.aborted) throw err;
    const fe = toFileError(err, name);
    if (fe.code === 'archive-bomb') return { path: name, status: 'excluded', reason: 'archive-bomb', bytesIn: 0 };
    const message = fe.message.startsWith(name) ? fe.message : `${name}: ${fe.message}`;
    p.log.warn(message);
    return { path: name, status: 'failed', reason: fe.code, message };
  }
  if (packer) p.packing!.entries.set(name, packer.result());
  return { path: name, status: 'unscanned', bytesIn: hasher.bytes, bytesOut: hasher.bytes, sha256: hasher.hash.digest('hex') };
}

/**
 * Screenshots: every metadata block is removed and its text scanned (so the manifest says what was
 * in it); the pixels are copied unchanged and not scanned. An image that cannot be parsed
 * completely is left out (fail closed).
 */
async function processImage(p: Engine, read: () => Promise<Buffer>, size: number, name: string, dest: string | undefined): Promise<FileRecord> {
  // The image parsers (~45 KB of code) load with the first image: most runs have none.
  const { ImageMetadataError, MAX_IMAGE_BYTES, stripImageMetadata } = await import('./source/image.js');
  if (size > MAX_IMAGE_BYTES) return { path: name, status: 'excluded', reason: 'too-large', bytesIn: size };
  let stripped: StripResult;
  try {
    stripped = stripImageMetadata(await read());
  } catch (err) {
    const fe =
      err instanceof ImageMetadataError
        ? new FileError('corrupt', `${name}: image cannot be parsed completely (${err.message})`)
        : toFileError(err, name);
    p.log.warn(fe.message);
    return { path: name, status: 'failed', reason: fe.code, message: fe.message };
  }
  const text = Buffer.from(stripped.removed.map((b) => b.text).join('\n'));
  const { result } = await redactBuffer(p.scanner, p.fingerprints, text, undefined, undefined, false);
  if (dest && p.packing) {
    const packed = await packBuffer(stripped.output, p.packing.level);
    await writeFile(dest, packed.data, { flag: 'wx' });
    p.packing.entries.set(name, packed.info);
  } else if (dest) await writeFile(dest, stripped.output, { flag: 'wx' });
  // Metadata text is small (images are capped at MAX_IMAGE_BYTES): every finding is listed.
  const { counts } = result;
  return {
    path: name,
    status: 'stripped',
    bytesIn: size,
    bytesOut: stripped.output.length,
    sha256: createHash('sha256').update(stripped.output).digest('hex'),
    format: stripped.format,
    pixels: 'unscanned',
    removed: stripped.removed.map((b) => ({ kind: b.kind, bytes: b.bytes })),
    counts,
    findings: result.findings,
  };
}

/**
 * Redacts one byte stream into `dest` (or nowhere). Never throws for per-file problems: returns
 * the record. On any failure the partial destination file is removed.
 * @param rawName the name used to recognise `.gz` (before value redaction).
 */
async function processStream(
  p: Engine,
  open: () => NodeJS.ReadableStream,
  rawName: string,
  name: string,
  size: number,
  dest: string | undefined,
  meter?: Transform,
): Promise<FileRecord> {
  // Without a destination (scan) the redactor only finds and counts: no tokens, fewer fingerprints.
  const redactor = createRedactor(p.scanner, p.fingerprints, { name, mint: p.opts.tokenMinter, findingsCap: p.opts.findingsCap, discard: dest === undefined });
  const hasher = new Hasher();
  // After the hash: the manifest records the redacted bytes, the staged file holds them deflated.
  const packer = dest !== undefined && p.packing ? createPacker(p.packing.level) : undefined;
  const gzip = isGzipName(rawName);
  const encoding: EncodingState = {};
  let structure: StructureStage | undefined;
  let out: ReturnType<typeof exclusiveSink> | undefined;
  try {
    const sink = (out = exclusiveSink(dest)).stream;
    // source → [budget] → [gunzip] → decode to UTF-8 → redact → encode back → [gzip] → hash → sink
    const stages: Array<NodeJS.ReadableStream | NodeJS.WritableStream | NodeJS.ReadWriteStream> = [open()];
    if (meter) stages.push(meter);
    if (gzip) stages.push(createGunzip());
    stages.push(new AutoDecode(encoding, name, p.opts.encoding));
    // Structured files: values of secret-like keys become forced hits (src/structure/stage.ts).
    const format = p.structure ? formatFor(rawName) : undefined;
    if (format) stages.push((structure = new StructureStage(p.structure!, format, redactor, undefined, name)));
    stages.push(redactor, new AutoEncode(encoding));
    if (gzip) stages.push(createGzip({ level: 6 }));
    stages.push(hasher, ...(packer?.stages ?? []), sink);
    await pipeline(stages, { signal: p.opts.signal });
  } catch (err) {
    await out?.discard(); // only a file this call created
    if (p.opts.signal?.aborted) throw err;
    const fe = toFileError(err, name);
    if (fe.code === 'binary') return { path: name, status: 'excluded', reason: 'binary', bytesIn: size };
    if (fe.code === 'archive-bomb') return { path: name, status: 'excluded', reason: 'archive-bomb', bytesIn: size };
    const message = fe.message.startsWith(name) ? fe.message : `${name}: ${fe.message}`;
    p.log.warn(message);
    if (fe.code === 'too-large') return { path: name, status: 'excluded', reason: 'too-large', bytesIn: size };
    return { path: name, status: 'failed', reason: fe.code, message };
  }
  if (packer) p.packing!.entries.set(name, packer.result());
  const r = redactor.result;
  const sniffed = encoding.sniffed;
  return {
    path: name,
    status: r.findings.length > 0 ? 'redacted' : 'clean',
    bytesIn: size,
    ...(dest !== undefined ? { bytesOut: hasher.bytes, sha256: hasher.hash.digest('hex') } : {}),
    encoding: sniffed?.encoding ?? 'utf-8',
    bom: sniffed?.bom ?? false,
    compression: gzip ? 'gzip' : 'none',
    ...(structure ? { structure: { format: structure.format, ...structure.outcome } } : {}),
    counts: r.counts,
    findings: r.findings,
    ...(r.omitted.length > 0 ? { omitted: r.omitted } : {}),
  };
}

type DestFor = (name: string) => Promise<string | undefined>;

/** What one top-level archive has used so far, nested archives included. */
interface ArchiveWalk {
  entries: number;
  /** Bundle paths (see bundlePath) taken by members, the folders above them, and nested archives (read as folders). */
  readonly files: Set<string>;
  readonly dirs: Set<string>;
  readonly archives: Set<string>;
}

/**
 * Claims a member's place in the bundle. False when it is taken: the same cleaned name seen
 * before (`a.log` twice, or `a.log` and `./a.log`), a file where a folder is or the reverse, or a
 * member that clashes with one read from a nested archive of the same name. The later member
 * is then refused (`duplicate-name`): two members must never write one output file.
 */
function claimMember(walk: ArchiveWalk, manifestName: string, archive: boolean): boolean {
  const at = bundlePath(manifestName);
  const parts = at.split('/');
  const above = parts.slice(1).map((_, i) => parts.slice(0, i + 1).join('/'));
  if (walk.files.has(at) || walk.archives.has(at) || above.some((d) => walk.files.has(d))) return false;
  if (!archive && walk.dirs.has(at)) return false;
  for (const d of above) walk.dirs.add(d);
  if (archive) {
    walk.archives.add(at);
    walk.dirs.add(at);
  } else walk.files.add(at);
  return true;
}

/**
 * Processes every member of an archive (recursing into nested archives up to the depth limit).
 * Members are named `archive!/member`; a refused member gets an `excluded` record with its
 * reason and none of its bytes reach the output. A corrupt archive adds one `failed` record for
 * the archive; members already processed stand.
 */
async function processArchive(
  p: Engine,
  file: string,
  kind: ArchiveKind,
  prefix: string,
  depth: number,
  budget: ByteBudget,
  count: ArchiveWalk,
  destFor: DestFor,
): Promise<FileRecord[]> {
  const records: FileRecord[] = [];
  const refuse = (name: string, reason: ExcludeReason, size: number) => records.push({ path: name, status: 'excluded', reason, bytesIn: size });
  try {
    await walkArchive(file, kind, p.limits, async (m) => {
      p.opts.signal?.throwIfAborted();
      const name = `${prefix}!/${safeName(p, m.name)}`;
      if (m.refused) return void refuse(name, m.refused, m.size);
      if (++count.entries > p.limits.maxEntries) return void refuse(name, 'too-many-entries', m.size);
      const inner = archiveKind(m.name);
      if (!claimMember(count, name, inner !== undefined)) return void refuse(name, 'duplicate-name', m.size);
      if (inner) {
        if (depth >= p.limits.maxDepth) return void refuse(name, 'archive-depth', m.size);
        // Nested archives need random access (zip) or a second pass: spool to a private temp file.
        const tmp = await mkdtemp(path.join(tmpdir(), 'aliscrub-nested-'));
        try {
          const spooled = path.join(tmp, 'member');
          try {
            await pipeline(m.open!(), budget.meter(name), createWriteStream(spooled, { mode: 0o600 }));
          } catch (err) {
            const fe = toFileError(err, name);
            if (fe.code === 'archive-bomb') return void refuse(name, 'archive-bomb', m.size);
            throw fe;
          }
          records.push(...(await processArchive(p, spooled, inner, name, depth + 1, budget, count, destFor)));
        } finally {
          await rm(tmp, { recursive: true, force: true });
        }
        return;
      }
      // Screenshots inside archives get the same metadata stripping as top-level ones.
      if ((p.opts.images ?? 'strip') === 'strip' && hasImageExtension(m.name)) {
        const read = async (): Promise<Buffer> => {
          const parts: Buffer[] = [];
          await pipeline(m.open!(), budget.meter(name), new Writable({ write: (c: Buffer, _e, cb) => (parts.push(c), cb()) }));
          return Buffer.concat(parts);
        };
        const rec = await processImage(p, read, m.size, name, await destFor(name));
        if (rec.status === 'failed' && rec.reason === 'archive-bomb') return void refuse(name, 'archive-bomb', m.size);
        return void records.push(rec);
      }
      if (hasBinaryExtension(m.name)) {
        if (includesUnscanned(p, name, m.name)) return void records.push(await copyUnscanned(p, m.open!, name, await destFor(name), budget.meter(name)));
        return void refuse(name, 'binary', m.size);
      }
      records.push(await processStream(p, m.open!, m.name, name, m.size, await destFor(name), budget.meter(name)));
    });
  } catch (err) {
    if (p.opts.signal?.aborted) throw err;
    const fe = toFileError(err, prefix);
    const message = fe.message.startsWith(prefix) ? fe.message : `${prefix}: ${fe.message}`;
    p.log.warn(message);
    records.push({ path: prefix, status: 'failed', reason: fe.code, message });
  }
  return records;
}

/** Maps any stream error to a per-file reason; the message never includes file content. */
function toFileError(err: unknown, name: string): FileError {
  if (err instanceof FileError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (typeof code === 'string' && code.startsWith('Z_')) return new FileError('corrupt', `${name}: corrupt or truncated gzip data`, { cause: err });
  if (code) return fileErrorFromErrno(err, name);
  return new FileError('scan-error', `${name}: ${(err as Error).message}`, { cause: err });
}

/** `.gz` files (but not tar archives) are decompressed, scrubbed and recompressed. */
function isGzipName(name: string): boolean {
  const n = name.toLowerCase();
  return n.endsWith('.gz') && !n.endsWith('.tar.gz');
}

/** The (redacted) manifest name of every collected entry, in entry order. */
function entryNames(p: Prepared): string[] {
  return p.collected.entries.map((e) => safeName(p, e.path));
}

/**
 * Jobs each worker holds queued beyond the ones it runs (see WorkerPool). Files go biggest
 * first, so what a worker holds at the end is small and the threads still finish together.
 */
const WORKER_AHEAD = 4;

/** Worker threads for this run (1 = none). See {@link RunOptions.threads}. */
function threadCount(p: Prepared): number {
  const entries = p.collected.entries;
  if (p.opts.tokenMinter || entries.length < 2) return 1;
  const asked = p.opts.threads ?? 0;
  if (asked >= 1) return Math.min(asked, entries.length);
  const bytes = entries.reduce((n, e) => n + e.size, 0);
  return threadsPay(entries.length, bytes) ? Math.min(availableParallelism(), entries.length, MAX_THREADS) : 1;
}

/** What a worker needs to build the same engine: the run options that can cross threads, and the key. */
export interface WorkerInit {
  readonly opts: Omit<RunOptions, 'log' | 'onCollected' | 'onFileDone' | 'signal' | 'tokenMinter' | 'key' | 'spareWorker'>;
  readonly key: Uint8Array;
}

function workerInit(p: Prepared): WorkerInit {
  const { log: _log, onCollected: _c, onFileDone: _d, signal: _s, tokenMinter: _t, key: _k, spareWorker: _w, ...opts } = p.opts;
  return { opts, key: p.key };
}

/**
 * Builds a worker's entry processor (used by parallel/worker.ts). Warnings are returned with each
 * result instead of logged, so the main thread keeps the one log.
 */
export async function createEntryProcessor(init: WorkerInit): Promise<(job: PoolJob) => Promise<PoolResult>> {
  const engine = await buildEngine(init.opts, Buffer.from(init.key));
  return async (job) => {
    // Several jobs run at once in a worker (their I/O overlaps), so each gets its own log.
    const warnings: string[] = [];
    const log: Logger = { warn: (line) => warnings.push(line), info: () => {} };
    const dir = job.stagingDir;
    const destFor: DestFor = dir ? (name) => evidencePath(dir, name) : async () => undefined;
    const packing = job.deflateLevel !== undefined ? { level: job.deflateLevel, entries: new Map<string, PackedData>() } : undefined;
    const records = await processEntry({ ...engine, log, packing }, job.entry, job.name, destFor);
    const inspection = job.inspect ? await inspectProcessed(engine, job.entry, records) : undefined;
    return { records, warnings, ...(packing ? { packed: [...packing.entries] } : {}), ...(inspection ? { inspection } : {}) };
  };
}

/**
 * Runs every entry with bounded concurrency, on worker threads when the run is big enough;
 * records come back in path order whatever order files finish in.
 * @param staging where redacted copies go; undefined = scan only.
 * @param packing `pack`: write staged files as zip entry data and collect their header facts here.
 * @param gate `scan` for the gate: inspect each file where it is scanned, into `inspections`, when
 *   it is the file `sources` gives for its name (names are redacted: two may meet, and the gate
 *   re-reads only that one).
 */
async function processAll(
  p: Prepared,
  staging: Staging | undefined,
  names: readonly string[] = entryNames(p),
  packing?: Packing,
  gate?: { readonly inspections: Inspections; readonly sources: ReadonlyMap<string, string> },
): Promise<FileRecord[]> {
  const destFor: DestFor = staging ? (name) => staging.evidenceFile(name) : async () => undefined;
  const threads = threadCount(p);
  const perWorker = p.opts.concurrency ?? 4;
  // The main thread scans too: N threads = N - 1 workers + this one (one isolate less in memory,
  // and the main thread has little else to do).
  const pool = threads > 1 ? new WorkerPool(threads - 1, perWorker, workerInit(p), WORKER_AHEAD, p.opts.spareWorker) : undefined;
  // Not needed (a small run): stopped now, so it takes no more CPU from this one.
  if (!pool) void p.opts.spareWorker?.close();
  const onAbort = (): void => void pool?.close();
  p.opts.signal?.addEventListener('abort', onAbort);
  // Biggest first: a large file started last would leave the other threads idle at the end.
  const queue = p.collected.entries.map((_, i) => i);
  if (pool) queue.sort((a, b) => p.collected.entries[b]!.size - p.collected.entries[a]!.size || a - b);
  // A file's one record is held as itself: an array per file was ~5 MB on 100 000 files.
  const results: Array<FileRecord | FileRecord[]> = [];
  const idStrings = new Map<string, string>();
  const store = new FindingStore();
  let next = 0;
  const take = (): number | undefined => (next < queue.length ? queue[next++] : undefined);
  let failure: { error: unknown } | undefined;
  /** One lane: takes entries from the shared queue until it is empty or something failed. */
  const lane = async (remote: boolean): Promise<void> => {
    for (let i = take(); i !== undefined && !failure; i = take()) {
      try {
        p.opts.signal?.throwIfAborted();
        const entry = p.collected.entries[i]!;
        const inspect = gate?.sources.get(names[i]!) === entry.absolutePath;
        let records: FileRecord[];
        let inspection: CompactInspection | undefined;
        if (remote) {
          const res = await pool!.run({ entry, name: names[i]!, stagingDir: staging?.dir, deflateLevel: packing?.level, inspect });
          for (const w of res.warnings) p.log.warn(w);
          // A worker's results carry their own copy of the name: share this thread's.
          const own = (name: string): string => (name === names[i] ? names[i]! : name);
          for (const [name, info] of res.packed ?? []) packing?.entries.set(own(name), info);
          records = res.records;
          for (const r of records) (r as { path: string }).path = own(r.path);
          inspection = res.inspection;
          compactRecords(records, store, idStrings);
        } else {
          // A small file is read with synchronous calls and its stages settle in microtasks: without
          // a turn of the event loop here, local lanes ran back to back and the worker's results
          // (and so its next jobs) waited; on 10 000 small files it sat idle 94 % of the run.
          await setImmediatePromise();
          records = await processEntry(packing ? { ...p, packing } : p, entry, names[i]!, destFor);
          if (inspect) inspection = await inspectProcessed(p, entry, records);
          compactRecords(records, store, undefined);
        }
        // compactRecords changes records in place: the key is the manifest's record.
        if (inspection) gate!.inspections.add(records[0]!, inspection);
        for (const r of records) p.opts.onFileDone?.(r, entry.size / records.length);
        results[i] = records.length === 1 ? records[0]! : records;
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  try {
    // Every lane finishes before anything fails, so nothing writes into staging while it is removed.
    await Promise.all([
      ...Array.from({ length: perWorker }, () => lane(false)),
      ...Array.from({ length: pool?.capacity ?? 0 }, () => lane(true)),
    ]);
  } finally {
    p.opts.signal?.removeEventListener('abort', onAbort);
    await pool?.close();
  }
  p.opts.signal?.throwIfAborted();
  if (failure) throw failure.error;
  const records = results.flat();
  const skipped: FileRecord[] = p.collected.skipped.map((s) => ({ path: safeName(p, s.path), status: 'excluded', reason: s.reason, bytesIn: s.bytesIn }));
  return [...records, ...skipped].sort((a, b) => compareNames(a.path, b.path));
}

function createdAt(p: Prepared): string {
  const epoch = p.opts.sourceDateEpoch;
  if (epoch !== undefined) return new Date(epoch * 1000).toISOString();
  // Deterministic without SOURCE_DATE_EPOCH: the newest input modification time.
  // A loop, not Math.max(...all): spreading a million arguments overflows the stack.
  let newest = 0;
  for (const e of p.collected.entries) newest = Math.max(newest, Math.floor(e.mtimeMs / 1000) * 1000);
  return new Date(newest).toISOString();
}

function buildManifest(p: Prepared, files: FileRecord[]): Manifest {
  return {
    schemaVersion: MANIFEST_SCHEMA_VERSION,
    tool: { name: 'aliscrub', version: VERSION },
    createdAt: createdAt(p),
    ruleset: {
      sha256: p.ruleset.sha256,
      detectors: reportedDetectors(p.ruleset).map((d) => ({ id: d.id, category: d.category })),
    },
    options: {
      keySource: p.opts.key ? 'file' : 'random',
      exclude: [...(p.opts.exclude ?? [])],
      detectors: p.opts.disable && p.opts.disable.length > 0 ? reportedDetectors(p.ruleset).map((d) => d.id) : p.opts.detectors && p.opts.detectors.length > 0 ? [...p.opts.detectors] : 'all',
      maxFileBytes: p.opts.maxFileBytes ?? 0,
    },
    files,
    totals: computeTotals(files),
  };
}

/** Scans inputs and reports, writing nothing. */
export async function scan(opts: RunOptions): Promise<ScanResult> {
  const p = await prepare(opts);
  const names = entryNames(p);
  const entries = p.collected.entries;
  const sources = new SourcePaths(p.collected.base, names, (i) => entries[i]!.absolutePath);
  const inspections = opts.inspectForGate ? new Inspections() : undefined;
  const files = await processAll(p, undefined, names, undefined, inspections ? { inspections, sources } : undefined);
  return { manifest: buildManifest(p, files), base: p.collected.base, sources, ruleset: p.ruleset, threads: threadCount(p), ...(inspections ? { inspections } : {}) };
}

/**
 * Moves each record's listed findings into the run's compact store (src/findings.ts): on 100 000
 * files, 1.2 M finding objects were ~210 MB of live heap. Records from a worker also arrive with
 * their own copy of every status, encoding and detector string (structured clone): they are
 * pointed at one shared copy.
 */
function compactRecords(records: FileRecord[], store: FindingStore, shared: Map<string, string> | undefined): void {
  const one = (s: string): string => {
    const known = shared!.get(s);
    if (known !== undefined) return known;
    shared!.set(s, s);
    return s;
  };
  for (const r of records as unknown as Array<Record<string, unknown>>) {
    if (shared) for (const k of ['status', 'encoding', 'compression', 'format'] as const) if (typeof r[k] === 'string') r[k] = one(r[k]);
    if (Array.isArray(r['findings'])) r['findings'] = store.add(r['findings'] as Finding[]);
    if (shared && Array.isArray(r['omitted']))
      for (const o of r['omitted'] as Array<{ detector: string; category: string }>) {
        o.detector = one(o.detector);
        o.category = one(o.category);
      }
  }
}

/** Drops disabled detectors from a loaded rule set. */
function withoutDisabled(ruleset: Ruleset, disable: readonly string[] | undefined): Ruleset {
  if (!disable || disable.length === 0) return ruleset;
  for (const id of disable) if (!reportedDetectors(ruleset).some((d) => d.id === id)) throw new UsageError(`cannot disable detector '${id}': no such detector loaded`);
  const detectors = ruleset.detectors.filter((d) => !disable.includes(d.id));
  if (detectors.length === 0) throw new UsageError('every detector is disabled');
  const structural = ruleset.structural && !disable.includes(ruleset.structural.id) ? ruleset.structural : undefined;
  return { detectors, sha256: ruleset.sha256, maxLength: Math.max(...detectors.map((d) => d.maxLength)), ...(structural ? { structural } : {}) };
}

/** Refuses an output inside an input root, or an input inside the output. */
async function checkOutputPath(p: Prepared, out: string, flag: string): Promise<void> {
  const parentReal = await realpath(path.dirname(out)).catch(() => path.dirname(out));
  const outReal = path.join(parentReal, path.basename(out));
  for (const root of p.collected.roots) {
    const rel = path.relative(root, outReal);
    if (rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel)))
      throw new UsageError(`${flag}: output path ${out} is inside the input ${root}`);
    const back = path.relative(outReal, root);
    if (!back.startsWith('..') && !path.isAbsolute(back)) throw new UsageError(`${flag}: input ${root} is inside the output path ${out}`);
  }
}

function detectorDescriptions(p: Prepared): Map<string, string> {
  return new Map(reportedDetectors(p.ruleset).map((d) => [d.id, d.description]));
}

/**
 * Stages redacted files (as zip entry data when `packing`); on any fatal error or abort, discards
 * everything. The collected entries are dropped once the manifest is built: on 100 000 files
 * their path strings were ~20 MB kept through the writing of the manifest and the zip.
 */
async function stageAll(p: Prepared, staging: Staging, packing?: Packing): Promise<Manifest> {
  const files = await processAll(p, staging, entryNames(p), packing);
  const manifest = buildManifest(p, files);
  p.collected.entries.length = 0;
  return manifest;
}

/**
 * Writes redacted copies to `outDir/evidence/…` with `manifest.json` and `REDACTIONS.md`.
 * @param force replace a non-empty `outDir`.
 */
export async function redactToDir(opts: RunOptions, outDir: string, force = false): Promise<OutputResult> {
  const p = await prepare(opts);
  const out = path.resolve(opts.cwd, outDir);
  await checkOutputPath(p, out, '--out-dir');
  if (!force && (await isNonEmptyDir(out))) throw new UsageError(`--out-dir: ${outDir} is not empty (use --force to replace it)`);
  const threads = threadCount(p);
  const staging = await Staging.create(out);
  try {
    const manifest = await stageAll(p, staging);
    await writeText(path.join(staging.dir, 'manifest.json'), manifestChunks(manifest));
    await writeText(path.join(staging.dir, 'REDACTIONS.md'), redactionsMdChunks(manifest, detectorDescriptions(p)));
    await publish(staging.dir, out);
    return { manifest, path: out, threads };
  } finally {
    await staging.discard();
  }
}

/**
 * Writes the ticket-ready zip: `evidence/…`, `manifest.json`, `REDACTIONS.md`.
 * @param force replace an existing file at `outFile`.
 */
export async function pack(opts: RunOptions, outFile: string, force = false): Promise<OutputResult> {
  const p = await prepare(opts);
  const out = path.resolve(opts.cwd, outFile);
  if (!out.toLowerCase().endsWith('.zip')) throw new UsageError(`--out: ${outFile} must end in .zip`);
  if (opts.zipLevel !== undefined && !(Number.isInteger(opts.zipLevel) && opts.zipLevel >= 0 && opts.zipLevel <= 9))
    throw new UsageError('--level: must be a whole number from 0 (store) to 9');
  await checkOutputPath(p, out, '--out');
  if (!force && (await exists(out))) throw new UsageError(`--out: ${outFile} already exists (use --force to replace it)`);
  const threads = threadCount(p);
  const staging = await Staging.create(out);
  try {
    const level = opts.zipLevel ?? DEFAULT_ZIP_LEVEL;
    const packed = new PackedTable();
    const manifest = await stageAll(p, staging, { level, entries: packed });
    const entries: ZipEntry[] = [];
    for (const f of manifest.files) {
      if (!isBundled(f)) continue;
      const slot = packed.slot(f.path);
      // Every bundled record was staged by a path that records its header facts; a gap is a bug, and fatal.
      if (slot === undefined) throw new Error(`${f.path}: staged without its zip entry data`);
      entries.push(new StagedEntry(staging.dir, f.path, packed, slot));
    }
    // Written to staging in pieces and zipped from there: never one string the size of the manifest.
    const manifestFile = path.join(staging.dir, 'manifest.json');
    await writeText(manifestFile, manifestChunks(manifest));
    entries.push({ name: 'manifest.json', file: manifestFile });
    const summaryFile = path.join(staging.dir, 'REDACTIONS.md');
    await writeText(summaryFile, redactionsMdChunks(manifest, detectorDescriptions(p)));
    entries.push({ name: 'REDACTIONS.md', file: summaryFile });
    const scrub = (data: Buffer): Buffer => redactSmall(p.scanner, p.fingerprints, data, p.opts.tokenMinter).output;
    // An extra entry has no '/', so only top-level names can clash: evidence entries' names are
    // not built for the check.
    const topLevel = new Set(entries.filter((x) => !(x instanceof StagedEntry)).map((x) => x.name));
    for (const e of (await opts.extraEntries?.(manifest, scrub)) ?? []) {
      if (e.name.includes('/') || topLevel.has(e.name)) throw new UsageError(`extra bundle entry '${e.name}' clashes with the bundle layout`);
      topLevel.add(e.name);
      entries.push({ name: e.name, data: scrub(e.data) });
    }
    const zipPath = path.join(staging.dir, 'bundle.zip');
    const written = await writeZip(zipPath, entries, new Date(manifest.createdAt), level);
    await publish(zipPath, out);
    return { manifest, path: out, bytes: written.bytes, sha256: written.sha256, threads };
  } finally {
    await staging.discard();
  }
}

/**
 * A staged evidence file as a zip entry. Its zip name, staged path and header facts are made when
 * the zip writer asks, not held: as strings and objects per entry they were ~25 MB of a
 * 100 000-file pack's zip phase.
 */
class StagedEntry {
  constructor(
    private readonly dir: string,
    private readonly path: string,
    private readonly table: PackedTable,
    private readonly slot: number,
  ) {}
  get name(): string {
    return evidenceName(this.path);
  }
  get packed(): PackedFile {
    return { ...this.table.at(this.slot), file: stagedPath(this.dir, this.path) };
  }
}

/** A run staged but not yet bundled: what {@link stageBundle} returns. */
export interface StagedBundle {
  readonly manifest: Manifest;
  /** Bundle entries in manifest order: zip name (`evidence/…`), staged file, and its record. */
  readonly evidence: ReadonlyArray<{ readonly name: string; readonly file: string; readonly record: FileRecord }>;
  /** Detector id → description (for REDACTIONS.md). */
  readonly detectorInfo: ReadonlyMap<string, string>;
  /** Input roots (absolute), for output-path checks by the caller. */
  readonly roots: readonly string[];
}

/**
 * Stages a run into `staging` (evidence files only) and returns the manifest and the staged files,
 * so a caller can build its own bundle(s) (bulk archive, split parts). The caller owns `staging`:
 * it checks output paths, writes the zip(s), publishes and discards.
 */
export async function stageBundle(opts: RunOptions, staging: Staging): Promise<StagedBundle> {
  const p = await prepare(opts);
  const manifest = await stageAll(p, staging);
  const evidence: Array<{ name: string; file: string; record: FileRecord }> = [];
  for (const f of manifest.files) {
    if (isBundled(f)) evidence.push({ name: evidenceName(f.path), file: stagedPath(staging.dir, f.path), record: f });
  }
  return { manifest, evidence, detectorInfo: detectorDescriptions(p), roots: p.collected.roots };
}
