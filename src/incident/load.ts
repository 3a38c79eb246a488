/**
 * Reading and validating the incident file and the two policies (classification, SLA).
 *
 * Every problem is an {@link IncidentError} (a usage error: exit code 2) naming the file and the
 * field as a JSON pointer, e.g. `incident.yaml: /impact/productionDown: must be boolean`. Messages
 * never quote a value from the file: an incident description may hold exactly what aliscrub is
 * meant to keep out of logs.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isUtf8 } from 'node:buffer';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { newAjv } from '../ajv.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { parseDataText } from '../data-text.js';
import { UsageError } from '../errors.js';
import type { ClassificationPolicy, Incident, LoadedIncident, SlaPolicy } from './types.js';
import { isValidTimeZone } from './time.js';

/** A bad incident file or policy file (exit code 2). */
export class IncidentError extends UsageError {}

/** The default classification policy shipped with aliscrub. */
export const DEFAULT_CLASSIFICATION_POLICY = fileURLToPath(new URL('../../policy/classification.json', import.meta.url));
/** The default SLA policy shipped with aliscrub. */
export const DEFAULT_SLA_POLICY = fileURLToPath(new URL('../../policy/sla.json', import.meta.url));

const compiled = new Map<string, ValidateFunction>();
function validator(schemaUrl: URL): ValidateFunction {
  const key = schemaUrl.href;
  let v = compiled.get(key);
  if (!v) {
    v = newAjv({ allErrors: true, strict: false }).compile(JSON.parse(readFileSync(schemaUrl, 'utf8')) as object);
    compiled.set(key, v);
  }
  return v;
}

const INCIDENT_SCHEMA = new URL('../../schema/incident.schema.json', import.meta.url);
const CLASSIFICATION_SCHEMA = new URL('../../policy/classification.schema.json', import.meta.url);
const SLA_SCHEMA = new URL('../../policy/sla.schema.json', import.meta.url);

/** One line per schema error, `FILE: /pointer: problem`; never the offending value. */
function describeErrors(shown: string, errors: readonly ErrorObject[]): string[] {
  const lines: string[] = [];
  for (const e of errors) {
    const at = e.instancePath || '/';
    const p = e.params as Record<string, unknown>;
    let what: string;
    switch (e.keyword) {
      case 'additionalProperties':
        // A key can be a pasted value (`LTAI…: 1`): name it only when it looks like a field name.
        what = /^[A-Za-z][A-Za-z_-]{0,39}$/.test(String(p['additionalProperty'])) ? `unknown field '${String(p['additionalProperty'])}'` : 'unknown field (its name is not shown: it does not look like a field name)';
        break;
      case 'required':
        what = `missing required field '${String(p['missingProperty'])}'`;
        break;
      case 'enum':
        what = `must be one of ${(p['allowedValues'] as unknown[]).map(String).join(', ')}`;
        break;
      case 'const':
        what = `must be ${JSON.stringify(p['allowedValue'])}`;
        break;
      case 'pattern':
        what = /At$/.test(at) || at === '/startedAt' ? 'must be a date-time with a zone offset, e.g. 2025-03-01T09:12:00+08:00' : 'has characters or a length that is not allowed';
        break;
      default:
        what = e.message ?? 'is not valid';
    }
    const line = `${shown}: ${at}: ${what}`;
    if (!lines.includes(line)) lines.push(line);
  }
  return lines;
}


/** The name of `file` as shown in messages: relative to `cwd` when below it. */
export function shownName(file: string, cwd: string): string {
  const rel = path.relative(cwd, file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

async function readBytes(abs: string, shown: string, what: string): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await readFile(abs);
  } catch (err) {
    throw new IncidentError(`${shown}: cannot read the ${what} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (bytes.includes(0) || !isUtf8(bytes)) throw new IncidentError(`${shown}: the ${what} must be UTF-8 text`);
  return bytes;
}

const TIME_FIELDS = ['createdAt', 'firstResponseAt', 'lastUpdateAt', 'resolvedAt', 'rcaReceivedAt'] as const;
const ANSWERS = ['productionDown', 'dataLoss', 'workaround', 'scope'] as const;

/** Checks the schema cannot express: real dates, a known zone, level or answers, time order. */
function semanticProblems(inc: Incident, shown: string): string[] {
  const out: string[] = [];
  const times: Array<[string, string | undefined]> = [
    ['/startedAt', inc.startedAt],
    ['/statusPage/checkedAt', inc.statusPage?.checkedAt],
    ...TIME_FIELDS.map((f): [string, string | undefined] => [`/ticket/${f}`, inc.ticket?.[f]]),
  ];
  for (const [at, v] of times) {
    if (v === undefined) continue;
    if (Number.isNaN(Date.parse(v)) || !sameCalendarDate(v)) out.push(`${shown}: ${at}: is not a real date and time`);
  }
  if (inc.account.timeZone !== undefined && !isValidTimeZone(inc.account.timeZone))
    out.push(`${shown}: /account/timeZone: must be an IANA time zone such as Asia/Shanghai or UTC`);
  if (inc.level === undefined) {
    const missing = ANSWERS.filter((a) => inc.impact[a] === undefined);
    if (missing.length > 0) out.push(`${shown}: /level: give a level (P0-P3) or answer ${missing.map((m) => `/impact/${m}`).join(', ')}`);
  }
  const created = inc.ticket?.createdAt;
  if (created && out.length === 0) {
    for (const f of ['firstResponseAt', 'resolvedAt'] as const) {
      const v = inc.ticket?.[f];
      if (v !== undefined && Date.parse(v) < Date.parse(created)) out.push(`${shown}: /ticket/${f}: is before /ticket/createdAt`);
    }
  }
  return out;
}

/** Date.parse accepts 2025-02-30 and rolls it over; the written date must survive a round trip. */
export function sameCalendarDate(v: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(v);
  if (!m) return false;
  const [, y, mo, d, h, mi] = m.map(Number) as [number, number, number, number, number, number];
  const probe = new Date(Date.UTC(y, mo - 1, d, h, mi));
  return probe.getUTCFullYear() === y && probe.getUTCMonth() === mo - 1 && probe.getUTCDate() === d && probe.getUTCHours() === h && h < 24 && mi < 60;
}

/**
 * Reads and validates an incident file (`.yaml`, `.yml` or `.json`).
 * @param file path, relative to `cwd` when not absolute.
 * @throws IncidentError naming the file and each bad field (exit code 2).
 */
export async function loadIncident(file: string, cwd: string): Promise<LoadedIncident> {
  const abs = path.resolve(cwd, file);
  const shown = shownName(abs, cwd);
  const lower = abs.toLowerCase();
  const format = lower.endsWith('.json') ? 'json' : /\.ya?ml$/.test(lower) ? 'yaml' : undefined;
  if (!format) throw new IncidentError(`${shown}: an incident file must end in .yaml, .yml or .json`);
  const bytes = await readBytes(abs, shown, 'incident file');
  const data = parseDataText(bytes.toString('utf8'), format, shown, (m) => new IncidentError(m));
  const validate = validator(INCIDENT_SCHEMA);
  if (!validate(data)) throw new IncidentError(describeErrors(shown, validate.errors ?? []).join('\n'));
  const incident = data as Incident;
  const problems = semanticProblems(incident, shown);
  if (problems.length > 0) throw new IncidentError(problems.join('\n'));
  return { incident, file: abs, shown, bytes, format };
}

async function loadPolicyFile(file: string, cwd: string | undefined, schema: URL, what: string): Promise<{ data: unknown; shown: string }> {
  const abs = cwd === undefined ? file : path.resolve(cwd, file);
  const shown = cwd === undefined ? file : shownName(abs, cwd);
  const format = abs.toLowerCase().endsWith('.json') ? 'json' : /\.ya?ml$/i.test(abs) ? 'yaml' : undefined;
  if (!format) throw new IncidentError(`${shown}: a ${what} must end in .json, .yaml or .yml`);
  const data = parseDataText((await readBytes(abs, shown, what)).toString('utf8'), format, shown, (m) => new IncidentError(m));
  const validate = validator(schema);
  if (!validate(data)) throw new IncidentError(describeErrors(shown, validate.errors ?? []).join('\n'));
  return { data, shown };
}

/**
 * Loads a classification policy (default: policy/classification.json).
 * @param cwd folder a relative `file` is resolved against (absolute paths need none).
 * @throws IncidentError naming the file and field.
 */
export async function loadClassificationPolicy(file: string = DEFAULT_CLASSIFICATION_POLICY, cwd?: string): Promise<ClassificationPolicy> {
  const { data } = await loadPolicyFile(file, cwd, CLASSIFICATION_SCHEMA, 'classification policy');
  return data as ClassificationPolicy;
}

/**
 * Loads an SLA policy (default: policy/sla.json). Besides the schema: every target names a
 * listed plan, and no plan has two rows for one level.
 * @throws IncidentError naming the file and field.
 */
export async function loadSlaPolicy(file: string = DEFAULT_SLA_POLICY, cwd?: string): Promise<SlaPolicy> {
  const { data, shown } = await loadPolicyFile(file, cwd, SLA_SCHEMA, 'SLA policy');
  const policy = data as SlaPolicy;
  const plans = new Set(policy.plans.map((p) => p.id));
  const seen = new Set<string>();
  const problems: string[] = [];
  policy.targets.forEach((t, i) => {
    if (!plans.has(t.plan)) problems.push(`${shown}: /targets/${i}/plan: names a plan that is not in /plans`);
    const k = `${t.plan} ${t.level}`;
    if (seen.has(k)) problems.push(`${shown}: /targets/${i}: a second row for the same plan and level`);
    seen.add(k);
  });
  if (problems.length > 0) throw new IncidentError(problems.join('\n'));
  return policy;
}
