/**
 * `verify`: re-checks a bundle (zip or output folder) independently of the run that made it.
 * Every evidence entry must match the sha256 and size in the manifest, nothing may be in the
 * bundle that the manifest does not list, and a fresh scan of every entry (manifest and
 * REDACTIONS.md included) must find nothing. Problems are described by entry name, detector and
 * line, never by value.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import fg from 'fast-glob';
import { BundleError, FileError } from './errors.js';
import { loadRuleset } from './detect/load.js';
import { Scanner } from './detect/scanner.js';
import { isPseudonymShape } from './pseudonym/minter.js';
import { Fingerprinter } from './fingerprint.js';
import { createRedactor } from './redact/redactor.js';
import { evidenceName } from './manifest.js';
import type { Manifest } from './manifest.js';
import { validateManifest } from './manifest-schema.js';
import { DecodeToUtf8 } from './source/encoding.js';
import { stripImageMetadata } from './source/image.js';
import type { TextEncoding } from './source/encoding.js';

/** Outcome of {@link verifyBundle}. */
export interface VerifyResult {
  /** True when every check passed. */
  readonly ok: boolean;
  /** Entries examined. */
  readonly entries: number;
  /** One line per problem, naming the entry. */
  readonly problems: string[];
}

interface BundleEntry {
  readonly name: string;
  open(): Readable;
}

async function zipEntries(file: string): Promise<BundleEntry[]> {
  let dir;
  try {
    const { default: unzipper } = await import('unzipper');
    dir = await unzipper.Open.file(file);
  } catch (err) {
    throw new BundleError(`${file}: not a readable zip (${(err as Error).message})`);
  }
  return dir.files.filter((f) => f.type === 'File').map((f) => ({ name: f.path, open: () => f.stream() as unknown as Readable }));
}

async function dirEntries(root: string): Promise<BundleEntry[]> {
  const names = await fg('**/*', { cwd: root, dot: true, onlyFiles: true, followSymbolicLinks: false });
  return names.sort().map((name) => ({ name, open: () => createReadStream(path.join(root, name)) }));
}

async function readAll(e: BundleEntry): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of e.open()) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/**
 * Verifies a bundle.
 * @param target a `.zip` written by `pack` or a folder written by `redact`.
 * @param patterns pattern files/folders to rescan with; default: the built-in set.
 * @throws BundleError when the target is not a bundle at all (exit 2).
 */
export async function verifyBundle(target: string, patterns?: readonly string[]): Promise<VerifyResult> {
  let isDir = false;
  try {
    isDir = (await stat(target)).isDirectory();
  } catch {
    throw new BundleError(`${target}: does not exist`);
  }
  const entries = isDir ? await dirEntries(target) : await zipEntries(target);
  const problems: string[] = [];
  const byName = new Map<string, BundleEntry>();
  for (const e of entries) {
    if (byName.has(e.name)) problems.push(`${e.name}: appears more than once`);
    byName.set(e.name, e);
  }
  const manifestEntry = byName.get('manifest.json');
  if (!manifestEntry) throw new BundleError(`${target}: no manifest.json (not an aliscrub bundle)`);
  let manifest: Manifest;
  try {
    manifest = JSON.parse((await readAll(manifestEntry)).toString('utf8')) as Manifest;
  } catch (err) {
    throw new BundleError(`${target}: manifest.json is not valid JSON (${(err as Error).message})`);
  }
  const schemaProblems = validateManifest(manifest);
  if (schemaProblems.length > 0) {
    problems.push(...schemaProblems.map((p) => `manifest.json: ${p}`));
    return { ok: false, entries: entries.length, problems };
  }

  const ruleset = await loadRuleset(patterns);
  // Shape-preserving pseudonyms (240.0.0.0/4, user-<hex>@example.invalid) are replacements, not findings.
  const scanner = new Scanner(ruleset.detectors, true, manifest.pseudonyms === 'shape' ? (d, v) => isPseudonymShape(d.category, v) : undefined);
  // TICKET.md and the incident file come from `pack --incident`: not in the manifest, rescanned like the rest.
  const listed = new Set(['manifest.json', 'REDACTIONS.md', 'TICKET.md', 'incident.yaml', 'incident.json']);
  const expected = new Map<string, { sha256: string; bytes: number; encoding: TextEncoding; gzip: boolean; image?: boolean; unscanned?: boolean }>();
  for (const f of manifest.files) {
    if (f.status === 'unscanned') {
      // Bundled on request without scanning (--include-unscanned): checked by hash only.
      const name = evidenceName(f.path);
      listed.add(name);
      expected.set(name, { sha256: f.sha256, bytes: f.bytesOut, encoding: 'utf-8', gzip: false, unscanned: true });
      if (!byName.has(name)) problems.push(`${name}: listed in the manifest but missing from the bundle`);
    }
    if (f.status === 'stripped') {
      const name = evidenceName(f.path);
      listed.add(name);
      expected.set(name, { sha256: f.sha256, bytes: f.bytesOut, encoding: 'utf-8', gzip: false, image: true });
      if (!byName.has(name)) problems.push(`${name}: listed in the manifest but missing from the bundle`);
    }
    if (f.status === 'redacted' || f.status === 'clean') {
      const name = evidenceName(f.path);
      listed.add(name);
      // A bundle manifest always has both (only scan results leave them out); missing = mismatch.
      expected.set(name, { sha256: f.sha256 ?? '', bytes: f.bytesOut ?? -1, encoding: f.encoding, gzip: f.compression === 'gzip' });
      if (!byName.has(name)) problems.push(`${name}: listed in the manifest but missing from the bundle`);
    }
  }
  if (!byName.has('REDACTIONS.md')) problems.push('REDACTIONS.md: missing from the bundle');
  for (const e of entries) {
    if (!listed.has(e.name)) problems.push(`${e.name}: in the bundle but not listed in the manifest`);
    const image = expected.get(e.name);
    if (image?.unscanned) {
      const data = await readAll(e);
      const sha = createHash('sha256').update(data).digest('hex');
      if (sha !== image.sha256 || data.length !== image.bytes) problems.push(`${e.name}: content does not match the manifest (sha256 or size differs)`);
      continue;
    }
    if (image?.image) {
      // An image is checked by hash and by finding no metadata left to strip.
      const data = await readAll(e);
      const sha = createHash('sha256').update(data).digest('hex');
      if (sha !== image.sha256 || data.length !== image.bytes) problems.push(`${e.name}: content does not match the manifest (sha256 or size differs)`);
      try {
        const left = stripImageMetadata(data).removed;
        if (left.length > 0) problems.push(`${e.name}: still holds metadata (${left.map((b) => b.kind).join(', ')})`);
      } catch {
        problems.push(`${e.name}: image cannot be parsed`);
      }
      continue;
    }
    const hash = createHash('sha256');
    let bytes = 0;
    const redactor = createRedactor(scanner, new Fingerprinter(), { name: e.name });
    try {
      const tap = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          hash.update(chunk);
          bytes += chunk.length;
          cb(null, chunk);
        },
      });
      // Read each entry the way it was written: decompress and decode before rescanning.
      const want = expected.get(e.name);
      const stages: Array<NodeJS.ReadableStream | NodeJS.WritableStream | NodeJS.ReadWriteStream> = [e.open(), tap];
      if (want?.gzip) stages.push(createGunzip());
      if (want && want.encoding !== 'utf-8') stages.push(new DecodeToUtf8(want.encoding, e.name));
      stages.push(redactor, new Writable({ write: (_c, _e, cb) => cb() }));
      await pipeline(stages);
    } catch (err) {
      problems.push(err instanceof FileError ? `${e.name}: ${err.code}: cannot be scanned` : `${e.name}: cannot be read (${(err as Error).message})`);
      continue;
    }
    const want = expected.get(e.name);
    const sha = hash.digest('hex');
    if (want && (want.sha256 !== sha || want.bytes !== bytes)) problems.push(`${e.name}: content does not match the manifest (sha256 or size differs)`);
    for (const f of redactor.result.findings) problems.push(`${e.name}:${f.line}:${f.column}: ${f.detector} (${f.category}) found on rescan`);
  }
  return { ok: problems.length === 0, entries: entries.length, problems };
}
