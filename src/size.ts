/** Sizes given on the command line or in a config file: `500MB`, `512KiB`, `2GB` (MB = 10^6 bytes). */
import { UsageError } from './errors.js';

const UNITS: Readonly<Record<string, number>> = { b: 1, k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/**
 * Parses a size into bytes.
 * @param flag the option named in the error, e.g. `--max-file-size`
 * @param example a valid value shown in the error
 * @throws UsageError naming the flag when `v` is not a size
 */
export function parseSize(v: unknown, flag: string, example: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(b|kb|k|mb|m|gb|g|kib|mib|gib)?$/i.exec(String(v).trim());
  if (!m) throw new UsageError(`${flag}: '${String(v)}' is not a size (e.g. ${example})`);
  return Math.floor(Number(m[1]) * UNITS[(m[2] ?? 'b').toLowerCase()]!);
}
