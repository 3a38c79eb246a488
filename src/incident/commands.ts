/**
 * The incident commands (`incident init`, `incident render`, `sla`) with explicit inputs: working
 * folder, clock and output callbacks. cli.ts only parses flags and calls these.
 *
 * Nothing printed holds a detected value: TICKET.md and the SLA report are scrubbed with the
 * redaction engine before they are printed or written, and error messages name fields, not values.
 */
import { readFile } from 'node:fs/promises';
import { exists, writeAtomic } from '../bundle/staging.js';
import path from 'node:path';
import { ExitCode, UsageError } from '../errors.js';
import { severityLabel } from './classify.js';
import { IncidentError, loadIncident, shownName } from './load.js';
import type { Scrub } from './ticket.js';
import { assess, createScrub, defaultLang, loadManifestFile, loadPolicies, parseNow, scrubIncident, ticketMarkdown } from './ticket.js';
import type { SlaClock } from './sla.js';
import { INCIDENT_TEMPLATE } from './template.js';
import { formatDuration, formatInstant, formatMinutes, parseInstant } from './time.js';
import type { LangOption } from './types.js';

/** What the incident commands need from their environment. */
export interface IncidentIo {
  readonly cwd: string;
  /** The wall clock, read only when neither --now nor a manifest gives "now". */
  readonly clock: () => Date;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

/** Policy files replacing the shipped ones. */
export interface PolicyOptions {
  readonly slaPolicy?: string;
  readonly classificationPolicy?: string;
}



/**
 * `aliscrub incident init [FILE]`: writes the commented template (default `incident.yaml`).
 * @returns exit code 0; refuses (UsageError, exit 2) to replace a file without `force`.
 */
export async function incidentInit(opts: { file?: string; force?: boolean }, io: IncidentIo): Promise<number> {
  const file = path.resolve(io.cwd, opts.file ?? 'incident.yaml');
  const shown = shownName(file, io.cwd);
  if (!/\.ya?ml$/i.test(file)) throw new UsageError(`${shown}: the template is YAML; use a name ending in .yaml or .yml`);
  if (!opts.force && (await exists(file))) throw new UsageError(`${shown}: already exists (use --force to replace it)`);
  await writeAtomic(file, INCIDENT_TEMPLATE);
  io.stdout(`incident file written: ${shown} (edit it, then: aliscrub incident render ${shown})\n`);
  return ExitCode.Ok;
}

/** Options of `incident render`. */
export interface RenderOptions extends PolicyOptions {
  readonly file: string;
  readonly lang?: LangOption;
  readonly manifest?: string;
  readonly now?: string;
  /** Write TICKET.md here instead of stdout. */
  readonly out?: string;
  readonly force?: boolean;
  /** Fingerprint key for the scrub (stable tokens across runs). */
  readonly key?: Buffer;
  /** Replaces the built-in scrub (tests). */
  readonly scrub?: Scrub;
}

/** "now": --now, else the manifest's createdAt, else the clock. */
function resolveNow(now: string | undefined, manifestCreatedAt: string | undefined, io: IncidentIo): number {
  if (now !== undefined) return parseNow(now);
  if (manifestCreatedAt !== undefined) return Date.parse(manifestCreatedAt);
  return io.clock().getTime();
}

/**
 * `aliscrub incident render FILE`: prints (or writes) the scrubbed TICKET.md.
 * @returns exit code 0; bad input throws a UsageError (exit 2).
 */
export async function incidentRender(opts: RenderOptions, io: IncidentIo): Promise<number> {
  const loaded = await loadIncident(opts.file, io.cwd);
  const policies = await loadPolicies(io.cwd, { sla: opts.slaPolicy, classification: opts.classificationPolicy });
  const manifest = opts.manifest ? await loadManifestFile(opts.manifest, io.cwd) : undefined;
  const now = resolveNow(opts.now, manifest?.createdAt, io);
  const out = opts.out ? path.resolve(io.cwd, opts.out) : undefined;
  if (out && !opts.force && (await exists(out))) throw new UsageError(`--out: ${shownName(out, io.cwd)} already exists (use --force to replace it)`);
  const scrub = opts.scrub ?? (await createScrub(opts.key ? { key: opts.key } : {}));
  const display = await scrubIncident(loaded, scrub);
  const md = ticketMarkdown(loaded, policies, { now, lang: opts.lang ?? defaultLang(loaded), ...(manifest ? { manifest } : {}), display });
  const clean = await scrub(Buffer.from(md, 'utf8'));
  if (out) {
    await writeAtomic(out, clean);
    io.stderr(`written: ${shownName(out, io.cwd)}\n`);
  } else io.stdout(clean.toString('utf8'));
  return ExitCode.Ok;
}

/** Options of `aliscrub sla`. */
export interface SlaOptions extends PolicyOptions {
  readonly file: string;
  readonly format?: 'text' | 'json';
  readonly now?: string;
  readonly scrub?: Scrub;
}

/** The SLA report as JSON (`sla --format json`). */
export interface SlaReport {
  readonly reportVersion: 1;
  readonly incident: string;
  readonly level: SlaClock['level'];
  readonly levelBasis: 'chosen' | 'derived';
  readonly apiSeverity: 1 | 2;
  /** Always "policy": the level → API severity mapping is ours, not Alibaba Cloud's. */
  readonly apiSeverityBasis: 'policy';
  readonly contradiction?: string;
  readonly breached: boolean;
  readonly clock: SlaClock;
}

function slaText(r: SlaReport): string {
  const c = r.clock;
  const at = (iso: string): string => formatInstant(parseInstant(iso), c.zone);
  const L = [
    `incident ${r.incident}: ${r.level} (${r.levelBasis}), ticket severity ${severityLabel(r.apiSeverity, 'en')} by policy`,
    `plan ${c.plan ?? '(none)'}; times in ${c.zone}; now ${at(c.now)}`,
  ];
  if (r.contradiction) L.push(`level contradiction: ${r.contradiction}`);
  if (c.ticketCreatedAt) L.push(`ticket created ${at(c.ticketCreatedAt)}`);
  const gapText = { 'no-plan': 'no support plan set (account.plan): no targets', 'unknown-plan': 'support plan not in the SLA policy: no targets', 'no-targets': 'no target in the SLA policy for this plan and level', 'no-ticket': 'ticket not filed yet: clock not started' } as const;
  for (const g of c.gaps) L.push(gapText[g]);
  for (const t of c.targets) {
    const kind = t.kind === 'firstResponse' ? 'first response' : 'resolution';
    const state = t.state === 'met' ? `met ${formatDuration(t.marginMs, 'en')} early` : t.state === 'pending' ? `due in ${formatDuration(t.marginMs, 'en')}` : `BREACHED by ${formatDuration(t.marginMs, 'en')}${t.metAt ? '' : ' (still open)'}`;
    L.push(`${kind}: target ${formatMinutes(t.minutes, 'en')}${t.verified ? ' (verified' : ' (UNVERIFIED'}, SOW ${t.sowVersion}), due ${at(t.due)}: ${state}`);
  }
  const f = c.followUp;
  if (f.nextDue !== undefined && f.marginMs !== undefined)
    L.push(`next update due ${at(f.nextDue)} (${f.marginMs >= 0 ? `in ${formatDuration(f.marginMs, 'en')}` : `overdue by ${formatDuration(f.marginMs, 'en')}`}); every ${formatMinutes(f.everyMinutes, 'en')} (${f.source})`);
  L.push(c.breaches.length === 0 ? 'breaches: none' : `breaches: ${c.breaches.length}${c.breaches.some((b) => !b.verified) ? ' (against unverified targets: check your SOW before claiming)' : ''}`);
  return `${L.join('\n')}\n`;
}

/**
 * `aliscrub sla FILE`: the SLA clock and breaches.
 * @returns 1 when a target is breached, 0 otherwise; bad input throws (exit 2).
 */
export async function slaCommand(opts: SlaOptions, io: IncidentIo): Promise<number> {
  const loaded = await loadIncident(opts.file, io.cwd);
  const policies = await loadPolicies(io.cwd, { sla: opts.slaPolicy, classification: opts.classificationPolicy });
  const now = resolveNow(opts.now, undefined, io);
  const a = assess(loaded, policies, now);
  const scrub = opts.scrub ?? (await createScrub());
  const report: SlaReport = {
    reportVersion: 1,
    incident: (await scrub(Buffer.from(loaded.incident.id, 'utf8'))).toString('utf8'),
    level: a.classification.level,
    levelBasis: a.classification.basis,
    apiSeverity: a.classification.apiSeverity,
    apiSeverityBasis: 'policy',
    ...(a.classification.contradiction ? { contradiction: a.classification.contradiction.en } : {}),
    breached: a.sla.breaches.length > 0,
    clock: a.sla,
  };
  const text = opts.format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : slaText(report);
  io.stdout((await scrub(Buffer.from(text, 'utf8'))).toString('utf8'));
  return report.breached ? ExitCode.Findings : ExitCode.Ok;
}

/** Reads a key file for `--key-file` (at least 16 bytes, checked by the fingerprinter's users). */
export async function readKey(file: string, cwd: string): Promise<Buffer> {
  try {
    return await readFile(path.resolve(cwd, file));
  } catch {
    throw new IncidentError(`--key-file: cannot read ${file}`);
  }
}
