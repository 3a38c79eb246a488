/**
 * Loads pattern files: JSON → schema check → semantic checks → compiled {@link Detector}s.
 *
 * Every problem is a {@link DetectorError} naming the file, the detector id and the field, raised
 * before any input is read (exit code 2). Semantic checks: RE2 accepts the pattern, the pattern
 * is bounded and its bound fits `maxLength`, `group` exists, validators exist, ids are unique,
 * every example behaves as marked (exact «spans»), and keywords occur in every example match.
 */
import { createHash } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ErrorObject } from 'ajv';
import { newAjv } from '../ajv.js';
import { DetectorError } from '../errors.js';
import { analyzePattern } from './bound.js';
import { CHECKS } from './checks.js';
import type { Check } from './checks.js';
import type { Detector, DetectorSpec, FamilySpec } from './detector.js';
import { compileRegex, regexError } from './engine.js';
import { findAll } from './find.js';
import { loadSecretKeys } from '../structure/keys.js';

/** The pattern folder shipped with the package. */
export const BUILTIN_PATTERNS_DIR = fileURLToPath(new URL('../../patterns/', import.meta.url));

/** The loaded rule set. */
export interface Ruleset {
  /** Detectors in a stable order (file name, then position in the file). */
  readonly detectors: readonly Detector[];
  /** sha256 of the canonical JSON of every loaded family; recorded in manifests. */
  readonly sha256: string;
  /** Largest `maxLength` of any detector, in bytes. */
  readonly maxLength: number;
  /**
   * The structured-file detector (`secret-key-value`, patterns/structure/): labels values of
   * secret-like keys. Never run by the scanner (it has no pattern); absent when `only` leaves it out.
   */
  readonly structural?: Detector;
}

/** Every detector findings can name (scanner detectors, then the structural one): for reports and listings. */
export function reportedDetectors(ruleset: Ruleset): readonly Detector[] {
  return ruleset.structural ? [...ruleset.detectors, ruleset.structural] : ruleset.detectors;
}

const SPAN_OPEN = '«';
const SPAN_CLOSE = '»';

/** Parses an example: strips «» markers and returns the text and the marked byte spans. */
export function parseExample(example: string): { text: string; spans: Array<[number, number]> } {
  const spans: Array<[number, number]> = [];
  let text = '';
  let open = -1;
  for (const ch of example) {
    if (ch === SPAN_OPEN) {
      if (open >= 0) throw new Error('nested «');
      open = Buffer.byteLength(text);
    } else if (ch === SPAN_CLOSE) {
      if (open < 0) throw new Error('» without «');
      spans.push([open, Buffer.byteLength(text)]);
      open = -1;
    } else {
      text += ch;
    }
  }
  if (open >= 0) throw new Error('« without »');
  return { text, spans };
}

let ajvValidate: ((data: unknown) => boolean) & { errors?: ErrorObject[] | null } | undefined;

async function schemaValidator(): Promise<((data: unknown) => boolean) & { errors?: ErrorObject[] | null }> {
  if (!ajvValidate) {
    const schema = JSON.parse(await readFile(path.join(BUILTIN_PATTERNS_DIR, 'schema.json'), 'utf8')) as object;
    // Loaded only when a file needs checking: ajv's import and compile were ~100 ms of start-up.
    const ajv = newAjv({ allErrors: false, strict: false });
    ajvValidate = ajv.compile(schema);
  }
  return ajvValidate;
}

/** Turns an ajv error at `/detectors/3/maxLength` into file + detector id + field. */
function schemaError(file: string, raw: unknown, err: ErrorObject): DetectorError {
  const parts = err.instancePath.split('/').slice(1);
  let id: string | undefined;
  let field = parts.join('.') || '(root)';
  if (parts[0] === 'detectors' && parts[1] !== undefined) {
    const det = (raw as { detectors?: Array<{ id?: unknown }> }).detectors?.[Number(parts[1])];
    id = typeof det?.id === 'string' ? det.id : `#${parts[1]}`;
    field = parts.slice(2).join('.') || '(detector)';
  }
  let problem = err.message ?? 'invalid';
  if (err.keyword === 'additionalProperties') {
    const extra = (err.params as { additionalProperty?: string }).additionalProperty;
    problem = `unknown field '${extra}'`;
  } else if (err.keyword === 'required') {
    field = (err.params as { missingProperty?: string }).missingProperty ?? field;
    problem = 'is required';
  }
  return new DetectorError(file, id, field, problem);
}

/**
 * Validates and compiles one detector spec.
 * @param withChecks check RE2 syntax, the length bound, the group and the examples now. The
 *   built-in set is proven by the test suite (test/detectors.test.ts loads it with every check), so
 *   only user pattern files pay for this at start-up.
 */
function compileDetector(file: string, family: string, spec: DetectorSpec, withChecks: boolean): Detector {
  const fail = (field: string, problem: string): never => {
    throw new DetectorError(file, spec.id, field, problem);
  };
  const flags = spec.flags ?? '';
  const group = spec.group ?? 0;
  // User files are checked here so the error names file, detector and field; the built-in set is
  // proven to compile by the test suite, and compiles lazily (start-up time).
  if (withChecks) {
    const reErr = regexError(spec.pattern, flags);
    if (reErr) fail('pattern', `not valid RE2: ${reErr}`);
    let bounds;
    try {
      bounds = analyzePattern(spec.pattern, flags);
    } catch (err) {
      return fail('pattern', (err as Error).message);
    }
    // Streaming exactness rests on maxLength being a true bound (DESIGN.md "Streaming is exact").
    if (bounds.minBytes === 0) fail('pattern', 'can match the empty string');
    if (!Number.isFinite(bounds.maxBytes))
      fail('pattern', 'unbounded quantifier (*, + or {n,}); give every repetition an upper limit');
    if (bounds.maxBytes > spec.maxLength)
      fail('maxLength', `${spec.maxLength} is smaller than the pattern's longest possible match (${bounds.maxBytes} bytes)`);
    if (group > bounds.groups) fail('group', `group ${group} does not exist (the pattern has ${bounds.groups})`);
  }
  const names = spec.validator === undefined ? [] : Array.isArray(spec.validator) ? spec.validator : [spec.validator];
  const checks: Check[] = names.map((n) => CHECKS[n] ?? fail('validator', `unknown validator '${n}' (known: ${Object.keys(CHECKS).sort().join(', ')})`));
  const detector: Detector = {
    id: spec.id,
    category: spec.category,
    description: spec.description,
    family,
    file,
    maxLength: spec.maxLength,
    validators: names,
    checks,
    minEntropy: spec.minEntropy,
    keywords: (spec.keywords ?? []).map((k) => Buffer.from(k.toLowerCase())),
    allow: new Set(spec.allow ?? []),
    regex: compileRegex(spec.pattern, flags, group),
    spec,
  };
  if (withChecks) checkExamples(detector);
  return detector;
}

/** Every example must behave exactly as marked; keywords must occur in every example match. */
function checkExamples(d: Detector): void {
  const fail = (field: string, problem: string): never => {
    throw new DetectorError(d.file, d.id, field, problem);
  };
  d.spec.examples.match.forEach((ex, i) => {
    let parsed;
    try {
      parsed = parseExample(ex);
    } catch (err) {
      return fail(`examples.match[${i}]`, (err as Error).message);
    }
    if (parsed.spans.length === 0) fail(`examples.match[${i}]`, 'marks no «span»');
    const buf = Buffer.from(parsed.text);
    const got = findAll(d, buf);
    const want = parsed.spans.map(([s, e]) => `${s}-${e}`).join(',');
    const have = got.map((h) => `${h.start}-${h.end}`).join(',');
    if (want !== have) fail(`examples.match[${i}]`, `expected spans [${want}] but found [${have}]`);
    if (d.keywords.length > 0) {
      for (const h of got) {
        const whole = buf.subarray(h.matchStart, h.matchEnd).toString('utf8').toLowerCase();
        if (!d.keywords.some((k) => whole.includes(k.toString()))) fail('keywords', `no keyword occurs in the match of examples.match[${i}]`);
      }
    }
  });
  d.spec.examples.noMatch.forEach((ex, i) => {
    const got = findAll(d, Buffer.from(ex));
    if (got.length > 0) fail(`examples.noMatch[${i}]`, `found ${got.length} span(s) at byte ${got[0]!.start}`);
  });
}

/** Built-in files are shown as `patterns/<name>`; user files as given. */
function displayName(file: string): string {
  return isBuiltinFile(file) ? `patterns/${path.relative(BUILTIN_PATTERNS_DIR, file)}` : file;
}

/** True for a file inside the shipped patterns/ folder (decided by path, not by how it is shown). */
function isBuiltinFile(file: string): boolean {
  const rel = path.relative(BUILTIN_PATTERNS_DIR, path.resolve(file));
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

async function listPatternFiles(p: string): Promise<string[]> {
  let st;
  try {
    st = await stat(p);
  } catch {
    throw new DetectorError(p, undefined, '(path)', 'pattern file or folder does not exist');
  }
  if (st.isFile()) return [p];
  const names = (await readdir(p)).filter((n) => n.endsWith('.json') && n !== 'schema.json').sort();
  return names.map((n) => path.join(p, n));
}

/**
 * Loads, validates and compiles pattern files.
 * @param sources pattern files or folders (every `*.json` but schema.json); default: the built-in set.
 * @param only when given, keep just these detector ids (unknown ids are an error).
 * @throws DetectorError naming file, detector id and field.
 */
export async function loadRuleset(
  sources: readonly string[] = [BUILTIN_PATTERNS_DIR],
  only?: readonly string[],
  opts: { checkBuiltinExamples?: boolean } = {},
): Promise<Ruleset> {
  const files = (await Promise.all(sources.map(listPatternFiles))).flat();
  // Read concurrently: one after the other, fifteen small reads were ~40 ms of waiting at start-up
  // on a busy machine. Errors are kept per file and reported in file order, as before.
  const texts = await Promise.all(files.map((f) => readFile(f, 'utf8').catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))))));
  const detectors: Detector[] = [];
  const seen = new Map<string, string>();
  const hash = createHash('sha256');
  for (const [n, file] of files.entries()) {
    const shown = displayName(file);
    let raw: unknown;
    try {
      const text = texts[n]!;
      if (text instanceof Error) throw text;
      raw = JSON.parse(text);
    } catch (err) {
      throw new DetectorError(shown, undefined, '(json)', `cannot be parsed: ${(err as Error).message}`);
    }
    // Built-in files are checked (schema, RE2, examples) by the test suite (checkBuiltinExamples);
    // user files at every load, so their errors name file, detector and field.
    const check = !isBuiltinFile(file) || opts.checkBuiltinExamples === true;
    if (check) {
      const validate = await schemaValidator();
      if (!validate(raw)) throw schemaError(shown, raw, validate.errors![0]!);
    }
    const fam = raw as FamilySpec;
    hash.update(path.basename(file)).update('\0').update(JSON.stringify(fam)).update('\0');
    for (const spec of fam.detectors) {
      const prior = seen.get(spec.id);
      if (prior) throw new DetectorError(shown, spec.id, 'id', `duplicate id (also in ${prior})`);
      seen.set(spec.id, shown);
      detectors.push(compileDetector(shown, fam.family, spec, check));
    }
  }
  if (detectors.length === 0) throw new DetectorError(sources.join(', '), undefined, 'detectors', 'no detectors loaded');
  // The key-name list is built-in data, not a family: it applies whatever pattern packs are used.
  const keys = await loadSecretKeys();
  hash.update('structure/secret-keys.json').update('\0').update(keys.sha256).update('\0');
  let structural: Detector | undefined = keys.detector;
  let chosen = detectors;
  if (only && only.length > 0) {
    for (const id of only) if (!seen.has(id) && id !== keys.detector.id) throw new DetectorError(sources.join(', '), id, 'id', 'no such detector');
    chosen = detectors.filter((d) => only.includes(d.id));
    if (!only.includes(keys.detector.id)) structural = undefined;
  }
  return {
    detectors: chosen,
    sha256: hash.digest('hex'),
    maxLength: Math.max(...chosen.map((d) => d.maxLength)),
    ...(structural ? { structural } : {}),
  };
}
