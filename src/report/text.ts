/**
 * The text report: findings grouped by file as `path:line:col detector-id (category) fingerprint`,
 * inputs that were not scanned, and a summary. Colour only when asked (a terminal, NO_COLOR
 * unset); the caller decides.
 */
import pc from 'picocolors';
import type { Category } from '../detect/detector.js';
import type { GateFinding, GateResult } from '../gate/gate.js';

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
function byCategory(findings: readonly GateFinding[]): Record<Category, number> {
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
  const shown = r.findings.filter((f) => !f.suppressed);
  const cat = byCategory(r.findings);
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
    `findings: ${shown.length} (secret ${cat.secret}, pii ${cat.pii}, identifier ${cat.identifier})${sup > 0 ? `, ${sup} suppressed (${supParts.join(', ')})` : ''}`,
    ...(unlisted > 0 ? [unlistedLine] : []),
    `gate: ${verdict}${problems.length > 0 ? `: ${problems.join(', ')}` : ''} (--fail-on ${r.failOn})`,
  ];
}

export function renderText(r: GateResult, opts: TextOptions = {}): string {
  const c = pc.createColors(opts.colour ?? false);
  const tint: Record<Category, (s: string) => string> = { secret: c.red, pii: c.yellow, identifier: c.cyan };
  const lines: string[] = [];
  let current: string | undefined;
  for (const f of r.findings) {
    if (f.suppressed && !opts.showSuppressed) continue;
    if (current !== undefined && current !== f.path) lines.push('');
    current = f.path;
    const where = `${c.bold(f.path)}${c.dim(`:${f.line}:${f.column}`)}`;
    const what = `${tint[f.category](f.detector)} (${f.category}) ${c.dim(f.fingerprint)}`;
    lines.push(`${where} ${what}${f.suppressed ? c.dim(` [suppressed: ${f.suppressed}]`) : ''}`);
  }
  if (r.unscanned.length > 0) {
    if (lines.length > 0) lines.push('');
    for (const u of r.unscanned) lines.push(`${c.bold(u.path)}: ${c.yellow(`not scanned: ${u.reason}`)}`);
  }
  if (lines.length > 0) lines.push('');
  lines.push(...summaryLines(r, opts.colour ?? false));
  return `${lines.join('\n')}\n`;
}
