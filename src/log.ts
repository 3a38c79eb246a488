/**
 * Diagnostics for humans on stderr. Accepts strings only: a Finding, a Buffer or scanned text
 * has no way in, so no detected value can reach a log line.
 */

/** Where diagnostic lines go. */
export interface Logger {
  /** A per-file problem: `path: message`. */
  warn(line: string): void;
  /** Progress and summaries; suppressed by --quiet. */
  info(line: string): void;
}

/** A logger that writes lines through `write` (the CLI passes stderr). */
export function createLogger(write: (line: string) => void, opts: { quiet?: boolean } = {}): Logger {
  return {
    warn: (line) => write(`aliscrub: ${line}`),
    info: (line) => {
      if (!opts.quiet) write(line);
    },
  };
}

/** A logger that drops everything (library use, tests). */
export const silentLogger: Logger = { warn: () => {}, info: () => {} };
