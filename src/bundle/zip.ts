/**
 * Writes a deterministic zip with archiver: entries in byte order of their names, one fixed
 * timestamp (UTC DOS time), fixed file modes, UTF-8 names. Same entries + same date ⇒ same bytes.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { compareNames } from '../source/collect.js';

/** One zip entry: content from a file on disk or from memory. */
export type ZipEntry = { readonly name: string } & ({ readonly file: string } | { readonly data: Buffer });

/** DOS time cannot represent dates before 1980. */
const DOS_EPOCH = Date.UTC(1980, 0, 1, 0, 0, 0);

/** Deflate level of bundles unless chosen (zlib's default; the same as `zip -6`). */
export const DEFAULT_ZIP_LEVEL = 6;

/**
 * Writes `entries` to a new zip at `dest`.
 * @param date the timestamp of every entry (clamped to 1980-01-01 or later).
 * @param level deflate level 0 (store) – 9 (smallest, slowest).
 * @returns size in bytes and sha256 (hex) of the zip.
 */
export async function writeZip(dest: string, entries: readonly ZipEntry[], date: Date, level = DEFAULT_ZIP_LEVEL): Promise<{ bytes: number; sha256: string }> {
  const when = new Date(Math.max(date.getTime(), DOS_EPOCH));
  // archiver is loaded only when a zip is written: it costs ~0.4 s of start-up for every command.
  const { ZipArchive } = await import('archiver');
  const archive = new ZipArchive(level === 0 ? { store: true } : { zlib: { level } });
  const out = createWriteStream(dest, { flags: 'wx' });
  const hash = createHash('sha256');
  let bytes = 0;
  archive.on('data', (b: Buffer) => {
    hash.update(b);
    bytes += b.length;
  });
  archive.pipe(out);
  const failed = new Promise<never>((_, reject) => {
    archive.on('error', reject);
    out.on('error', reject);
  });
  for (const e of [...entries].sort((a, b) => compareNames(a.name, b.name))) {
    const source = 'file' in e ? createReadStream(e.file) : e.data;
    archive.append(source, { name: e.name, date: when, mode: 0o644 });
  }
  await Promise.race([Promise.all([archive.finalize(), finished(out)]), failed]);
  return { bytes, sha256: hash.digest('hex') };
}
