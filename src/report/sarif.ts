/**
 * SARIF 2.1.0 output (`scan --format sarif`) for GitHub code scanning and other SARIF viewers.
 *
 * - One rule per loaded detector: id, name, short/full description, help, and
 *   `properties.tags` = ["security", category] plus `security-severity` for GitHub.
 * - One result per finding: `physicalLocation` with a URI relative to the scan root (no
 *   `uriBaseId`: GitHub resolves relative URIs against the repository root, which is the scan
 *   root when the scan runs there) and a region with startLine, startColumn, endLine, endColumn.
 *   Columns count Unicode code points (`columnKind: unicodeCodePoints`), like the manifest.
 * - `partialFingerprints["aliscrubFingerprint/v1"]`: the keyed fingerprint plus an occurrence
 *   number within the file, so alerts survive line moves (stable across runs only with a stable
 *   key: `--key-file`, config `keyFile`, or a baseline's key).
 * - Suppressed findings are included with `suppressions` (inSource for `aliscrub:allow`,
 *   external for the allowlist and the baseline); inputs that were not scanned are
 *   `toolExecutionNotifications`.
 *
 * No value and no source text: messages name the detector, category and fingerprint only.
 */
import type { Category } from '../detect/detector.js';
import { findingsGroupedByPath, gateFindings } from '../gate/gate.js';
import type { DetectorInfo, GateFinding, GateResult } from '../gate/gate.js';
import { LazyArray, chunked, joinChunks, prettyJson } from './stream.js';
import { VERSION } from '../version.js';

export const SARIF_SCHEMA_URI = 'https://json.schemastore.org/sarif-2.1.0.json';
/** Where people can read about the tool (the package page). */
export const INFORMATION_URI = 'https://www.npmjs.com/package/aliscrub';
export const PARTIAL_FINGERPRINT_KEY = 'aliscrubFingerprint/v1';

type Level = 'error' | 'warning' | 'note';

const DEFAULT_LEVEL: Readonly<Record<Category, Level>> = { secret: 'error', pii: 'warning', identifier: 'note' };
/** GitHub's `security-severity` (0–10): critical for credentials, medium for personal data. */
const SECURITY_SEVERITY: Readonly<Record<Category, string>> = { secret: '9.0', pii: '5.0', identifier: '2.0' };
const CATEGORY_TEXT: Readonly<Record<Category, string>> = {
  secret: 'a credential or other secret',
  pii: 'personal data',
  identifier: 'an account or network identifier',
};

const pascal = (s: string): string =>
  s
    .split('-')
    .map((w) => (w ? w[0]!.toUpperCase() + w.slice(1) : w))
    .join('');

/**
 * A readable name that differs from the id (SARIF1001): `alibaba-access-key-id` →
 * `AlibabaAccessKeyId`; a one-word id gets its category: `jwt` → `JwtSecret`.
 */
function ruleName(id: string, category: Category): string {
  const name = pascal(id);
  return name.toLowerCase() === id.toLowerCase() ? `${name}${pascal(category)}` : name;
}

/** First sentence of a description, ending with a period. */
function firstSentence(text: string): string {
  const m = /^(.+?[.!?])(\s|$)/s.exec(text.trim());
  const s = (m?.[1] ?? text.trim()).replace(/\s+/g, ' ');
  return /[.!?]$/.test(s) ? s : `${s}.`;
}

function withPeriod(text: string): string {
  const t = text.trim().replace(/\s+/g, ' ');
  return /[.!?]$/.test(t) ? t : `${t}.`;
}

/** A relative URI reference for a '/'-separated path (each segment percent-encoded). */
export function pathToUri(p: string): string {
  return p
    .split('/')
    .map((seg) => encodeURIComponent(seg))
    .join('/');
}

function rule(d: DetectorInfo): object {
  const help =
    `${withPeriod(d.description)} A finding means the evidence holds ${CATEGORY_TEXT[d.category]}. ` +
    `Use 'aliscrub pack' or 'aliscrub redact' to replace it with a [REDACTED:${d.id}:<fingerprint>] token before the evidence leaves the company; rotate it if it is a credential. ` +
    `If it is a test value or a false positive, suppress it with an 'aliscrub:allow ${d.id}' comment on the same or the previous line, the config allowlist, or a baseline.`;
  return {
    id: d.id,
    name: ruleName(d.id, d.category),
    shortDescription: { text: firstSentence(d.description) },
    fullDescription: { text: withPeriod(d.description) },
    help: { text: help },
    helpUri: INFORMATION_URI,
    defaultConfiguration: { level: DEFAULT_LEVEL[d.category] },
    properties: {
      tags: ['security', d.category],
      precision: 'high',
      'security-severity': SECURITY_SEVERITY[d.category],
    },
  };
}

function level(f: GateFinding): Level {
  if (f.failsGate) return 'error';
  return f.category === 'identifier' ? 'note' : 'warning';
}

/**
 * The SARIF result of each finding, in order. The occurrence number counts earlier findings with
 * the same path, detector and fingerprint; when each file's findings come together, only the
 * current file's counts are kept.
 */
function* results(r: GateResult, findings: Iterable<GateFinding>): Generator<object> {
  const ruleIndex = new Map(r.detectors.map((d, i) => [d.id, i]));
  const grouped = findingsGroupedByPath(r);
  let occurrences = new Map<string, number>();
  let currentPath: string | undefined;
  for (const f of findings) {
    if (grouped && f.path !== currentPath) {
      occurrences = new Map();
      currentPath = f.path;
    }
    const key = `${f.path}\0${f.detector}\0${f.fingerprint}`;
    const n = (occurrences.get(key) ?? 0) + 1;
    occurrences.set(key, n);
    const region: Record<string, number> = { startLine: f.line, startColumn: f.column };
    if (f.endLine !== f.line) region['endLine'] = f.endLine;
    region['endColumn'] = f.endColumn;
    yield {
      ruleId: f.detector,
      ...(ruleIndex.has(f.detector) ? { ruleIndex: ruleIndex.get(f.detector) } : {}),
      level: level(f),
      message: {
        text: `${f.detector}: ${CATEGORY_TEXT[f.category]} (${f.category}) was found here; fingerprint ${f.fingerprint}. The value is not shown.`,
      },
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri: pathToUri(f.path) },
            region,
          },
        },
      ],
      partialFingerprints: { [PARTIAL_FINGERPRINT_KEY]: `${f.fingerprint}:${n}` },
      properties: { category: f.category, fingerprint: f.fingerprint },
      ...(f.suppressed
        ? {
            suppressions: [
              {
                kind: f.suppressed === 'inline' ? 'inSource' : 'external',
                status: 'accepted',
                justification:
                  f.suppressed === 'inline' ? 'aliscrub:allow marker' : f.suppressed === 'config' ? 'aliscrub configuration allowlist' : 'aliscrub baseline',
              },
            ],
          }
        : {}),
    };
  }
}

/** The SARIF log; `results` is an array or a {@link LazyArray}. */
function sarifLog(r: GateResult, results: unknown): object {
  const notifications = r.unscanned.map((u) => ({
    level: r.allowUnscanned ? 'warning' : 'error',
    message: { text: `Not scanned (${u.reason}): this input was left out and may hold values that were not checked.` },
    locations: [{ physicalLocation: { artifactLocation: { uri: pathToUri(u.path) } } }],
  }));
  return {
    $schema: SARIF_SCHEMA_URI,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'aliscrub',
            fullName: `aliscrub ${VERSION}`,
            version: VERSION,
            semanticVersion: VERSION,
            informationUri: INFORMATION_URI,
            rules: r.detectors.map(rule),
          },
        },
        invocations: [
          {
            executionSuccessful: true,
            ...(notifications.length > 0 ? { toolExecutionNotifications: notifications } : {}),
          },
        ],
        columnKind: 'unicodeCodePoints',
        results,
      },
    ],
  };
}

export function buildSarif(r: GateResult): object {
  return sarifLog(r, [...results(r, r.findings)]);
}

export function renderSarif(r: GateResult): string {
  return joinChunks(sarifChunks(r));
}

/** {@link renderSarif} in pieces of about 64 KiB, for writing as they come. */
export function sarifChunks(r: GateResult): Generator<string> {
  return chunked(sarifPieces(r));
}

function* sarifPieces(r: GateResult): Generator<string> {
  yield* prettyJson(sarifLog(r, new LazyArray(results(r, gateFindings(r)), true)));
  yield '\n';
}
