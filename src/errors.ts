/**
 * Error types and the exit-code contract.
 *
 * Messages name the thing that is wrong (a flag, a file, a detector id and field, an archive
 * entry) and never contain scanned bytes: an error message can end up in a CI log.
 */

/** Stable process exit codes, identical for every command. */
export const ExitCode = {
  /** Nothing found (scan/verify) or every input processed (redact/pack). */
  Ok: 0,
  /** Findings or unscannable inputs (scan/verify); bundle written but some inputs left out (redact/pack). */
  Findings: 1,
  /** Usage error, bad pattern file, bad archive, or a fatal error. Nothing is left at the final output path. */
  Fatal: 2,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A bad flag, path or option. Thrown before any output exists. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A bad pattern file. The message names the file, the detector id (when known) and the field. */
export class DetectorError extends Error {
  override readonly name = 'DetectorError';
  constructor(
    readonly file: string,
    readonly detectorId: string | undefined,
    readonly field: string,
    problem: string,
  ) {
    super(`${file}: ${detectorId ? `detector '${detectorId}'` : 'file'}: field '${field}': ${problem}`);
  }
}

/** Why a single input file was left out of the output. Stable strings: they appear in the manifest. */
export type FileErrorCode =
  | 'binary'
  | 'undecodable'
  | 'unreadable'
  | 'vanished'
  | 'changed'
  | 'too-large'
  | 'symlink-outside-root'
  | 'corrupt'
  | 'archive-bomb'
  | 'scan-error';

/** A per-file failure: the file is left out (fail closed) and the run goes on. */
export class FileError extends Error {
  override readonly name = 'FileError';
  constructor(
    readonly code: FileErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A bad or unverifiable bundle given to `verify`. */
export class BundleError extends Error {
  override readonly name = 'BundleError';
}

/** Maps Node's errno codes to a per-file reason; anything unknown is 'unreadable'. */
export function fileErrorFromErrno(err: unknown, what: string): FileError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return new FileError('vanished', `${what}: file disappeared during the run`, { cause: err });
  if (code === 'EACCES' || code === 'EPERM') return new FileError('unreadable', `${what}: permission denied`, { cause: err });
  if (code === 'EISDIR') return new FileError('unreadable', `${what}: is a directory`, { cause: err });
  return new FileError('unreadable', `${what}: cannot be read (${code ?? 'unknown error'})`, { cause: err });
}
