/**
 * Putting it together: incident + policies + manifest + "now" → classification, SLA clock,
 * open questions and TICKET.md; scrubbing through the redaction engine; the bundle entries.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { loadRuleset } from '../detect/load.js';
import { Scanner } from '../detect/scanner.js';
import { Fingerprinter } from '../fingerprint.js';
import type { Manifest } from '../manifest.js';
import { validateManifest } from '../manifest-schema.js';
import { redactBuffer } from '../redact/redactor.js';
import type { Classification } from './classify.js';
import { classify } from './classify.js';
import { IncidentError, loadClassificationPolicy, loadSlaPolicy, sameCalendarDate, shownName } from './load.js';
import type { OpenQuestion } from './questions.js';
import { openQuestions } from './questions.js';
import { renderTicketMd } from './render.js';
import type { SlaClock } from './sla.js';
import { computeSla } from './sla.js';
import type { ClassificationPolicy, LangOption, LoadedIncident, SlaPolicy } from './types.js';

/**
 * Replaces every value the detectors find with its token, as for evidence. Takes and returns
 * UTF-8 bytes; rejects binary or invalid UTF-8 input.
 */
export type Scrub = (data: Buffer) => Promise<Buffer>;

/** The policies an incident is judged by. */
export interface Policies {
  readonly classification: ClassificationPolicy;
  readonly sla: SlaPolicy;
}

/**
 * Loads the policies: the shipped defaults, or the given files.
 * @param cwd folder relative policy paths are resolved against.
 */
export async function loadPolicies(cwd: string, files: { classification?: string; sla?: string } = {}): Promise<Policies> {
  return {
    classification: files.classification ? await loadClassificationPolicy(files.classification, cwd) : await loadClassificationPolicy(),
    sla: files.sla ? await loadSlaPolicy(files.sla, cwd) : await loadSlaPolicy(),
  };
}

/** Everything derived from one incident at one instant. */
export interface Assessment {
  readonly classification: Classification;
  readonly sla: SlaClock;
  readonly questions: readonly OpenQuestion[];
}

/** Classifies the incident and computes its SLA clock and open questions at `now` (epoch ms). */
export function assess(loaded: LoadedIncident, policies: Policies, now: number, manifest?: Manifest): Assessment {
  const classification = classify(loaded.incident, policies.classification);
  const sla = computeSla(loaded.incident, classification.level, policies.sla, now);
  return { classification, sla, questions: openQuestions(loaded.incident, classification, sla, manifest) };
}

/** The name the incident file gets in a bundle: `incident.yaml` or `incident.json`. */
export function bundledIncidentName(loaded: LoadedIncident): string {
  return loaded.format === 'json' ? 'incident.json' : 'incident.yaml';
}

/** A date-time with a zone offset, as the schema requires (and `--now`). Not scrubbed: the SLA maths needs them. */
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/** The latest ISO date-time anywhere in the incident (epoch ms), or -Infinity. */
function latestInstant(v: unknown): number {
  if (typeof v === 'string') return ISO_WITH_ZONE.test(v) ? Date.parse(v) : -Infinity;
  if (Array.isArray(v)) return Math.max(-Infinity, ...v.map(latestInstant));
  if (v && typeof v === 'object') return Math.max(-Infinity, ...Object.values(v).map(latestInstant));
  return -Infinity;
}

/**
 * The incident with every free-text string scrubbed, for rendering. Rendering quotes, prefixes
 * and escapes text (`> ` before each line, `\|` in table cells), which can hide a value from the
 * detectors that the raw text would show them: so values are replaced before rendering, and the
 * rendered text is scrubbed again after. Classification and SLA use the raw incident.
 */
export async function scrubIncident(loaded: LoadedIncident, scrub: Scrub): Promise<LoadedIncident> {
  const walk = async (v: unknown): Promise<unknown> => {
    if (typeof v === 'string') return ISO_WITH_ZONE.test(v) ? v : (await scrub(Buffer.from(v, 'utf8'))).toString('utf8');
    if (Array.isArray(v)) return Promise.all(v.map(walk));
    if (v && typeof v === 'object') return Object.fromEntries(await Promise.all(Object.entries(v).map(async ([k, x]) => [k, await walk(x)] as const)));
    return v;
  };
  return { ...loaded, incident: (await walk(loaded.incident)) as LoadedIncident['incident'] };
}

/**
 * Renders TICKET.md. Deterministic: no clock is read.
 * @param opts.display the incident as shown (scrubbed, see {@link scrubIncident}); `loaded` is
 *   what is assessed. Without it the raw incident is shown: scrub the result before it leaves.
 */
export function ticketMarkdown(loaded: LoadedIncident, policies: Policies, opts: { now: number; lang: LangOption; manifest?: Manifest; inBundle?: boolean; display?: LoadedIncident }): string {
  const a = assess(loaded, policies, opts.now, opts.manifest);
  return renderTicketMd(
    {
      incident: (opts.display ?? loaded).incident,
      classification: a.classification,
      sla: a.sla,
      now: opts.now,
      ...(opts.manifest ? { manifest: opts.manifest } : {}),
      ...(opts.inBundle ? { bundledIncidentName: bundledIncidentName(loaded) } : {}),
    },
    opts.lang,
  );
}

/** The default `--lang`: both languages for a China site account, English for international. */
export function defaultLang(loaded: LoadedIncident): LangOption {
  return loaded.incident.account.site === 'cn' ? 'both' : 'en';
}

/**
 * The two bundle entries for `pack --incident`: TICKET.md (rendered from the scrubbed incident)
 * and the incident file as read. `pack` scrubs every extra entry again with the run's own scanner
 * and key (so tokens match the evidence) before it zips them.
 * @param scrub the run's scrub (same scanner and key as the evidence)
 * @param now the instant TICKET.md describes; default the manifest's createdAt (never the clock),
 *   so the bundle stays byte-identical for the same inputs.
 */
export async function incidentBundleEntries(
  loaded: LoadedIncident,
  policies: Policies,
  manifest: Manifest,
  scrub: Scrub,
  opts: { lang?: LangOption; now?: number } = {},
): Promise<Array<{ name: string; data: Buffer }>> {
  // Without --now: the bundle's date (deterministic), but never earlier than the newest time the
  // incident file records, so an old evidence mtime cannot show an overdue target as "due in".
  const now = opts.now ?? Math.max(Date.parse(manifest.createdAt), latestInstant(loaded.incident));
  const display = await scrubIncident(loaded, scrub);
  const md = ticketMarkdown(loaded, policies, { now, lang: opts.lang ?? defaultLang(loaded), manifest, inBundle: true, display });
  return [
    { name: 'TICKET.md', data: Buffer.from(md, 'utf8') },
    { name: bundledIncidentName(loaded), data: loaded.bytes },
  ];
}

/**
 * A scrub with the built-in detectors (or `patterns`) and a fingerprint key (random when absent),
 * for output that is printed rather than bundled.
 */
export async function createScrub(opts: { key?: Buffer; patterns?: readonly string[] } = {}): Promise<Scrub> {
  const ruleset = await loadRuleset(opts.patterns);
  const scanner = new Scanner(ruleset.detectors);
  const fingerprints = new Fingerprinter(opts.key);
  return async (data) => (await redactBuffer(scanner, fingerprints, data)).output;
}

/**
 * Reads and validates a manifest.json (for `incident render --manifest`).
 * @throws IncidentError when it cannot be read or is not a valid aliscrub manifest.
 */
export async function loadManifestFile(file: string, cwd: string): Promise<Manifest> {
  const abs = path.resolve(cwd, file);
  const shown = shownName(abs, cwd);
  let data: unknown;
  try {
    data = JSON.parse(await readFile(abs, 'utf8')) as unknown;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new IncidentError(`${shown}: ${code ? `cannot read the manifest (${code})` : 'not valid JSON'}`);
  }
  const problems = validateManifest(data);
  if (problems.length > 0) throw new IncidentError(`${shown}: not a valid aliscrub manifest (${problems[0]})`);
  return data as Manifest;
}


/**
 * Parses `--now`: an ISO 8601 date-time with a zone offset.
 * @throws IncidentError otherwise.
 */
export function parseNow(value: string): number {
  const ms = Date.parse(value);
  if (!ISO_WITH_ZONE.test(value) || Number.isNaN(ms)) throw new IncidentError('--now: must be a date-time with a zone offset, e.g. 2025-03-01T09:12:00+08:00');
  if (!sameCalendarDate(value)) throw new IncidentError('--now: is not a real date and time');
  return ms;
}
