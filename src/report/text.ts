/**
 * The text report: findings grouped by file as `path:line:col detector-id (category) fingerprint`,
 * inputs that were not scanned, and a summary. Colour only when asked (a terminal, NO_COLOR
 * unset); the caller decides.
 */
import pc from 'picocolors';
import type { Category } from '../detect/detector.js';
import { gateFindings } from '../gate/gate.js';
import type { GateFinding, GateResult } from '../gate/gate.js';
import { chunked, joinChunks } from './stream.js';

export interface TextOptions {
  /** ANSI colour. */
  readonly colour?: boolean;
  /** List suppressed findings too (marked). */
  readonly showSuppressed?: boolean;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Counts by category of the findings that are not suppressed. */
function byCategory(findings: Iterable<GateFinding>): Record<Category, number> {
  const out: Record<Category, number> = { secret: 0, pii: 0, identifier: 0 };
  for (const f of findings) if (!f.suppressed) out[f.category]++;
  return out;
}

/** The summary lines shared by every format's human output. */
export function summaryLines(r: GateResult, colour = false): string[] {
  const c = pc.createColors(colour);
  const scanned = r.files.filter((f) => f.status === 'scanned').length;
  const reasons = new Map<string, number>();
  for (const u of r.unscanned) reasons.set(u.reason, (reasons.get(u.reason) ?? 0) + 1);
  const why = [...reasons].map(([k, n]) => `${k} ${n}`).join(', ');
  const cat = byCategory(gateFindings(r));
  const shown = cat.secret + cat.pii + cat.identifier;
  const sup = r.suppressed.inline + r.suppressed.config + r.suppressed.baseline;
  const supParts = (['inline', 'config', 'baseline'] as const).filter((k) => r.suppressed[k] > 0).map((k) => `${k} ${r.suppressed[k]}`);
  const problems: string[] = [];
  if (r.failing > 0) problems.push(`${plural(r.failing, 'finding')} at or above ${r.failOn === 'any' ? 'any category' : `'${r.failOn}'`}`);
  if (r.unscanned.length > 0) problems.push(`${plural(r.unscanned.length, 'input')} not scanned${r.allowUnscanned ? ' (allowed)' : ''}`);
  const verdict = r.passed ? c.green('PASS') : c.red(c.bold('FAIL'));
  const unlisted = r.unlisted.secret + r.unlisted.pii + r.unlisted.identifier;
  const unlistedLine = `${unlisted} more redacted but not listed (pii ${r.unlisted.pii}, identifier ${r.unlisted.identifier}: over the per-detector listing cap; --fail-on pii|identifier lists them)`;
  return [
    `files: ${scanned} scanned, ${r.unscanned.length} not scanned${why ? ` (${why})` : ''}${r.excluded > 0 ? `, ${r.excluded} excluded` : ''}`,
    `findings: ${shown} (secret ${cat.secret}, pii ${cat.pii}, identifier ${cat.identifier})${sup > 0 ? `, ${sup} suppressed (${supParts.join(', ')})` : ''}`,
    ...(unlisted > 0 ? [unlistedLine] : []),
    `gate: ${verdict}${problems.length > 0 ? `: ${problems.join(', ')}` : ''} (--fail-on ${r.failOn})`,
  ];
}

export function renderText(r: GateResult, opts: TextOptions = {}): string {
  return joinChunks(textChunks(r, opts));
}

/** {@link renderText} in pieces of about 64 KiB, for writing as they come. */
export function textChunks(r: GateResult, opts: TextOptions = {}): Generator<string> {
  return chunked(textLines(r, opts));
}

/** Each line of the text report, with its newline. */
function* textLines(r: GateResult, opts: TextOptions): Generator<string> {
  const c = pc.createColors(opts.colour ?? false);
  const tint: Record<Category, (s: string) => string> = { secret: c.red, pii: c.yellow, identifier: c.cyan };
  let any = false;
  let current: string | undefined;
  for (const f of gateFindings(r)) {
    if (f.suppressed && !opts.showSuppressed) continue;
    if (current !== undefined && current !== f.path) yield '\n';
    current = f.path;
    const where = `${c.bold(f.path)}${c.dim(`:${f.line}:${f.column}`)}`;
    const what = `${tint[f.category](f.detector)} (${f.category}) ${c.dim(f.fingerprint)}`;
    yield `${where} ${what}${f.suppressed ? c.dim(` [suppressed: ${f.suppressed}]`) : ''}\n`;
    any = true;
  }
  if (r.unscanned.length > 0) {
    if (any) yield '\n';
    for (const u of r.unscanned) yield `${c.bold(u.path)}: ${c.yellow(`not scanned: ${u.reason}`)}\n`;
    any = true;
  }
  if (any) yield '\n';
  for (const line of summaryLines(r, opts.colour ?? false)) yield `${line}\n`;
}
