/**
 * Finding the incidents of a bulk run and fingerprinting their inputs.
 *
 * An input folder is a *root*: each immediate subfolder, and each archive (`.zip`, `.tar`,
 * `.tar.gz`, `.tgz`) directly in it, is one incident. An input archive is one incident by itself.
 * Hidden entries (`.name`) of a root are not incidents (staging folders, VCS metadata).
 */
import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import fg from 'fast-glob';
import micromatch from 'micromatch';
import { UsageError } from '../errors.js';
import { archiveKind } from '../source/archive.js';
import { compareNames } from '../source/collect.js';

/** One incident to bundle. */
export interface Incident {
  /** Incident id: the folder name, or the archive name without its extension. */
  readonly id: string;
  /** Absolute path of the folder or archive. */
  readonly path: string;
  readonly kind: 'folder' | 'archive';
}

/** What {@link discoverIncidents} found. */
export interface Discovered {
  /** Sorted by id (UTF-8 byte order). */
  readonly incidents: readonly Incident[];
  /** Entries of a root that are neither folders nor archives (or not matched by the glob): count only. */
  readonly ignored: number;
}

/** The incident id of an archive file name: the name without `.zip`, `.tar`, `.tar.gz`, `.tgz`. */
export function archiveIncidentId(name: string): string {
  return name.replace(/\.(zip|tar|tar\.gz|tgz)$/i, '');
}

/**
 * Lists incidents.
 * @param inputs roots (folders) or archives, relative to `cwd`
 * @param glob only incidents whose id matches one of these globs (micromatch); default all
 * @throws UsageError for a missing input, a plain file, or two inputs giving the same incident id
 */
export async function discoverIncidents(inputs: readonly string[], cwd: string, glob?: readonly string[]): Promise<Discovered> {
  if (inputs.length === 0) throw new UsageError('archive: name at least one root folder or archive');
  const found: Incident[] = [];
  let ignored = 0;
  const wanted = (id: string): boolean => !glob || glob.length === 0 || micromatch.isMatch(id, [...glob], { dot: true });
  for (const input of inputs) {
    const abs = path.resolve(cwd, input);
    const st = await stat(abs).catch(() => undefined);
    if (!st) throw new UsageError(`archive: input ${input} does not exist`);
    if (st.isDirectory()) {
      const children = (await readdir(abs, { withFileTypes: true })).sort((a, b) => compareNames(a.name, b.name));
      for (const c of children) {
        if (c.name.startsWith('.')) continue;
        const p = path.join(abs, c.name);
        const kind = c.isDirectory() ? 'folder' : c.isFile() && archiveKind(c.name) ? 'archive' : undefined;
        const id = kind === 'archive' ? archiveIncidentId(c.name) : c.name;
        if (!kind || !wanted(id)) {
          ignored++;
          continue;
        }
        found.push({ id, path: p, kind });
      }
    } else if (st.isFile() && archiveKind(abs)) {
      const id = archiveIncidentId(path.basename(abs));
      if (wanted(id)) found.push({ id, path: abs, kind: 'archive' });
      else ignored++;
    } else {
      throw new UsageError(`archive: input ${input} is neither a folder of incidents nor an archive (.zip, .tar, .tar.gz, .tgz)`);
    }
  }
  found.sort((a, b) => compareNames(a.id, b.id));
  for (let i = 1; i < found.length; i++) {
    if (found[i]!.id === found[i - 1]!.id) throw new UsageError(`archive: two inputs give the same incident name (inputs ${found[i - 1]!.kind} and ${found[i]!.kind} #${i}); rename one`);
  }
  return { incidents: found, ignored };
}

/** Size and digest of an incident's inputs. */
export interface InputDigest {
  /** sha256 (hex) over every file's relative path, size and modification time, plus `salt`. */
  readonly digest: string;
  readonly files: number;
  /** Total input bytes. */
  readonly bytes: number;
}

/**
 * Digests an incident's inputs from metadata (path, size, mtime in ns where the filesystem has
 * it), like make and rsync: cheap enough that an unchanged rerun reads no file content.
 * @param salt everything else the bundle depends on (options, ruleset, key check)
 */
export async function digestIncident(inc: Incident, salt: string): Promise<InputDigest> {
  const h = createHash('sha256').update('aliscrub-input-digest-v1\0').update(salt).update('\0');
  if (inc.kind === 'archive') {
    const st = await stat(inc.path, { bigint: true });
    h.update(`${path.basename(inc.path)}\0${st.size}\0${st.mtimeNs}\n`);
    return { digest: h.digest('hex'), files: 1, bytes: Number(st.size) };
  }
  const names = (await fg('**/*', { cwd: inc.path, dot: true, onlyFiles: false, followSymbolicLinks: false, markDirectories: true })).filter((n) => !n.endsWith('/'));
  names.sort(compareNames);
  let bytes = 0;
  for (const n of names) {
    const st = await stat(path.join(inc.path, n), { bigint: true }).catch(() => undefined);
    h.update(`${n}\0${st?.size ?? -1}\0${st?.mtimeNs ?? -1}\n`);
    if (st?.isFile()) bytes += Number(st.size);
  }
  return { digest: h.digest('hex'), files: names.length, bytes };
}
