/**
 * Inputs (paths, directories, globs) → a sorted list of {@link Entry}s plus the files left out
 * before reading (excluded by glob, binary by extension, symlinks leaving the roots, special
 * files). Directories are walked recursively, dotfiles included (a `.env` is evidence). Symbolic
 * links are never followed outside the given roots.
 */
import { realpath, stat, lstat } from 'node:fs/promises';
import path from 'node:path';
import { createRequire } from 'node:module';
import type FastGlob from 'fast-glob';
import type Micromatch from 'micromatch';
import { UsageError } from '../errors.js';
import type { ExcludeReason } from '../manifest.js';
import type { Entry } from './entry.js';
import { hasBinaryExtension, hasImageExtension } from './entry.js';

/** A file left out before reading. */
export interface Skipped {
  readonly path: string;
  readonly reason: ExcludeReason;
  readonly bytesIn: number;
}

export interface CollectOptions {
  /** Directory that relative inputs and globs are resolved against. */
  readonly cwd: string;
  /** Globs (matched against entry names) to leave out. */
  readonly exclude: readonly string[];
  /** Files larger than this many bytes are left out with reason `too-large`; 0 = no limit. */
  readonly maxFileBytes: number;
  /** `strip`: PNG/JPEG/GIF/WebP are collected (their metadata is removed); `skip`: left out as binary. */
  readonly images?: 'strip' | 'skip';
  /** Globs of binary files to collect anyway (`--include-unscanned`: bundled unmodified, unscanned). */
  readonly includeUnscanned?: readonly string[];
}

export interface Collected {
  /** Files to process, sorted by `path` (byte order of the UTF-8 names). */
  readonly entries: Entry[];
  /** Files left out before reading, sorted by path. */
  readonly skipped: Skipped[];
  /** Absolute real paths of the input roots (files' parents and directories). */
  readonly roots: string[];
  /** The directory that entry names are relative to. */
  readonly base: string;
}

/** A surrogate: the one UTF-16 code unit that does not sort like its code point. */
const SURROGATE = /[\uD800-\uDFFF]/;

/**
 * Byte-order comparison of two names (their UTF-8 bytes), so order does not depend on locale.
 * UTF-8 bytes sort like code points, and so do UTF-16 code units except surrogates (a character
 * past U+FFFF sorts below U+E000–U+FFFF as code units): strings without one compare as JS
 * strings. Two Buffers per comparison made sorting 100 000 names a second of CPU and garbage.
 */
export function compareNames(a: string, b: string): number {
  if (a === b) return 0;
  if (!SURROGATE.test(a) && !SURROGATE.test(b)) return a < b ? -1 : 1;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

const toPosix = (p: string): string => p.split(path.sep).join('/');

// fast-glob and micromatch (CommonJS, ~20 ms to load together) are needed only for globs,
// directories and --exclude/--include-unscanned: scanning named files loads neither.
const require = createRequire(import.meta.url);
let fgLib: typeof FastGlob | undefined;
let mmLib: typeof Micromatch | undefined;
const fg = (): typeof FastGlob => (fgLib ??= require('fast-glob') as typeof FastGlob);
const micromatch = (): typeof Micromatch => (mmLib ??= require('micromatch') as typeof Micromatch);

/**
 * fast-glob's isDynamicPattern, without loading fast-glob for plain paths: every rule by which it
 * calls a pattern dynamic needs one of these characters (escape `\`, `*`, `?`, `!`, `[`, `(`, `{`).
 * An empty input still goes to fast-glob, which rejects it as before.
 */
const MAYBE_GLOB = /[\\*?![({]/;
const isDynamicPattern = (input: string): boolean => (input === '' || MAYBE_GLOB.test(input)) && fg().isDynamicPattern(input);

/** Longest common ancestor directory of absolute paths. */
function commonDir(dirs: readonly string[]): string {
  let parts = dirs[0]!.split(path.sep);
  for (const d of dirs.slice(1)) {
    const q = d.split(path.sep);
    let i = 0;
    while (i < parts.length && i < q.length && parts[i] === q[i]) i++;
    parts = parts.slice(0, i);
  }
  return parts.join(path.sep) || path.sep;
}

/** True when `child` is `parent` or lies inside it (absolute paths). */
export function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

interface Candidate {
  abs: string;
}

/**
 * Expands inputs. A missing path or a glob with no match is a {@link UsageError} (exit 2).
 */
export async function collect(inputs: readonly string[], opts: CollectOptions): Promise<Collected> {
  if (inputs.length === 0) throw new UsageError('no input paths given');
  const candidates: Candidate[] = [];
  const rootDirs: string[] = [];
  for (const input of inputs) {
    if (isDynamicPattern(input)) {
      const pattern = toPosix(input);
      const found = await fg()(pattern, { cwd: opts.cwd, dot: true, absolute: true, onlyFiles: false, followSymbolicLinks: false });
      if (found.length === 0) throw new UsageError(`no files match '${input}'`);
      const base = path.resolve(opts.cwd, fg().generateTasks(pattern)[0]?.base ?? '.');
      rootDirs.push(base);
      for (const abs of found) candidates.push(...(await expandPath(path.resolve(abs))));
      continue;
    }
    const abs = path.resolve(opts.cwd, input);
    let st;
    try {
      st = await lstat(abs);
    } catch {
      throw new UsageError(`input path does not exist: ${input}`);
    }
    const root = st.isDirectory() ? abs : path.dirname(abs);
    rootDirs.push(root);
    candidates.push(...(await expandPath(abs)));
  }

  const realRoots = await Promise.all(rootDirs.map((r) => realpath(r).catch(() => r)));
  const base = commonDir(rootDirs);
  const entries = new Map<string, Entry>();
  const skipped = new Map<string, Skipped>();
  for (const c of candidates) {
    const name = toPosix(path.relative(base, c.abs)) || path.basename(c.abs);
    if (entries.has(name) || skipped.has(name)) continue;
    if (opts.exclude.length > 0 && micromatch().isMatch(name, opts.exclude as string[], { dot: true })) {
      skipped.set(name, { path: name, reason: 'excluded', bytesIn: 0 });
      continue;
    }
    let lst;
    try {
      lst = await lstat(c.abs);
    } catch {
      continue; // vanished between listing and stat: nothing to include or report
    }
    let st = lst;
    if (lst.isSymbolicLink()) {
      const target = await realpath(c.abs).catch(() => undefined);
      if (!target || !realRoots.some((r) => isInside(target, r))) {
        skipped.set(name, { path: name, reason: 'symlink-outside-root', bytesIn: 0 });
        continue;
      }
      st = await stat(c.abs);
      if (st.isDirectory()) continue; // inside a root: its files are collected through the root itself
    }
    if (st.isDirectory()) continue;
    if (!st.isFile()) {
      skipped.set(name, { path: name, reason: 'special-file', bytesIn: 0 });
      continue;
    }
    const wanted = opts.includeUnscanned !== undefined && opts.includeUnscanned.length > 0 && micromatch().isMatch(name, opts.includeUnscanned as string[], { dot: true });
    if (hasBinaryExtension(name) && !(opts.images === 'strip' && hasImageExtension(name)) && !wanted) {
      skipped.set(name, { path: name, reason: 'binary', bytesIn: st.size });
      continue;
    }
    if (opts.maxFileBytes > 0 && st.size > opts.maxFileBytes) {
      skipped.set(name, { path: name, reason: 'too-large', bytesIn: st.size });
      continue;
    }
    entries.set(name, { path: name, absolutePath: c.abs, size: st.size, mtimeMs: st.mtimeMs });
  }
  const byName = <T extends { path: string }>(a: T, b: T) => compareNames(a.path, b.path);
  return {
    entries: [...entries.values()].sort(byName),
    skipped: [...skipped.values()].sort(byName),
    roots: realRoots,
    base,
  };
}

/** A file yields itself; a directory yields everything below it (dotfiles too, links not followed). */
async function expandPath(abs: string): Promise<Candidate[]> {
  const st = await lstat(abs);
  if (!st.isDirectory()) return [{ abs }];
  let found: string[];
  try {
    found = await fg()('**/*', { cwd: abs, dot: true, absolute: true, onlyFiles: false, followSymbolicLinks: false, suppressErrors: false });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new UsageError(`cannot list directory ${e.path ?? abs}: ${e.code ?? 'error'}`, { cause: err });
  }
  return found.map((f) => ({ abs: path.resolve(f) }));
}
