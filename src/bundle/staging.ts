/**
 * Where output is assembled before it becomes visible. The staging folder is a hidden sibling of
 * the final path (same filesystem, so the final step is one rename). An interrupted run leaves at
 * most a hidden `.NAME.aliscrub-*` folder, never something that looks like a finished bundle.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundlePath } from '../manifest.js';

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
    await rm(this.dir, { recursive: true, force: true });
  }
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

/** Writes a file atomically: a temporary name in the same folder, then rename. `data` may come in pieces. */
export async function writeAtomic(file: string, data: string | Buffer | Iterable<string>): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.aliscrub-${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, data, { flag: 'wx' });
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
    await rm(aside, { recursive: true, force: true });
    return;
  }
  await rename(from, finalPath);
}
