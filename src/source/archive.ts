/**
 * Archives as sources: `.zip` (unzipper, central directory, streamed members), `.tar`, `.tar.gz`
 * and `.tgz` (tar-stream). Members are visited in archive order; each is either offered to the
 * caller as a byte stream or refused with a named reason before any byte is read: unsafe paths
 * (zip-slip), links, encryption, an implausible compression ratio. Sizes in headers can lie, so
 * the caller also counts real bytes against a budget (see {@link ByteBudget}).
 */
import { createReadStream } from 'node:fs';
import { PassThrough, Transform } from 'node:stream';
import type { Readable } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { FileError } from '../errors.js';

/** Archive formats read as folders of evidence. */
export type ArchiveKind = 'zip' | 'tar' | 'tgz';

/** Why a member is not processed. Stable strings: they appear in the manifest. */
export type RefusalReason = 'unsafe-path' | 'link' | 'encrypted' | 'archive-bomb' | 'too-many-entries' | 'archive-depth';

/** Limits applied to one top-level archive, nested archives included. */
export interface ArchiveLimits {
  /** Nesting depth: an archive inside an archive inside the input is depth 2. @default 3 */
  readonly maxDepth: number;
  /** Total uncompressed bytes read from all members. @default 4 GiB */
  readonly maxTotalBytes: number;
  /** Members (files) per top-level archive. @default 100000 */
  readonly maxEntries: number;
  /** Largest uncompressed/compressed ratio a member may declare. @default 200 */
  readonly maxRatio: number;
}

export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = {
  maxDepth: 3,
  maxTotalBytes: 4 * 1024 ** 3,
  maxEntries: 100_000,
  maxRatio: 200,
};

/** What the walker reports for each file member. */
export interface MemberEvent {
  /** '/'-separated path inside the archive, as stored. */
  readonly name: string;
  /** Declared uncompressed size in bytes (may lie). */
  readonly size: number;
  /** Set when the member must not be read. */
  readonly refused?: RefusalReason;
  /** Opens the member's bytes. Absent when refused. */
  readonly open?: () => Readable;
}

/** The archive kind of a file name, if it is one. */
export function archiveKind(name: string): ArchiveKind | undefined {
  const n = name.toLowerCase();
  if (n.endsWith('.zip')) return 'zip';
  if (n.endsWith('.tar')) return 'tar';
  if (n.endsWith('.tgz') || n.endsWith('.tar.gz')) return 'tgz';
  return undefined;
}

/** A member path that would escape an extraction folder, or is absolute, is unsafe. */
export function unsafeMemberPath(name: string): boolean {
  if (name.includes('\0')) return true;
  const n = name.replace(/\\/g, '/');
  if (n.startsWith('/') || /^[A-Za-z]:/.test(n)) return true;
  return n.split('/').some((seg) => seg === '..');
}

/** Counts bytes through a stream and fails once a shared budget is spent (zip bombs). */
export class ByteBudget {
  constructor(public remaining: number) {}

  /** A Transform that charges every byte to this budget. */
  meter(name: string): Transform {
    const budget = this;
    return new Transform({
      transform(chunk: Buffer, _enc, cb: TransformCallback) {
        budget.remaining -= chunk.length;
        if (budget.remaining < 0) cb(new FileError('archive-bomb', `${name}: archive expands beyond the size limit`));
        else cb(null, chunk);
      },
    });
  }
}

/** Normalises a member name to '/' separators without empty or '.' segments. */
function cleanName(name: string): string {
  return name
    .replace(/\\/g, '/')
    .split('/')
    .filter((s) => s !== '' && s !== '.')
    .join('/');
}

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

async function walkZip(file: string, limits: ArchiveLimits, visit: (m: MemberEvent) => Promise<void>): Promise<void> {
  let dir;
  try {
    // Loaded on first use: most runs hold no archive, and these modules cost ~60 ms of start-up.
    const { default: unzipper } = await import('unzipper');
    dir = await unzipper.Open.file(file);
  } catch (err) {
    throw new FileError('corrupt', `not a readable zip (${(err as Error).message})`, { cause: err });
  }
  for (const f of dir.files) {
    if (f.type === 'Directory') continue;
    const raw = f.path;
    const name = cleanName(raw);
    const base = { name: name || raw, size: f.uncompressedSize };
    if (unsafeMemberPath(raw)) await visit({ ...base, refused: 'unsafe-path' });
    else if (((f.externalFileAttributes >>> 16) & S_IFMT) === S_IFLNK) await visit({ ...base, refused: 'link' });
    else if ((f.flags & 0x1) !== 0) await visit({ ...base, refused: 'encrypted' });
    else if (f.compressedSize > 0 && f.uncompressedSize / f.compressedSize > limits.maxRatio) await visit({ ...base, refused: 'archive-bomb' });
    else await visit({ ...base, open: () => f.stream() as unknown as Readable });
  }
}

async function walkTar(file: string, gz: boolean, visit: (m: MemberEvent) => Promise<void>): Promise<void> {
  const { default: tar } = await import('tar-stream');
  const extract = tar.extract();
  // The member being read: if the archive breaks mid-member, its reader must fail, not hang.
  let current: PassThrough | undefined;
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const name = cleanName(header.name);
      const base = { name: name || header.name, size: header.size ?? 0 };
      let event: MemberEvent;
      if (header.type === 'directory') {
        stream.resume();
        stream.on('end', () => next());
        return;
      }
      if (unsafeMemberPath(header.name)) event = { ...base, refused: 'unsafe-path' };
      else if (header.type === 'symlink' || header.type === 'link') event = { ...base, refused: 'link' };
      else if (header.type !== 'file' && header.type !== 'contiguous-file') event = { ...base, refused: 'link' };
      // The visitor gets a pass-through, so a failing member pipeline cannot destroy the tar stream.
      else event = { ...base, open: () => (current = stream.pipe(new PassThrough())) };
      const entry = stream as unknown as Readable;
      // tar-stream's streams are streamx, without `readableEnded`: track the end ourselves.
      let ended = false;
      entry.on('end', () => {
        ended = true;
      });
      // tar-stream errors the member stream when the archive breaks; `pipe` does not forward it.
      entry.on('error', (err: Error) => current?.destroy(new FileError('corrupt', `archive ends inside a member (${err.message})`)));
      visit(event).then(
        () => {
          current = undefined;
          if (ended) return next();
          entry.on('end', () => next());
          entry.resume(); // drain what the visitor did not read
        },
        (err) => {
          extract.destroy(err as Error);
          reject(err);
        },
      );
    });
    extract.on('finish', resolve);
    extract.on('error', (err: Error) => {
      current?.destroy(new FileError('corrupt', `archive ends inside a member (${err.message})`));
      reject(err);
    });
    extract.on('close', () => {
      current?.destroy(new FileError('corrupt', 'archive ends inside a member'));
    });
  });
  const stages: Array<NodeJS.ReadableStream | NodeJS.ReadWriteStream | NodeJS.WritableStream> = [createReadStream(file)];
  if (gz) stages.push(createGunzip());
  stages.push(extract);
  try {
    const piped = pipeline(stages).catch((err: unknown) => {
      current?.destroy(new FileError('corrupt', `archive ends inside a member (${(err as Error).message})`));
      throw err;
    });
    await Promise.all([piped, done]);
  } catch (err) {
    if (err instanceof FileError && err.code !== 'corrupt') throw err;
    throw new FileError('corrupt', `corrupt or truncated archive (${(err as Error).message})`, { cause: err });
  }
}

/**
 * Visits every file member of an archive in order. `visit` is awaited before the next member;
 * for tar it must either read the member completely or not open it.
 * @throws FileError('corrupt') when the archive itself cannot be read (members visited so far stand).
 */
export async function walkArchive(file: string, kind: ArchiveKind, limits: ArchiveLimits, visit: (m: MemberEvent) => Promise<void>): Promise<void> {
  if (kind === 'zip') return walkZip(file, limits, visit);
  return walkTar(file, kind === 'tgz', visit);
}
