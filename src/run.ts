/**
 * The orchestrator: the one module that knows every stage.
 *
 *   source (collect) → detect (Scanner) → redact (RedactTransform) → bundle (staging, zip)
 *
 * with the manifest as the record of all of it. Fatal problems (usage, patterns, output path)
 * throw before anything is written; per-file problems become `failed`/`excluded` records and the
 * file is left out (fail closed). Output appears at its final path only when complete.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readFile, realpath, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Transform, Writable } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import pLimit from 'p-limit';
import { FileError, UsageError, fileErrorFromErrno } from './errors.js';
import { loadRuleset } from './detect/load.js';
import type { Ruleset } from './detect/load.js';
import { Scanner } from './detect/scanner.js';
import { keepPredicate } from './detect/policy.js';
import type { KeepPolicy } from './detect/policy.js';
import { Fingerprinter, MIN_KEY_BYTES } from './fingerprint.js';
import { createRedactor, redactBuffer, redactSmall } from './redact/redactor.js';
import { collect } from './source/collect.js';
import type { Collected } from './source/collect.js';
import type { Entry } from './source/entry.js';
import { AutoDecode, AutoEncode } from './source/encoding.js';
import { ByteBudget, DEFAULT_ARCHIVE_LIMITS, archiveKind, walkArchive } from './source/archive.js';
import type { ArchiveKind, ArchiveLimits } from './source/archive.js';
import { hasBinaryExtension, hasImageExtension } from './source/entry.js';
import { ImageMetadataError, MAX_IMAGE_BYTES, stripImageMetadata } from './source/image.js';
import type { StripResult } from './source/image.js';
import type { EncodingState, TextEncoding } from './source/encoding.js';
import { bundlePath, computeTotals, MANIFEST_SCHEMA_VERSION, serializeManifest } from './manifest.js';
import type { ExcludeReason, FileRecord, Manifest } from './manifest.js';
import { silentLogger } from './log.js';
import type { Logger } from './log.js';
import { Staging, exists, isNonEmptyDir, publish } from './bundle/staging.js';
import { writeZip } from './bundle/zip.js';
import type { ZipEntry } from './bundle/zip.js';
import { renderRedactionsMd } from './bundle/redactions-md.js';
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
}

/** What `redact` and `pack` return. */
export interface OutputResult {
  readonly manifest: Manifest;
  /** Final path of the folder or zip. */
  readonly path: string;
  /** Zip only: size in bytes and sha256 of the bundle. */
  readonly bytes?: number;
  readonly sha256?: string;
}

/** Everything prepared before any file is read. */
interface Prepared {
  readonly ruleset: Ruleset;
  readonly scanner: Scanner;
  readonly fingerprints: Fingerprinter;
  readonly collected: Collected;
  readonly log: Logger;
  readonly opts: RunOptions;
  readonly limits: ArchiveLimits;
}

const READ_CHUNK = 1024 * 1024;

async function prepare(opts: RunOptions): Promise<Prepared> {
  if (opts.key && opts.key.length < MIN_KEY_BYTES) throw new UsageError(`--key-file: the key must be at least ${MIN_KEY_BYTES} bytes`);
  if (opts.concurrency !== undefined && (!Number.isInteger(opts.concurrency) || opts.concurrency < 1))
    throw new UsageError('--concurrency: must be a whole number of at least 1');
  const ruleset = withoutDisabled(await loadRuleset(opts.patterns, opts.detectors), opts.disable);
  const collected = await collect(opts.inputs, {
    cwd: opts.cwd,
    exclude: opts.exclude ?? [],
    maxFileBytes: opts.maxFileBytes ?? 0,
    images: opts.images ?? 'strip',
  });
  await opts.onCollected?.(
    collected.entries.length,
    collected.entries.reduce((n, e) => n + e.size, 0),
  );
  return {
    ruleset,
    scanner: new Scanner(ruleset.detectors, true, keepPredicate(opts.keep)),
    fingerprints: new Fingerprinter(opts.key),
    collected,
    log: opts.log ?? silentLogger,
    opts,
    limits: { ...DEFAULT_ARCHIVE_LIMITS, ...opts.archiveLimits },
  };
}

/** File names are part of the bundle: a name holding a detected value is redacted like content. */
function safeName(p: Prepared, name: string): string {
  return redactSmall(p.scanner, p.fingerprints, Buffer.from(name)).output.toString('utf8');
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
 * Redacts one file into `dest` (or nowhere). Never throws for per-file problems: returns the
 * record. On any failure the partial destination file is removed.
 */
async function processEntry(p: Prepared, entry: Entry, name: string, destFor: DestFor): Promise<FileRecord[]> {
  const kind = archiveKind(entry.path);
  if (kind) {
    const budget = new ByteBudget(p.limits.maxTotalBytes);
    return processArchive(p, entry.absolutePath, kind, name, 1, budget, { entries: 0 }, destFor);
  }
  if (hasImageExtension(entry.path)) return [await processImage(p, entry, name, await destFor(name))];
  return [await processStream(p, () => createReadStream(entry.absolutePath, { highWaterMark: READ_CHUNK }), entry.path, name, entry.size, await destFor(name))];
}

/**
 * Screenshots: every metadata block is removed and its text scanned (so the manifest says what was
 * in it); the pixels are copied unchanged and not scanned. An image that cannot be parsed
 * completely is left out (fail closed).
 */
async function processImage(p: Prepared, entry: Entry, name: string, dest: string | undefined): Promise<FileRecord> {
  if (entry.size > MAX_IMAGE_BYTES) return { path: name, status: 'excluded', reason: 'too-large', bytesIn: entry.size };
  let stripped: StripResult;
  try {
    stripped = stripImageMetadata(await readFile(entry.absolutePath));
  } catch (err) {
    const fe =
      err instanceof ImageMetadataError
        ? new FileError('corrupt', `${name}: image cannot be parsed completely (${err.message})`)
        : toFileError(err, name);
    p.log.warn(fe.message);
    return { path: name, status: 'failed', reason: fe.code, message: fe.message };
  }
  const text = Buffer.from(stripped.removed.map((b) => b.text).join('\n'));
  const { result } = await redactBuffer(p.scanner, p.fingerprints, text);
  if (dest) await writeFile(dest, stripped.output, { flag: 'wx' });
  const counts: Record<string, number> = {};
  for (const f of result.findings) counts[f.detector] = (counts[f.detector] ?? 0) + 1;
  return {
    path: name,
    status: 'stripped',
    bytesIn: entry.size,
    bytesOut: stripped.output.length,
    sha256: createHash('sha256').update(stripped.output).digest('hex'),
    format: stripped.format,
    pixels: 'unscanned',
    removed: stripped.removed.map((b) => ({ kind: b.kind, bytes: b.bytes })),
    counts: Object.fromEntries(Object.entries(counts).sort(([a], [b]) => (a < b ? -1 : 1))),
    findings: result.findings,
  };
}

/**
 * Redacts one byte stream into `dest` (or nowhere). Never throws for per-file problems: returns
 * the record. On any failure the partial destination file is removed.
 * @param rawName the name used to recognise `.gz` (before value redaction).
 */
async function processStream(
  p: Prepared,
  open: () => NodeJS.ReadableStream,
  rawName: string,
  name: string,
  size: number,
  dest: string | undefined,
  meter?: Transform,
): Promise<FileRecord> {
  const redactor = createRedactor(p.scanner, p.fingerprints, { name });
  const hasher = new Hasher();
  const gzip = isGzipName(rawName);
  const encoding: EncodingState = {};
  try {
    const sink = dest ? createWriteStream(dest, { flags: 'wx' }) : nullSink();
    // source → [budget] → [gunzip] → decode to UTF-8 → redact → encode back → [gzip] → hash → sink
    const stages: Array<NodeJS.ReadableStream | NodeJS.WritableStream | NodeJS.ReadWriteStream> = [open()];
    if (meter) stages.push(meter);
    if (gzip) stages.push(createGunzip());
    stages.push(new AutoDecode(encoding, name, p.opts.encoding), redactor, new AutoEncode(encoding));
    if (gzip) stages.push(createGzip({ level: 6 }));
    stages.push(hasher, sink);
    await pipeline(stages, { signal: p.opts.signal });
  } catch (err) {
    if (dest) await unlink(dest).catch(() => {});
    if (p.opts.signal?.aborted) throw err;
    const fe = toFileError(err, name);
    if (fe.code === 'binary') return { path: name, status: 'excluded', reason: 'binary', bytesIn: size };
    if (fe.code === 'archive-bomb') return { path: name, status: 'excluded', reason: 'archive-bomb', bytesIn: size };
    const message = fe.message.startsWith(name) ? fe.message : `${name}: ${fe.message}`;
    p.log.warn(message);
    return { path: name, status: 'failed', reason: fe.code, message };
  }
  const r = redactor.result;
  const counts: Record<string, number> = {};
  for (const f of r.findings) counts[f.detector] = (counts[f.detector] ?? 0) + 1;
  const sniffed = encoding.sniffed;
  return {
    path: name,
    status: r.findings.length > 0 ? 'redacted' : 'clean',
    bytesIn: size,
    bytesOut: hasher.bytes,
    sha256: hasher.hash.digest('hex'),
    encoding: sniffed?.encoding ?? 'utf-8',
    bom: sniffed?.bom ?? false,
    compression: gzip ? 'gzip' : 'none',
    counts: Object.fromEntries(Object.entries(counts).sort(([a], [b]) => (a < b ? -1 : 1))),
    findings: r.findings,
  };
}

type DestFor = (name: string) => Promise<string | undefined>;

/**
 * Processes every member of an archive (recursing into nested archives up to the depth limit).
 * Members are named `archive!/member`; a refused member gets an `excluded` record with its
 * reason and none of its bytes reach the output. A corrupt archive adds one `failed` record for
 * the archive; members already processed stand.
 */
async function processArchive(
  p: Prepared,
  file: string,
  kind: ArchiveKind,
  prefix: string,
  depth: number,
  budget: ByteBudget,
  count: { entries: number },
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
      if (hasBinaryExtension(m.name)) return void refuse(name, 'binary', m.size);
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

/** Runs every entry with bounded concurrency; records come back in entry (path) order. */
async function processAll(p: Prepared, destFor: (name: string) => Promise<string | undefined>): Promise<FileRecord[]> {
  const limit = pLimit(p.opts.concurrency ?? 4);
  const names = p.collected.entries.map((e) => safeName(p, e.path));
  const settled = await Promise.allSettled(
    p.collected.entries.map((entry, i) =>
      limit(async () => {
        p.opts.signal?.throwIfAborted();
        const records = await processEntry(p, entry, names[i]!, destFor);
        for (const r of records) p.opts.onFileDone?.(r, entry.size / records.length);
        return records;
      }),
    ),
  );
  // Wait for every task before failing, so nothing writes into staging while it is removed.
  const records = settled.flatMap((r) => {
    if (r.status === 'rejected') throw r.reason;
    return r.value;
  });
  const skipped: FileRecord[] = p.collected.skipped.map((s) => ({ path: safeName(p, s.path), status: 'excluded', reason: s.reason, bytesIn: s.bytesIn }));
  return [...records, ...skipped].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
}

function createdAt(p: Prepared): string {
  const epoch = p.opts.sourceDateEpoch;
  if (epoch !== undefined) return new Date(epoch * 1000).toISOString();
  // Deterministic without SOURCE_DATE_EPOCH: the newest input modification time.
  const newest = Math.max(0, ...p.collected.entries.map((e) => Math.floor(e.mtimeMs / 1000) * 1000));
  return new Date(newest).toISOString();
}

function buildManifest(p: Prepared, files: FileRecord[]): Manifest {
  return {
    schemaVersion: MANIFEST_SCHEMA_VERSION,
    tool: { name: 'aliscrub', version: VERSION },
    createdAt: createdAt(p),
    ruleset: {
      sha256: p.ruleset.sha256,
      detectors: p.ruleset.detectors.map((d) => ({ id: d.id, category: d.category })),
    },
    options: {
      keySource: p.opts.key ? 'file' : 'random',
      exclude: [...(p.opts.exclude ?? [])],
      detectors: p.opts.disable && p.opts.disable.length > 0 ? p.ruleset.detectors.map((d) => d.id) : p.opts.detectors && p.opts.detectors.length > 0 ? [...p.opts.detectors] : 'all',
      maxFileBytes: p.opts.maxFileBytes ?? 0,
    },
    files,
    totals: computeTotals(files),
  };
}

/** Scans inputs and reports, writing nothing. */
export async function scan(opts: RunOptions): Promise<ScanResult> {
  const p = await prepare(opts);
  const files = await processAll(p, async () => undefined);
  const sources = new Map(p.collected.entries.map((e) => [safeName(p, e.path), e.absolutePath] as const));
  return { manifest: buildManifest(p, files), base: p.collected.base, sources, ruleset: p.ruleset };
}

/** Drops disabled detectors from a loaded rule set. */
function withoutDisabled(ruleset: Ruleset, disable: readonly string[] | undefined): Ruleset {
  if (!disable || disable.length === 0) return ruleset;
  for (const id of disable) if (!ruleset.detectors.some((d) => d.id === id)) throw new UsageError(`cannot disable detector '${id}': no such detector loaded`);
  const detectors = ruleset.detectors.filter((d) => !disable.includes(d.id));
  if (detectors.length === 0) throw new UsageError('every detector is disabled');
  return { ...ruleset, detectors, maxLength: Math.max(...detectors.map((d) => d.maxLength)) };
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
  return new Map(p.ruleset.detectors.map((d) => [d.id, d.description]));
}

/** Stages redacted files; on any fatal error or abort, discards everything. */
async function stageAll(p: Prepared, staging: Staging): Promise<Manifest> {
  const files = await processAll(p, (name) => staging.evidenceFile(name));
  return buildManifest(p, files);
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
  const staging = await Staging.create(out);
  try {
    const manifest = await stageAll(p, staging);
    await writeFile(path.join(staging.dir, 'manifest.json'), serializeManifest(manifest));
    await writeFile(path.join(staging.dir, 'REDACTIONS.md'), renderRedactionsMd(manifest, detectorDescriptions(p)));
    await publish(staging.dir, out);
    return { manifest, path: out };
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
  await checkOutputPath(p, out, '--out');
  if (!force && (await exists(out))) throw new UsageError(`--out: ${outFile} already exists (use --force to replace it)`);
  const staging = await Staging.create(out);
  try {
    const manifest = await stageAll(p, staging);
    const entries: ZipEntry[] = [];
    for (const f of manifest.files) {
      if (f.status === 'redacted' || f.status === 'clean' || f.status === 'stripped') entries.push({ name: `evidence/${bundlePath(f.path)}`, file: await staging.evidenceFile(f.path) });
    }
    entries.push({ name: 'manifest.json', data: Buffer.from(serializeManifest(manifest)) });
    entries.push({ name: 'REDACTIONS.md', data: Buffer.from(renderRedactionsMd(manifest, detectorDescriptions(p))) });
    const zipPath = path.join(staging.dir, 'bundle.zip');
    const written = await writeZip(zipPath, entries, new Date(manifest.createdAt));
    await publish(zipPath, out);
    return { manifest, path: out, bytes: written.bytes, sha256: written.sha256 };
  } finally {
    await staging.discard();
  }
}
