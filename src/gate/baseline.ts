/**
 * Baselines: known findings recorded as (path, detector, fingerprint), with no line numbers and
 * no values, so moving lines or editing around a known secret changes nothing, and a baseline is
 * safe to commit as far as values go.
 *
 * Fingerprints are keyed (HMAC-SHA256), so a baseline only matches under the key it was made
 * with. `baseline create` uses `--key-file`, the config's `keyFile`, or the baseline's companion
 * key file `FILE.key` (created, mode 0600, when missing). The baseline records a `keyCheck` so a
 * scan with the wrong key stops with exit 2 instead of silently matching nothing.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { newAjv } from '../ajv.js';
import type { ValidateFunction } from 'ajv';
import { UsageError } from '../errors.js';
import { compareNames } from '../source/collect.js';
import { MIN_KEY_BYTES } from '../fingerprint.js';

export const BASELINE_VERSION = 1;

/** One known finding. `path` is relative to the baseline file's folder, '/'-separated. */
export interface BaselineEntry {
  readonly path: string;
  readonly detector: string;
  readonly fingerprint: string;
}

export interface BaselineData {
  readonly aliscrubBaseline: typeof BASELINE_VERSION;
  readonly keyCheck: string;
  readonly findings: readonly BaselineEntry[];
}

let compiled: ValidateFunction | undefined;
function validator(): ValidateFunction {
  compiled ??= newAjv({ allErrors: false, strict: false }).compile(JSON.parse(readFileSync(new URL('../../schema/baseline.schema.json', import.meta.url), 'utf8')) as object);
  return compiled;
}

const KEY_CHECK_LABEL = 'aliscrub baseline key check v1';

/** A value that tells keys apart without revealing them. */
export function keyCheck(key: Buffer): string {
  return createHmac('sha256', key).update(KEY_CHECK_LABEL).digest('hex').slice(0, 16);
}

/** The companion key file of a baseline: `FILE.key`. */
export function companionKeyFile(baselineFile: string): string {
  return `${baselineFile}.key`;
}

const posix = (p: string): string => p.split(path.sep).join('/');

/** An entry as one string: the set's key, and (path first) its order in the file. */
function entryKey(e: BaselineEntry): string {
  return `${e.path}\0${e.detector}\0${e.fingerprint}`;
}

/** Path of `absFile` as the baseline at `baselineFile` records it: relative to its folder, with `/`. */
export function baselineEntryPath(baselineFile: string, absFile: string): string {
  return posix(path.relative(path.dirname(baselineFile), absFile));
}

/** A loaded baseline, ready for lookups by absolute file path. */
export class Baseline {
  /** One string per entry; the entries themselves are not kept (~480 000 on the 100 MB bench corpus). */
  private readonly keys: ReadonlySet<string>;

  constructor(
    readonly file: string,
    data: BaselineData,
  ) {
    this.keys = new Set(data.findings.map(entryKey));
  }

  get size(): number {
    return this.keys.size;
  }

  /** Path of `absFile` as a baseline records it. */
  entryPath(absFile: string): string {
    return baselineEntryPath(this.file, absFile);
  }

  has(absFile: string, detector: string, fingerprint: string): boolean {
    return this.keys.has(`${this.entryPath(absFile)}\0${detector}\0${fingerprint}`);
  }

  /** {@link has} for the findings of one file (its baseline path worked out once). */
  forFile(absFile: string): (detector: string, fingerprint: string) => boolean {
    const prefix = `${this.entryPath(absFile)}\0`;
    return (detector, fingerprint) => this.keys.has(`${prefix}${detector}\0${fingerprint}`);
  }
}

/**
 * Renders a baseline: sorted, de-duplicated, stable bytes for the same findings and key.
 * @returns the text, and how many entries it records.
 */
export function renderBaseline(entries: readonly BaselineEntry[], key: Buffer): { text: string; count: number } {
  // Each entry's key is built once, not twice per comparison of the sort.
  const keyed = entries.map((e) => ({ k: entryKey(e), e }));
  keyed.sort((a, b) => compareNames(a.k, b.k));
  const unique: BaselineEntry[] = [];
  for (let i = 0; i < keyed.length; i++) {
    if (i > 0 && keyed[i]!.k === keyed[i - 1]!.k) continue;
    const e = keyed[i]!.e;
    unique.push({ path: e.path, detector: e.detector, fingerprint: e.fingerprint });
  }
  const data: BaselineData = { aliscrubBaseline: BASELINE_VERSION, keyCheck: keyCheck(key), findings: unique };
  return { text: `${JSON.stringify(data, null, 2)}\n`, count: unique.length };
}

/**
 * Reads a baseline and checks it was made with `key`.
 * @param shown the name used in messages.
 * @throws UsageError (exit 2) for a missing, malformed or wrong-key baseline.
 */
export async function loadBaseline(file: string, key: Buffer, shown: string): Promise<Baseline> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(`--baseline: ${shown}: ${code ? `cannot read it (${code})` : 'not valid JSON'}`);
  }
  const validate = validator();
  if (!validate(raw)) {
    const e = validate.errors?.[0];
    throw new UsageError(`--baseline: ${shown}: not an aliscrub baseline (${e?.instancePath || 'top level'} ${e?.message ?? 'is invalid'})`);
  }
  const data = raw as BaselineData;
  if (data.keyCheck !== keyCheck(key))
    throw new UsageError(`--baseline: ${shown} was made with a different fingerprint key (use the key it was created with: ${path.basename(companionKeyFile(file))}, keyFile or --key-file)`);
  return new Baseline(file, data);
}

/** Reads a key file (at least {@link MIN_KEY_BYTES} bytes). */
export async function readKeyFile(file: string, what: string): Promise<Buffer> {
  let key: Buffer;
  try {
    key = await readFile(file);
  } catch (err) {
    throw new UsageError(`${what}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (key.length < MIN_KEY_BYTES) throw new UsageError(`${what}: the key must be at least ${MIN_KEY_BYTES} bytes`);
  return key;
}

/** The baseline's companion key (`FILE.key`) when it exists; undefined when it does not. */
export async function existingCompanionKey(baselineFile: string): Promise<Buffer | undefined> {
  const file = companionKeyFile(baselineFile);
  try {
    await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
  }
  return readKeyFile(file, 'baseline key');
}

/** A new key for a companion key file: 32 random bytes as hex (text, so it scans clean). */
export function newCompanionKey(): Buffer {
  return Buffer.from(`${randomBytes(32).toString('hex')}\n`);
}

/** Writes a new companion key file, mode 0600; never replaces an existing one. */
export async function writeCompanionKey(baselineFile: string, key: Buffer): Promise<string> {
  const file = companionKeyFile(baselineFile);
  try {
    await writeFile(file, key, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    throw new UsageError(`cannot write the key file ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return file;
}

/** Writes a file atomically (see bundle/staging.ts); re-exported for the CLI. */
export { writeAtomic } from '../bundle/staging.js';
