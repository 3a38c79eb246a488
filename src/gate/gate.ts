/**
 * The CI gate: a layer over `scan()`'s manifest. It places every finding relative to the scan
 * root, works out where it ends, applies inline `aliscrub:allow` markers, the configuration
 * allowlist and the baseline (in that order), and decides pass or fail:
 *
 *   fail ⇔ some unsuppressed finding is at or above `failOn`
 *          or (some input could not be scanned and not `allowUnscanned`)
 *
 * Suppression only affects reports and the gate: `redact` and `pack` still redact everything.
 * The result holds positions, detector ids and keyed fingerprints only, never a value.
 */
import path from 'node:path';
import pLimit from 'p-limit';
import type { Category } from '../detect/detector.js';
import { reportedDetectors } from '../detect/load.js';
import type { FileRecord, Finding } from '../manifest.js';
import type { ScanResult } from '../run.js';
import type { Allowlist } from './allowlist.js';
import type { Baseline } from './baseline.js';
import { allowedInline, estimatedEnd, inspectFile } from './inspect.js';
import type { EndPosition, Inspection } from './inspect.js';
import { failsAt } from './policy.js';
import type { FailOn } from './policy.js';

/** Why a finding does not count. */
export type Suppression = 'inline' | 'config' | 'baseline';

/** A finding as reports show it. */
export interface GateFinding {
  /** '/'-separated, relative to the scan root. */
  readonly path: string;
  readonly detector: string;
  readonly category: Category;
  /** 1-based line and column (Unicode characters) of the value's first character. */
  readonly line: number;
  readonly column: number;
  /** Line, and column just past the value's last character (Unicode characters). */
  readonly endLine: number;
  readonly endColumn: number;
  /** Byte offsets of the value, end exclusive (see the manifest). */
  readonly start: number;
  readonly end: number;
  readonly fingerprint: string;
  /** True when it counts against the gate (not suppressed and at or above `failOn`). */
  readonly failsGate: boolean;
  readonly suppressed?: Suppression;
}

/**
 * An input that was not (completely) scanned. A `stripped` image had its metadata scanned but
 * not its pixels (reason `pixels-unscanned`): text drawn in a screenshot is not read, so the gate
 * treats it like any other input it could not look at.
 */
export interface UnscannedInput {
  readonly path: string;
  readonly status: 'failed' | 'excluded' | 'stripped' | 'unscanned';
  readonly reason: string;
}

/** Every input and what happened to it. */
export interface GateFile {
  readonly path: string;
  readonly status: 'scanned' | 'stripped' | 'unscanned' | 'excluded' | 'failed';
  /** Why it was excluded or failed. */
  readonly reason?: string;
  /** Findings in it that are not suppressed. */
  readonly findings: number;
}

export interface DetectorInfo {
  readonly id: string;
  readonly category: Category;
  readonly description: string;
}

export interface GateResult {
  readonly failOn: FailOn;
  readonly allowUnscanned: boolean;
  readonly baseline: boolean;
  /** Absolute scan root; report paths are relative to it. Not written into reports. */
  readonly root: string;
  readonly detectors: readonly DetectorInfo[];
  readonly rulesetSha256: string;
  readonly files: readonly GateFile[];
  /** Every finding, suppressed ones included, sorted by path, line, column. */
  readonly findings: readonly GateFinding[];
  readonly unscanned: readonly UnscannedInput[];
  /** Findings that fail the gate. */
  readonly failing: number;
  readonly suppressed: Readonly<Record<Suppression, number>>;
  /** Inputs left out on purpose (--exclude, config `exclude`). */
  readonly excluded: number;
  /**
   * Findings counted but not listed (over the per-detector cap, in categories the gate does not
   * fail on), by category. They are redacted like any other.
   */
  readonly unlisted: Readonly<Record<Category, number>>;
  readonly passed: boolean;
}

export interface GateOptions {
  readonly failOn: FailOn;
  readonly allowUnscanned: boolean;
  /** Absolute folder report paths are relative to (see {@link scanRoot}). */
  readonly root: string;
  readonly allowlist?: Allowlist;
  readonly baseline?: Baseline;
  /** Files re-read at once for inline markers. @default 4 */
  readonly concurrency?: number;
  /** A marker names an unknown detector id; `line` is 1-based. The id is not passed on. */
  readonly onUnknownMarkerId?: (path: string, line: number) => void;
  /** A file changed after it was scanned: its inline markers were not applied. */
  readonly onInconsistent?: (path: string) => void;
}

/**
 * The folder report paths are relative to: the working directory when every input lies inside
 * it (the repository root in CI, so paths match the checkout), otherwise the common input root.
 */
export function scanRoot(cwd: string, base: string): string {
  const rel = path.relative(cwd, base);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel)) ? cwd : base;
}

const posix = (p: string): string => p.split(path.sep).join('/');

function unlistedByCategory(files: readonly FileRecord[]): Record<Category, number> {
  const out: Record<Category, number> = { secret: 0, pii: 0, identifier: 0 };
  for (const f of files) for (const o of ('omitted' in f ? f.omitted : undefined) ?? []) out[o.category] += o.count;
  return out;
}

/** Applies suppressions and the threshold to a scan. */
export async function evaluateGate(scan: ScanResult, opts: GateOptions): Promise<GateResult> {
  const { manifest } = scan;
  const known = new Set(reportedDetectors(scan.ruleset).map((d) => d.id));
  const absOf = (f: FileRecord): string => scan.sources.get(f.path) ?? path.join(scan.base, f.path);
  const reportPath = (f: FileRecord): string => posix(path.relative(opts.root, path.join(scan.base, f.path))) || f.path;

  // Re-read files with findings (bounded concurrency) for markers and end positions.
  const limit = pLimit(opts.concurrency ?? 4);
  const inspections = new Map<string, Inspection>();
  await Promise.all(
    manifest.files.map((f) =>
      limit(async () => {
        if ((f.status !== 'redacted' && f.status !== 'clean') || f.findings.length === 0) return;
        // Only a plain UTF-8 file on disk can be re-read at the manifest's offsets; archive
        // members, decoded (UTF-16, GB18030) and decompressed files keep estimated ends and
        // their markers are not read (their findings stay: fail closed).
        const raw = scan.sources.has(f.path) && f.encoding === 'utf-8' && f.compression === 'none';
        const ins: Inspection = raw
          ? await inspectFile(absOf(f), f.bytesIn, f.findings, known)
          : { consistent: false, markers: [], ends: f.findings.map(estimatedEnd) };
        if (!ins.consistent && raw) opts.onInconsistent?.(reportPath(f));
        for (const m of ins.markers) if (m.unknownId) opts.onUnknownMarkerId?.(reportPath(f), m.line);
        inspections.set(f.path, ins);
      }),
    ),
  );

  const findings: GateFinding[] = [];
  const files: GateFile[] = [];
  const unscanned: UnscannedInput[] = [];
  const suppressed: Record<Suppression, number> = { inline: 0, config: 0, baseline: 0 };
  let excluded = 0;
  for (const f of manifest.files) {
    const rp = reportPath(f);
    if (f.status === 'excluded') {
      if (f.reason === 'excluded') excluded++;
      else unscanned.push({ path: rp, status: 'excluded', reason: f.reason });
      files.push({ path: rp, status: 'excluded', reason: f.reason, findings: 0 });
      continue;
    }
    if (f.status === 'failed') {
      unscanned.push({ path: rp, status: 'failed', reason: f.reason });
      files.push({ path: rp, status: 'failed', reason: f.reason, findings: 0 });
      continue;
    }
    if (f.status === 'unscanned') {
      // Bundled on request (--include-unscanned), but nothing in it was looked at.
      unscanned.push({ path: rp, status: 'unscanned', reason: 'included-unscanned' });
      files.push({ path: rp, status: 'unscanned', reason: 'included-unscanned', findings: 0 });
      continue;
    }
    if (f.status === 'stripped') unscanned.push({ path: rp, status: 'stripped', reason: 'pixels-unscanned' });
    const ins = inspections.get(f.path);
    // The manifest name (a detected value in a file name is already redacted there), never the
    // real name: baselines and allowlists must not hold a value either.
    const absForLists = path.join(scan.base, f.path);
    let counted = 0;
    const here: GateFinding[] = [];
    f.findings.forEach((x: Finding, i) => {
      const end: EndPosition = ins?.ends[i] ?? estimatedEnd(x);
      let why: Suppression | undefined;
      if (ins && allowedInline(ins.markers, x)) why = 'inline';
      else if (opts.allowlist?.matches({ file: absForLists, detector: x.detector, fingerprint: x.fingerprint })) why = 'config';
      else if (opts.baseline?.has(absForLists, x.detector, x.fingerprint)) why = 'baseline';
      if (why) suppressed[why]++;
      else counted++;
      here.push({
        path: rp,
        detector: x.detector,
        category: x.category,
        line: x.line,
        column: x.column,
        endLine: end.endLine,
        endColumn: end.endColumn,
        start: x.start,
        end: x.end,
        fingerprint: x.fingerprint,
        failsGate: !why && failsAt(x.category, opts.failOn),
        ...(why ? { suppressed: why } : {}),
      });
    });
    // Files are already in path order (the manifest's); order each file's findings by position.
    here.sort((a, b) => a.line - b.line || a.column - b.column || (a.detector < b.detector ? -1 : a.detector > b.detector ? 1 : 0));
    for (const x of here) findings.push(x);
    files.push({ path: rp, status: f.status === 'stripped' ? 'stripped' : 'scanned', findings: counted });
  }
  const failing = findings.filter((x) => x.failsGate).length;
  return {
    failOn: opts.failOn,
    allowUnscanned: opts.allowUnscanned,
    baseline: opts.baseline !== undefined,
    root: opts.root,
    detectors: reportedDetectors(scan.ruleset).map((d) => ({ id: d.id, category: d.category, description: d.description })),
    rulesetSha256: manifest.ruleset.sha256,
    files,
    findings,
    unscanned,
    failing,
    suppressed,
    excluded,
    unlisted: unlistedByCategory(manifest.files),
    passed: failing === 0 && (opts.allowUnscanned || unscanned.length === 0),
  };
}
