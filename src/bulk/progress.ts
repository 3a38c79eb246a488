/**
 * A progress bar across incidents (incidents done, MB, MB/s, ETA), in the style of
 * src/progress.ts: drawn through a write function (never `process`), only counts and sizes, shown
 * only for runs longer than {@link DEFAULT_DELAY_MS}. The CLI decides whether to show it (TTY, not
 * CI, not --quiet/--verbose).
 */
import cliProgress from 'cli-progress';
import { DEFAULT_DELAY_MS, terminalStream } from '../progress.js';

export interface BulkProgressOptions {
  readonly write: (text: string) => void;
  /** Terminal width. @default 80 */
  readonly columns?: number;
  readonly delayMs?: number;
}

export interface BulkProgress {
  /** Incidents and input bytes to process (unchanged incidents are not counted). */
  readonly onPlanned: (incidents: number, bytes: number) => void;
  /** Input bytes processed (any incident). */
  readonly onBytes: (bytes: number) => void;
  readonly onIncidentDone: () => void;
  /** Removes the bar (call on every exit path). */
  readonly stop: () => void;
}

const MB = 1e6;


/** Creates the bar (nothing is drawn before onPlanned + the delay). */
export function createBulkProgress(opts: BulkProgressOptions): BulkProgress {
  const bar = new cliProgress.SingleBar(
    {
      stream: terminalStream(opts.write, opts.columns ?? 80),
      format: 'archiving [{bar}] {percentage}% | {done}/{incidents} incidents | {mb}/{totalMb} MB | {speed} MB/s | ETA {eta_formatted}',
      barsize: 24,
      hideCursor: false,
      clearOnComplete: true,
      etaBuffer: 50,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  let total = 0;
  let totalBytes = 0;
  let done = 0;
  let bytes = 0;
  let started = 0;
  let shown = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const payload = (): Record<string, string | number> => ({
    done,
    // Not `total`: cli-progress fills {total} itself (the bar's total, here bytes).
    incidents: total,
    mb: (bytes / MB).toFixed(1),
    totalMb: (totalBytes / MB).toFixed(1),
    speed: (bytes / MB / Math.max(0.001, (Date.now() - started) / 1000)).toFixed(1),
  });
  return {
    onPlanned(n, size) {
      total = n;
      totalBytes = size;
      started = Date.now();
      if (stopped) return;
      timer = setTimeout(() => {
        if (shown || stopped) return;
        shown = true;
        bar.start(Math.max(1, totalBytes), bytes, payload());
      }, opts.delayMs ?? DEFAULT_DELAY_MS);
      timer.unref();
    },
    onBytes(n) {
      bytes += n;
      if (shown && !stopped) bar.update(Math.min(bytes, totalBytes), payload());
    },
    onIncidentDone() {
      done++;
      if (shown && !stopped) bar.update(Math.min(bytes, totalBytes), payload());
    },
    stop() {
      if (stopped) return;
      stopped = true;
      if (timer) clearTimeout(timer);
      if (shown) bar.stop();
    },
  };
}
