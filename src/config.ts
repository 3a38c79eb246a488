/**
 * The configuration file: `aliscrub.config.json`, `aliscrub.config.yaml` or `aliscrub.config.yml`,
 * found in the working directory or the nearest folder above it (or named with `--config`).
 * It is validated against schema/config.schema.json; any problem (syntax, unknown key, wrong type,
 * unreadable file) is a {@link ConfigError} naming the file and the key path, exit code 2.
 *
 * Relative paths in the file (pattern packs, baseline, key file, allowlist path globs) are
 * relative to the folder holding it, so the same file works from any working directory.
 * Error messages name keys and positions, never values: a config file is not supposed to hold a
 * secret, but a mistyped one must not end up in a CI log either.
 */
import { readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { newAjv } from './ajv.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { parseDataText } from './data-text.js';
import { UsageError } from './errors.js';
import type { FailOn } from './gate/policy.js';

/** File names looked for, in this order. Two of them in one folder is an error. */
export const CONFIG_NAMES = ['aliscrub.config.json', 'aliscrub.config.yaml', 'aliscrub.config.yml'] as const;

/** A problem with the configuration file (exit code 2). */
export class ConfigError extends UsageError {}

/** An allowlist section: top-level fields are independent; a rule needs all its fields to match. */
export interface AllowlistSpec {
  readonly paths?: readonly string[];
  readonly detectors?: readonly string[];
  readonly fingerprints?: readonly string[];
  readonly rules?: ReadonlyArray<{
    readonly paths?: readonly string[];
    readonly detectors?: readonly string[];
    readonly fingerprints?: readonly string[];
    readonly reason?: string;
  }>;
}

/** The file as written (after validation). */
export interface ConfigData {
  readonly policy?: { readonly failOn?: FailOn; readonly allowUnscanned?: boolean };
  readonly detectors?: { readonly only?: readonly string[]; readonly disable?: readonly string[] };
  readonly patterns?: { readonly packs?: readonly string[]; readonly builtin?: boolean };
  readonly exclude?: readonly string[];
  /** Globs of binary files to bundle unmodified and unscanned (like --include-unscanned). */
  readonly includeUnscanned?: readonly string[];
  readonly allowlist?: AllowlistSpec;
  readonly baseline?: string;
  readonly keyFile?: string;
  readonly limits?: {
    readonly maxFileSize?: number | string;
    readonly concurrency?: number;
    readonly threads?: number;
    /** Archive limits (like --max-archive-depth, --max-archive-size, --max-archive-entries, --max-archive-ratio). */
    readonly maxArchiveDepth?: number;
    readonly maxArchiveSize?: number | string;
    readonly maxArchiveEntries?: number;
    readonly maxArchiveRatio?: number;
  };
}

/** A loaded configuration. Paths are resolved to absolute paths. */
export interface Config {
  /** Absolute path of the file. */
  readonly file: string;
  /** The file's name as shown in messages (relative to the working directory when inside it). */
  readonly shown: string;
  /** The folder relative paths and allowlist globs are resolved against. */
  readonly dir: string;
  readonly data: ConfigData;
  /** `patterns.packs`, absolute. */
  readonly packs: readonly string[];
  /** `baseline`, absolute. */
  readonly baseline?: string;
  /** `keyFile`, absolute. */
  readonly keyFile?: string;
}

let compiled: ValidateFunction | undefined;
/** The schema validator, compiled on first use (keeps start-up fast for runs without a config). */
function validator(): ValidateFunction {
  compiled ??= newAjv({ allErrors: true, strict: false }).compile(JSON.parse(readFileSync(new URL('../schema/config.schema.json', import.meta.url), 'utf8')) as object);
  return compiled;
}

/** `/allowlist/rules/0/paths` → `allowlist.rules[0].paths`. */
function keyPath(instancePath: string, extra?: string): string {
  const parts = instancePath.split('/').slice(1);
  if (extra !== undefined) parts.push(extra);
  let out = '';
  for (const raw of parts) {
    const p = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(p) ? `[${p}]` : out ? `.${p}` : p;
  }
  return out || '(top level)';
}

/** One readable line for the most useful schema error. Never includes the offending value. */
function describeSchemaError(errors: readonly ErrorObject[]): string {
  const unknown = errors.find((e) => e.keyword === 'additionalProperties');
  if (unknown) return `unknown key '${keyPath(unknown.instancePath, String((unknown.params as { additionalProperty: string }).additionalProperty))}'`;
  // anyOf branches report `required` for each alternative; say what is needed instead.
  const anyOf = errors.find((e) => e.keyword === 'anyOf');
  const real = errors.filter((e) => !e.schemaPath.includes('/anyOf/') && e.keyword !== 'anyOf');
  const e = real[0] ?? anyOf ?? errors[0];
  if (!e) return 'is not valid';
  const where = `'${keyPath(e.instancePath)}'`;
  switch (e.keyword) {
    case 'anyOf':
      return `${where} needs at least one of paths, detectors, fingerprints`;
    case 'type':
      return `${where} must be ${String((e.params as { type: string | string[] }).type).replace(',', ' or ')}`;
    case 'enum':
      return `${where} must be one of ${((e.params as { allowedValues: unknown[] }).allowedValues ?? []).map(String).join(', ')}`;
    case 'pattern':
      if (e.instancePath.includes('/fingerprints/')) return `${where} must be a fingerprint (12 lower-case hex digits)`;
      if (e.instancePath.endsWith('/maxFileSize') || e.instancePath.endsWith('/maxArchiveSize')) return `${where} must be a size such as 500MB`;
      return `${where} must be a detector id (lower-case letters, digits and dashes)`;
    default:
      return `${where} ${e.message ?? 'is not valid'}`;
  }
}

function shownName(file: string, cwd: string): string {
  const rel = path.relative(cwd, file);
  return rel && !path.isAbsolute(rel) ? rel : file;
}


/**
 * Reads and validates a configuration file.
 * @param file path of the file (relative paths are resolved against `cwd`).
 * @throws ConfigError naming the file and the key.
 */
export async function loadConfig(file: string, cwd: string): Promise<Config> {
  const abs = path.resolve(cwd, file);
  const shown = shownName(abs, cwd);
  const lower = abs.toLowerCase();
  if (!/\.(json|ya?ml)$/.test(lower)) throw new ConfigError(`${shown}: a config file must end in .json, .yaml or .yml`);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (err) {
    throw new ConfigError(`${shown}: cannot read the config file (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const raw = parseDataText(text, abs.toLowerCase().endsWith('.json') ? 'json' : 'yaml', shown, (m) => new ConfigError(m));
  // An empty YAML file is an empty configuration.
  const data = raw === null || raw === undefined ? {} : raw;
  const validate = validator();
  if (!validate(data)) throw new ConfigError(`${shown}: ${describeSchemaError(validate.errors ?? [])}`);
  const cfg = data as ConfigData;
  const dir = path.dirname(abs);
  const res = (p: string | undefined): string | undefined => (p === undefined ? undefined : path.resolve(dir, p));
  return {
    file: abs,
    shown,
    dir,
    data: cfg,
    packs: (cfg.patterns?.packs ?? []).map((p) => path.resolve(dir, p)),
    baseline: res(cfg.baseline),
    keyFile: res(cfg.keyFile),
  };
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

/**
 * Looks for a configuration file in `cwd` and each folder above it, up to the filesystem root.
 * @returns the absolute path of the nearest one, or undefined.
 * @throws ConfigError when one folder holds two of them (which one wins would be a guess).
 */
export async function findConfig(cwd: string): Promise<string | undefined> {
  let dir = path.resolve(cwd);
  for (;;) {
    const found: string[] = [];
    for (const name of CONFIG_NAMES) if (await isFile(path.join(dir, name))) found.push(name);
    if (found.length > 1) throw new ConfigError(`${shownName(dir, cwd) || '.'}: holds both ${found.join(' and ')}; keep one`);
    if (found[0]) return path.join(dir, found[0]);
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/**
 * The configuration in effect: `--config FILE` when given, none with `--no-config`, otherwise
 * the nearest file found from `cwd` upward.
 */
export async function resolveConfig(option: string | false | undefined, cwd: string): Promise<Config | undefined> {
  if (option === false) return undefined;
  if (typeof option === 'string') return loadConfig(option, cwd);
  const found = await findConfig(cwd);
  return found ? loadConfig(found, cwd) : undefined;
}
