/**
 * Where output is assembled before it becomes visible. The staging folder is a hidden sibling of
 * the final path (same filesystem, so the final step is one rename). An interrupted run leaves at
 * most a hidden `.NAME.aliscrub-*` folder, never something that looks like a finished bundle.
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, mkdtemp, open, readdir, rename, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundlePath } from '../manifest.js';
import { mapLanes } from '../parallel/lanes.js';

/** A staging folder for one output. */
export class Staging {
  private constructor(
    /** Absolute path of the staging folder. */
    readonly dir: string,
    /** Absolute path the finished output will have. */
    readonly finalPath: string,
  ) {}

  /** Creates a staging folder next to `finalPath` (whose parent folder is created if needed). */
  static async create(finalPath: string): Promise<Staging> {
    const parent = path.dirname(finalPath);
    await mkdir(parent, { recursive: true });
    const dir = await mkdtemp(path.join(parent, `.${path.basename(finalPath)}.aliscrub-`));
    return new Staging(dir, finalPath);
  }

  /** Path of an evidence file inside the staging folder; creates its parent folders. */
  async evidenceFile(name: string): Promise<string> {
    return evidencePath(this.dir, name);
  }

  /** Removes the staging folder and everything in it. Safe to call more than once. */
  async discard(): Promise<void> {
    await removeTree(this.dir);
  }
}

/** File-system calls {@link removeTree} keeps in flight. */
const REMOVE_LANES = 16;

const unlessGone = (err: NodeJS.ErrnoException): void => {
  if (err.code !== 'ENOENT') throw err;
};

/**
 * `rm -rf target` with at most {@link REMOVE_LANES} calls in flight. `fs.promises.rm` starts one
 * unlink per file of a folder at once: removing the staging folder of a 100 000-file pack took
 * peak RSS from ~240 to ~370 MB (pending requests and their promises). Links are removed, never
 * followed (a replaced output may be a link to a folder). A missing path is not an error.
 */
export async function removeTree(target: string): Promise<void> {
  let st;
  try {
    st = await lstat(target);
  } catch (err) {
    return unlessGone(err as NodeJS.ErrnoException);
  }
  if (!st.isDirectory()) return unlink(target).catch(unlessGone);
  const dir = target;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    return unlessGone(err as NodeJS.ErrnoException);
  }
  // Dirent types are the entries' own (lstat): a link to a folder is a file here.
  const files: string[] = [];
  for (const e of entries) {
    if (e.isDirectory()) await removeTree(path.join(dir, e.name));
    else files.push(e.name);
  }
  await mapLanes(files, REMOVE_LANES, (name) => unlink(path.join(dir, name)).catch(unlessGone));
  await rmdir(dir).catch(unlessGone);
}

/**
 * Path of the evidence file for manifest path `name` inside staging folder `dir`; creates its
 * parent folders. (Worker threads have the folder's path, not the Staging object.)
 */
export async function evidencePath(dir: string, name: string): Promise<string> {
  const p = stagedPath(dir, name);
  await mkdir(path.dirname(p), { recursive: true });
  return p;
}

/** Where {@link evidencePath} put the file for `name`: for reading it back, nothing is created. */
export function stagedPath(dir: string, name: string): string {
  return path.join(dir, 'evidence', ...bundlePath(name).split('/'));
}

/** Bytes of the buffer {@link writeText} encodes pieces into (a 64 Ki-character piece fits). */
const TEXT_BUFFER = 256 * 1024;

/**
 * Writes text given in pieces (manifest, reports, REDACTIONS.md) as UTF-8, encoding each piece into
 * one reused buffer, where `writeFile` of an iterable makes a Buffer per piece (~5 000 of 64 KiB
 * for the 300 MB manifest of 100 000 files, each garbage once written).
 * @param flag `w` (replace) or `wx` (must not exist)
 */
export async function writeText(file: string, pieces: Iterable<string>, flag: 'w' | 'wx' = 'w'): Promise<void> {
  const fh = await open(file, flag);
  try {
    let buf = Buffer.allocUnsafe(TEXT_BUFFER);
    for (const piece of pieces) {
      const n = Buffer.byteLength(piece);
      if (n > buf.length) buf = Buffer.allocUnsafe(n);
      buf.write(piece, 0, n, 'utf8');
      for (let at = 0; at < n; ) at += (await fh.write(buf, at, n - at)).bytesWritten;
    }
  } finally {
    await fh.close();
  }
}

/** Writes a file atomically: a temporary name in the same folder, then rename. `data` may come in pieces. */
export async function writeAtomic(file: string, data: string | Buffer | Iterable<string>): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.aliscrub-${randomBytes(4).toString('hex')}.tmp`);
  try {
    if (typeof data === 'string' || Buffer.isBuffer(data)) await writeFile(tmp, data, { flag: 'wx' });
    else await writeText(tmp, data, 'wx');
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
}

/** True when `p` exists and is a folder with at least one entry. */
export async function isNonEmptyDir(p: string): Promise<boolean> {
  try {
    return (await readdir(p)).length > 0;
  } catch {
    return false;
  }
}

/** True when something exists at `p`. */
export async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * Moves a finished folder or file to `finalPath`, replacing what is there (the caller has
 * checked --force). The old output is moved aside first and deleted only after the rename.
 */
export async function publish(from: string, finalPath: string): Promise<void> {
  if (await exists(finalPath)) {
    const aside = `${from}.old`;
    await rename(finalPath, aside);
    try {
      await rename(from, finalPath);
    } catch (err) {
      await rename(aside, finalPath).catch(() => {});
      throw err;
    }
    await removeTree(aside);
    return;
  }
  await rename(from, finalPath);
}
