/**
 * Secret-like key names (patterns/structure/secret-keys.json) and the detector their findings are
 * reported under. This is data, not a detector family: it has no regex and the scanner never runs
 * it; the structured layer ({@link ./rules.ts}) turns its matches into forced hits.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { newAjv } from '../ajv.js';
import { DetectorError } from '../errors.js';
import type { Detector } from '../detect/detector.js';

/** The file as written (see patterns/structure/schema.json). */
export interface SecretKeysSpec {
  readonly detector: { readonly id: string; readonly category: 'secret'; readonly description: string };
  readonly exact: readonly string[];
  readonly suffixes: readonly string[];
  readonly except: readonly string[];
  readonly pairNames: readonly string[];
  readonly pairValues: readonly string[];
}

/** Loaded key rules: a name matcher plus the detector findings are labelled with. */
export interface SecretKeys {
  /** The pseudo-detector (`secret-key-value`): never run by the scanner, only labels forced hits. */
  readonly detector: Detector;
  /** sha256 of the file's canonical JSON (part of the ruleset hash). */
  readonly sha256: string;
  /** True when a key name is secret-like (case, `_`, `-`, `.` and spaces ignored). */
  isSecret(name: string): boolean;
  /** True when `name` names the key of a name/value pair object (`name`, `key`). */
  isPairName(name: string): boolean;
  /** True when `name` names the value of a name/value pair object (`value`). */
  isPairValue(name: string): boolean;
}

/** The built-in file, relative to the package root. */
export const SECRET_KEYS_FILE = fileURLToPath(new URL('../../patterns/structure/secret-keys.json', import.meta.url));

/** `x-acs-Security_Token` → `xacssecuritytoken`. */
export function normaliseKey(name: string): string {
  let out = '';
  for (const ch of name.toLowerCase()) if (ch !== '_' && ch !== '-' && ch !== '.' && ch !== ' ') out += ch;
  return out;
}

/** Bits of a name's kind (see compileSecretKeys). */
const SECRET = 1;
const PAIR_NAME = 2;
const PAIR_VALUE = 4;
/** Strings longer than this (UTF-16 code units) are not memoised: key names are short, but the rules are also asked about values (a name/value pair's name), which can be long. */
const MEMO_MAX_LENGTH = 64;
/** Memoised names kept before the memo is dropped and refilled (bounded memory). */
const MEMO_MAX = 4096;

/** A compiled regex that never matches: the structural detector has no pattern. */
const NEVER = { execAt: () => null, execAll: () => [] };

/** Builds the matcher from a validated spec. */
export function compileSecretKeys(spec: SecretKeysSpec, file: string): SecretKeys {
  const exact = new Set(spec.exact);
  const except = new Set(spec.except);
  const pairNames = new Set(spec.pairNames);
  const pairValues = new Set(spec.pairValues);
  const d = spec.detector;
  const detector: Detector = {
    id: d.id,
    category: d.category,
    description: d.description,
    family: 'structure',
    file,
    maxLength: 0,
    validators: [],
    checks: [],
    minEntropy: undefined,
    keywords: [],
    allow: new Set(),
    regex: NEVER,
    spec: { id: d.id, category: d.category, description: d.description, pattern: '', maxLength: 0, examples: { match: [], noMatch: [] } },
  };
  const secret = (n: string): boolean => {
    if (n.length === 0 || except.has(n)) return false;
    if (exact.has(n)) return true;
    for (const s of spec.suffixes) if (n.endsWith(s)) return true;
    return false;
  };
  // JSON logs repeat the same key names on every line: each name is normalised and looked up once
  // (normalising and the suffix loop were ~3 % of a scan's instructions on JSON-lines logs).
  const memo = new Map<string, number>();
  const kind = (name: string): number => {
    let k = memo.get(name);
    if (k === undefined) {
      const n = normaliseKey(name);
      k = (secret(n) ? SECRET : 0) | (pairNames.has(n) ? PAIR_NAME : 0) | (pairValues.has(n) ? PAIR_VALUE : 0);
      if (name.length <= MEMO_MAX_LENGTH) {
        if (memo.size >= MEMO_MAX) memo.clear();
        memo.set(name, k);
      }
    }
    return k;
  };
  return {
    detector,
    sha256: createHash('sha256').update(JSON.stringify(spec)).digest('hex'),
    isSecret: (name) => (kind(name) & SECRET) !== 0,
    isPairName: (name) => (kind(name) & PAIR_NAME) !== 0,
    isPairValue: (name) => (kind(name) & PAIR_VALUE) !== 0,
  };
}

let cached: Promise<SecretKeys> | undefined;

/**
 * Loads and validates the built-in key list (once per process).
 * @throws DetectorError naming the file and field when it does not match its schema.
 */
export function loadSecretKeys(file = SECRET_KEYS_FILE): Promise<SecretKeys> {
  if (file !== SECRET_KEYS_FILE) return load(file);
  cached ??= load(file);
  return cached;
}

/**
 * Loads and checks a key list.
 * @param checkSchema validate against patterns/structure/schema.json; the built-in list is checked
 *   by the test suite instead (ajv compilation was ~50 ms of every start-up).
 */
export async function load(file: string, checkSchema = file !== SECRET_KEYS_FILE): Promise<SecretKeys> {
  const shown = `patterns/structure/${path.basename(file)}`;
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new DetectorError(shown, undefined, '(json)', `cannot be parsed: ${(err as Error).message}`);
  }
  if (!checkSchema) return compileSecretKeys(raw as SecretKeysSpec, shown);
  const schema = JSON.parse(await readFile(path.join(path.dirname(file), 'schema.json'), 'utf8')) as object;
  const validate = newAjv({ allErrors: false, strict: false }).compile(schema);
  if (!validate(raw)) {
    const e = validate.errors![0]!;
    throw new DetectorError(shown, undefined, e.instancePath.split('/').slice(1).join('.') || '(root)', e.message ?? 'invalid');
  }
  return compileSecretKeys(raw as SecretKeysSpec, shown);
}
