/**
 * Whether to start a spare worker thread at launch ({@link SpareWorker} in pool.ts), decided
 * before the command line is parsed and the inputs are listed, from what is cheap to know.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** Below this many input bytes, starting worker threads (~0.3 s each) costs more than it saves. */
export const THREADS_MIN_BYTES = 8 * 1024 * 1024;

/**
 * True when `files` files of `bytes` bytes in all are worth worker threads: one entry is one
 * thread's work, and under {@link THREADS_MIN_BYTES} starting them costs more than it saves.
 */
export function threadsPay(files: number, bytes: number): boolean {
  return files >= 2 && bytes >= THREADS_MIN_BYTES;
}

/** Most threads a run starts of itself, one per core up to this; `--threads` may ask for more. */
export const MAX_THREADS = 8;

/** Paths looked at before the inputs count as large: a few milliseconds of `stat` at most. */
const PROBE_BUDGET = 256;

/**
 * True when the command line may scan with worker threads: `scan`, `redact` or `pack` on two or
 * more cores, not `--threads 1` or `--help`, and the arguments that are existing paths are not
 * known to be too small for threads: one file (one entry is one thread), or under
 * {@link THREADS_MIN_BYTES} in all. A glob, or more than {@link PROBE_BUDGET} files and folders,
 * counts as large. A spare on a small run cost ~30 ms of start-up (the two threads' start-up work
 * shares two cores), so small runs do without. A wrong guess costs a little time, never output:
 * a run stops a spare it does not use.
 * @param cwd the folder relative paths are resolved from
 */
export function wantsSpareWorker(argv: readonly string[], cores: number, cwd: string): boolean {
  if (cores < 2 || !['scan', 'redact', 'pack'].includes(argv[0] ?? '')) return false;
  if (argv.some((a, i) => a === '--help' || a === '-h' || a === '--threads=1' || (a === '--threads' && argv[i + 1] === '1'))) return false;
  return !tooSmallForThreads(
    argv.slice(1).filter((a) => !a.startsWith('-')),
    cwd,
  );
}

/**
 * True when no argument is a glob and the arguments that exist (the others are flags' values)
 * hold one file, or under {@link THREADS_MIN_BYTES}, all found within {@link PROBE_BUDGET} paths.
 */
function tooSmallForThreads(args: readonly string[], cwd: string): boolean {
  const todo: string[] = [];
  for (const a of args) {
    if (/[*?[\]{}]/.test(a)) return false;
    todo.push(path.resolve(cwd, a));
  }
  let bytes = 0;
  let files = 0;
  for (let seen = 0; todo.length > 0; seen++) {
    if (seen >= PROBE_BUDGET) return false;
    const p = todo.pop()!;
    let st;
    try {
      st = statSync(p);
    } catch {
      continue;
    }
    if (st.isDirectory()) {
      try {
        for (const name of readdirSync(p)) todo.push(path.join(p, name));
      } catch {
        return false;
      }
    } else {
      files++;
      bytes += st.size;
    }
  }
  return !threadsPay(files, bytes);
}
