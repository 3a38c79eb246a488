/**
 * REDACTIONS.md: the human-readable summary that travels in the bundle, for the support engineer
 * who opens it. Built only from the manifest, so it cannot contain a value either.
 */
import { evidenceName } from '../manifest.js';
import type { Manifest } from '../manifest.js';

const esc = (s: string): string => s.replace(/[|\\`*_<>[\]]/g, (c) => `\\${c}`);

/** Renders the summary as Markdown. */
export function renderRedactionsMd(m: Manifest, detectorInfo: ReadonlyMap<string, string>): string {
  return [...redactionsMdChunks(m, detectorInfo)].join('');
}

/** Pieces are cut once they reach this many characters. */
const PIECE = 64 * 1024;

/**
 * {@link renderRedactionsMd} in pieces of about 64 KiB, for a file or zip entry: with one line
 * per file, the whole text, its lines and a byte copy were ~20 MB at once on 100 000 files.
 */
export function* redactionsMdChunks(m: Manifest, detectorInfo: ReadonlyMap<string, string>): Generator<string> {
  let piece = '';
  let first = true;
  for (const line of redactionsMdLines(m, detectorInfo)) {
    piece += first ? line : `\n${line}`;
    first = false;
    if (piece.length >= PIECE) {
      yield piece;
      piece = '';
    }
  }
  if (piece !== '') yield piece;
}

/** The summary's lines, to be joined by newlines (none after the last). */
function* redactionsMdLines(m: Manifest, detectorInfo: ReadonlyMap<string, string>): Generator<string> {
  const t = m.totals;
  yield* ['# Redaction summary', ''];
  yield* [
    `This bundle was scrubbed by aliscrub ${m.tool.version} on ${m.createdAt}. Sensitive values were replaced by`,
    'tokens of the form `[REDACTED:<detector>:<fingerprint>]`. The same value has the same fingerprint',
    'everywhere in this bundle, so occurrences can still be correlated; the value itself is not recoverable',
    'from the bundle. `manifest.json` lists every replacement by file, line and column.',
    '',
  ];
  yield* ['## Totals', ''];
  yield `- Files: ${t.files} (redacted ${t.redacted}, clean ${t.clean}, left out ${t.excluded + t.failed})`;
  yield `- Replacements: ${t.findings} (secret ${t.byCategory.secret}, pii ${t.byCategory.pii}, identifier ${t.byCategory.identifier})`;
  yield '';
  if (Object.keys(t.byDetector).length > 0) {
    yield* ['## By detector', '', '| detector | what it is | count |', '|---|---|---|'];
    for (const [id, n] of Object.entries(t.byDetector)) yield `| ${esc(id)} | ${esc(detectorInfo.get(id) ?? '')} | ${n} |`;
    yield '';
  }
  yield* ['## Files', '', '| file | status | replacements |', '|---|---|---|'];
  for (const f of m.files) {
    if (f.status === 'redacted' || f.status === 'clean') yield `| ${esc(evidenceName(f.path))} | ${f.status} | ${f.findings.length} |`;
  }
  yield '';
  const images = m.files.filter((f) => f.status === 'stripped');
  if (images.length > 0) {
    yield* ['## Images', '', 'Metadata (EXIF incl. GPS, XMP, IPTC, ICC, text chunks, comments) was removed; the pixels are unchanged and were **not scanned**: check screenshots for visible secrets before attaching.', ''];
    yield* ['| file | metadata removed | replacements found in it |', '|---|---|---|'];
    for (const f of images) if (f.status === 'stripped') yield `| ${esc(evidenceName(f.path))} | ${f.removed.length} block(s) | ${f.findings.length} |`;
    yield '';
  }
  const raw = m.files.filter((f) => f.status === 'unscanned');
  if (raw.length > 0) {
    yield* ['## Bundled without scanning', '', 'These binary files were included unmodified on request (`--include-unscanned`) and were **not scanned**: check them yourself before attaching.', ''];
    yield* ['| file |', '|---|'];
    for (const f of raw) yield `| ${esc(evidenceName(f.path))} |`;
    yield '';
  }
  const emptied = m.files.reduce((n, f) => n + (f.status === 'redacted' || f.status === 'clean' ? (f.structure?.bodiesRemoved ?? 0) : 0), 0);
  if (emptied > 0) yield* [`HAR bodies with a binary MIME type (images, fonts, octet-stream) cannot be scanned: ${emptied} were emptied.`, ''];
  const left = m.files.filter((f) => f.status === 'excluded' || f.status === 'failed');
  if (left.length > 0) {
    yield* ['## Left out of this bundle', '', 'These inputs were not included, so nothing unscanned reaches the ticket.', ''];
    yield* ['| file | reason |', '|---|---|'];
    for (const f of left) yield `| ${esc(f.path)} | ${f.status === 'excluded' ? f.reason : `failed: ${f.reason}`} |`;
    yield '';
  }
}
