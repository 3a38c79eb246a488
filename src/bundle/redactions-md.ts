/**
 * REDACTIONS.md: the human-readable summary that travels in the bundle, for the support engineer
 * who opens it. Built only from the manifest, so it cannot contain a value either.
 */
import { bundlePath } from '../manifest.js';
import type { Manifest } from '../manifest.js';

const esc = (s: string): string => s.replace(/[|\\`*_<>[\]]/g, (c) => `\\${c}`);

/** Renders the summary as Markdown. */
export function renderRedactionsMd(m: Manifest, detectorInfo: ReadonlyMap<string, string>): string {
  const t = m.totals;
  const lines: string[] = [];
  lines.push('# Redaction summary', '');
  lines.push(
    `This bundle was scrubbed by aliscrub ${m.tool.version} on ${m.createdAt}. Sensitive values were replaced by`,
    'tokens of the form `[REDACTED:<detector>:<fingerprint>]`. The same value has the same fingerprint',
    'everywhere in this bundle, so occurrences can still be correlated; the value itself is not recoverable',
    'from the bundle. `manifest.json` lists every replacement by file, line and column.',
    '',
  );
  lines.push('## Totals', '');
  lines.push(`- Files: ${t.files} (redacted ${t.redacted}, clean ${t.clean}, left out ${t.excluded + t.failed})`);
  lines.push(`- Replacements: ${t.findings} (secret ${t.byCategory.secret}, pii ${t.byCategory.pii}, identifier ${t.byCategory.identifier})`);
  lines.push('');
  if (Object.keys(t.byDetector).length > 0) {
    lines.push('## By detector', '', '| detector | what it is | count |', '|---|---|---|');
    for (const [id, n] of Object.entries(t.byDetector)) lines.push(`| ${esc(id)} | ${esc(detectorInfo.get(id) ?? '')} | ${n} |`);
    lines.push('');
  }
  lines.push('## Files', '', '| file | status | replacements |', '|---|---|---|');
  for (const f of m.files) {
    if (f.status === 'redacted' || f.status === 'clean') lines.push(`| ${esc(`evidence/${bundlePath(f.path)}`)} | ${f.status} | ${f.findings.length} |`);
  }
  lines.push('');
  const images = m.files.filter((f) => f.status === 'stripped');
  if (images.length > 0) {
    lines.push('## Images', '', 'Metadata (EXIF incl. GPS, XMP, IPTC, ICC, text chunks, comments) was removed; the pixels are unchanged and were **not scanned**: check screenshots for visible secrets before attaching.', '');
    lines.push('| file | metadata removed | replacements found in it |', '|---|---|---|');
    for (const f of images) if (f.status === 'stripped') lines.push(`| ${esc(`evidence/${bundlePath(f.path)}`)} | ${f.removed.length} block(s) | ${f.findings.length} |`);
    lines.push('');
  }
  const raw = m.files.filter((f) => f.status === 'unscanned');
  if (raw.length > 0) {
    lines.push('## Bundled without scanning', '', 'These binary files were included unmodified on request (`--include-unscanned`) and were **not scanned**: check them yourself before attaching.', '');
    lines.push('| file |', '|---|');
    for (const f of raw) lines.push(`| ${esc(`evidence/${bundlePath(f.path)}`)} |`);
    lines.push('');
  }
  const emptied = m.files.reduce((n, f) => n + (f.status === 'redacted' || f.status === 'clean' ? (f.structure?.bodiesRemoved ?? 0) : 0), 0);
  if (emptied > 0) lines.push(`HAR bodies with a binary MIME type (images, fonts, octet-stream) cannot be scanned: ${emptied} were emptied.`, '');
  const left = m.files.filter((f) => f.status === 'excluded' || f.status === 'failed');
  if (left.length > 0) {
    lines.push('## Left out of this bundle', '', 'These inputs were not included, so nothing unscanned reaches the ticket.', '');
    lines.push('| file | reason |', '|---|---|');
    for (const f of left) lines.push(`| ${esc(f.path)} | ${f.status === 'excluded' ? f.reason : `failed: ${f.reason}`} |`);
    lines.push('');
  }
  return `${lines.join('\n')}`;
}
