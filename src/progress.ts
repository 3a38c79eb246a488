/**
 * A progress bar for long runs (files, bytes, MB/s, ETA), drawn with cli-progress on a terminal.
 * The CLI decides whether to show one (stderr is a terminal, not CI, not --quiet/--verbose); this
 * module only draws. It writes through a function, so it never touches `process` itself, and it
 * shows nothing for runs that finish within {@link DEFAULT_DELAY_MS}.
 *
 * Only counts and sizes are drawn: file names can hold detected values (they are redacted in the
 * manifest, but a bar would show them as they are).
 */
import { createRequire } from 'node:module';
import type { SingleBar } from 'cli-progress';
import type { FileRecord } from './manifest.js';

const require = createRequire(import.meta.url);

export const DEFAULT_DELAY_MS = 1000;

export interface ProgressOptions {
  /** Where the bar is drawn (the CLI passes stderr). */
  readonly write: (text: string) => void;
  /** Terminal width. @default 80 */
  readonly columns?: number;
  /** Show the bar only once the run has taken this long. */
  readonly delayMs?: number;
  /** Label before the bar. */
  readonly label?: string;
}

export interface Progress {
  readonly onCollected: (files: number, bytes: number) => void;
  readonly onFileDone: (record: FileRecord, bytesIn: number) => void;
  /** Removes the bar (call on every exit path). */
  readonly stop: () => void;
}

const MB = 1e6;

/** A terminal-like stream over a write function: what cli-progress and readline need. */
export function terminalStream(write: (text: string) => void, columns: number): NodeJS.WritableStream {
  return {
    isTTY: true,
    columns,
    write(chunk: string | Uint8Array, encOrCb?: unknown, cb?: unknown): boolean {
      write(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      const done = typeof encOrCb === 'function' ? encOrCb : cb;
      if (typeof done === 'function') (done as () => void)();
      return true;
    },
  } as unknown as NodeJS.WritableStream;
}

export function createProgress(opts: ProgressOptions): Progress {
  // The bar (and cli-progress, ~10 ms to load) is made only when it is shown: most runs end first.
  const makeBar = (): SingleBar => {
    const cliProgress = require('cli-progress') as typeof import('cli-progress');
    return new cliProgress.SingleBar(
      {
        stream: terminalStream(opts.write, opts.columns ?? 80),
        format: `${opts.label ?? 'scanning'} [{bar}] {percentage}% | {files}/{totalFiles} files | {mb}/{totalMb} MB | {speed} MB/s | ETA {eta_formatted}`,
        barsize: 24,
        hideCursor: false,
        clearOnComplete: true,
        stopOnComplete: false,
        etaBuffer: 50,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
  };
  let bar: SingleBar | undefined;
  let totalFiles = 0;
  let totalBytes = 0;
  let files = 0;
  let bytes = 0;
  let started = 0;
  let shown = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const payload = (): Record<string, string | number> => {
    const secs = Math.max(0.001, (Date.now() - started) / 1000);
    return {
      files,
      totalFiles,
      mb: (bytes / MB).toFixed(1),
      totalMb: (totalBytes / MB).toFixed(1),
      speed: (bytes / MB / secs).toFixed(1),
    };
  };
  const show = (): void => {
    if (shown || stopped) return;
    shown = true;
    bar = makeBar();
    bar.start(Math.max(1, totalBytes), bytes, payload());
  };
  return {
    onCollected(n, size) {
      totalFiles = n;
      totalBytes = size;
      started = Date.now();
      if (stopped) return;
      timer = setTimeout(show, opts.delayMs ?? DEFAULT_DELAY_MS);
      timer.unref();
    },
    onFileDone(_record, size) {
      files++;
      bytes += size;
      if (shown && !stopped) bar?.update(bytes, payload());
    },
    stop() {
      if (stopped) return;
      stopped = true;
      if (timer) clearTimeout(timer);
      if (shown) bar?.stop();
    },
  };
}
