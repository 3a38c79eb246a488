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
import type { Category } from '../detect/detector.js';
import { reportedDetectors } from '../detect/load.js';
import type { FileRecord } from '../manifest.js';
import { findingColumns } from '../findings.js';
import type { FindingColumns } from '../findings.js';
import type { ScanResult } from '../run.js';
import type { Allowlist } from './allowlist.js';
import type { Baseline } from './baseline.js';
import { allowedInline, estimatedEndColumnAt, inspectFileCompact, inspectable } from './inspect.js';
import type { CompactInspection } from './inspect.js';
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
  /**
   * Every finding, suppressed ones included, sorted by path, line, column. From
   * {@link evaluateGate}, built on first access and then kept: to go through a large result,
   * iterate {@link gateFindings} instead (one object at a time).
   */
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
  /** Files re-read at once for inline markers and end positions. @default 4 */
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

/** Why a finding does not count, as stored in {@link Table.flags} bits 1–2 (0: counts). */
const SUPPRESSIONS: readonly (Suppression | undefined)[] = [undefined, 'inline', 'config', 'baseline'];

/**
 * The gate's findings without an object per finding (1.2 M findings made 1.2 M objects, each
 * copying a manifest finding): where the manifest's finding is plus the few numbers the gate
 * adds. {@link GateFinding} objects are made on demand, one at a time.
 */
interface Table {
  /** Report path per file. */
  readonly paths: string[];
  /** The findings of each file in `paths`. */
  readonly columns: FindingColumns[];
  /** Index of each file's first finding in the per-finding arrays (files are stored in order). */
  readonly firstOf: number[];
  /** Findings stored. */
  count: number;
  /** Per finding: its index in its file's findings, its end, and flags. */
  readonly index: Uint32Array;
  /** End line and column: 32-bit unless one does not fit (then 64-bit floats, exact to 2^53). */
  endLine: Uint32Array | Float64Array;
  endColumn: Uint32Array | Float64Array;
  /** Bit 0: fails the gate; bits 1–2: index into {@link SUPPRESSIONS}. */
  readonly flags: Uint8Array;
  /** No two files share a report path (so each path's findings come together). */
  grouped: boolean;
}

/** Stores `v` at `k` in the table's `key` array, widening it to Float64Array if `v` does not fit 32 bits. */
function setWide(t: Table, key: 'endLine' | 'endColumn', k: number, v: number): void {
  if (t[key] instanceof Uint32Array && !(v >= 0 && v <= 0xffffffff)) t[key] = Float64Array.from(t[key]);
  t[key][k] = v;
}

const tables = new WeakMap<GateResult, Table>();

function gateFinding(t: Table, file: number, i: number): GateFinding {
  const xs = t.columns[file]!;
  const k = t.index[i]!;
  const flags = t.flags[i]!;
  const why = SUPPRESSIONS[flags >> 1];
  return {
    path: t.paths[file]!,
    detector: xs.detector(k),
    category: xs.category(k),
    line: xs.line(k),
    column: xs.column(k),
    endLine: t.endLine[i]!,
    endColumn: t.endColumn[i]!,
    start: xs.start(k),
    end: xs.end(k),
    fingerprint: xs.fingerprint(k),
    failsGate: (flags & 1) === 1,
    ...(why ? { suppressed: why } : {}),
  };
}

function* tableFindings(t: Table): Generator<GateFinding> {
  let file = 0;
  for (let i = 0; i < t.count; i++) {
    while (file + 1 < t.firstOf.length && t.firstOf[file + 1]! <= i) file++;
    yield gateFinding(t, file, i);
  }
}

/**
 * The findings of a gate result, in order, one object at a time: reports of a large scan use
 * this instead of `findings`, which builds every object at once (and keeps them).
 */
export function gateFindings(r: GateResult): Iterable<GateFinding> {
  const t = tables.get(r);
  return t ? tableFindings(t) : r.findings;
}

/** How many findings {@link gateFindings} yields. */
export function gateFindingCount(r: GateResult): number {
  return tables.get(r)?.count ?? r.findings.length;
}

/** True when a finding's path, once left, never comes back in {@link gateFindings} (each file's findings are together). */
export function findingsGroupedByPath(r: GateResult): boolean {
  return tables.get(r)?.grouped === true;
}

/** Applies suppressions and the threshold to a scan. */
export async function evaluateGate(scan: ScanResult, opts: GateOptions): Promise<GateResult> {
  const { manifest } = scan;
  const known = new Set(reportedDetectors(scan.ruleset).map((d) => d.id));
  const absOf = (f: FileRecord): string => scan.sources.get(f.path) ?? path.join(scan.base, f.path);
  const reportPath = (f: FileRecord): string => posix(path.relative(opts.root, path.join(scan.base, f.path))) || f.path;
  // Only a plain UTF-8 file on disk (a source, not an archive member) is re-read.
  const rereadable = (f: FileRecord): boolean => inspectable(f) && scan.sources.has(f.path);

  // Files the scan inspected already (RunOptions.inspectForGate) are not read again. The others
  // are re-read for markers and end positions: a bounded window of reads runs ahead of the file
  // being evaluated, in manifest order, and each re-read is dropped as soon as its findings are
  // placed.
  const given = scan.inspections;
  const concurrency = Math.max(1, Math.floor(opts.concurrency ?? 4));
  const toRead: number[] = [];
  manifest.files.forEach((f, i) => {
    if (rereadable(f) && !given?.has(f)) toRead.push(i);
  });
  const reading = new Map<number, Promise<CompactInspection>>();
  let nextRead = 0;
  const readAhead = (): void => {
    while (nextRead < toRead.length && reading.size < concurrency) {
      const i = toRead[nextRead++]!;
      const f = manifest.files[i] as Extract<FileRecord, { status: 'redacted' | 'clean' }>;
      reading.set(i, inspectFileCompact(absOf(f), f.bytesIn, f.findings, known));
    }
  };

  let total = 0;
  for (const f of manifest.files) if (f.status === 'redacted' || f.status === 'clean' || f.status === 'stripped') total += f.findings.length;
  const table: Table = {
    paths: [],
    columns: [],
    firstOf: [],
    count: 0,
    index: new Uint32Array(total),
    endLine: new Uint32Array(total),
    endColumn: new Uint32Array(total),
    flags: new Uint8Array(total),
    grouped: true,
  };
  const fails: Record<Category, boolean> = { secret: failsAt('secret', opts.failOn), pii: failsAt('pii', opts.failOn), identifier: failsAt('identifier', opts.failOn) };
  const pathsSeen = new Set<string>();
  const files: GateFile[] = [];
  const unscanned: UnscannedInput[] = [];
  const suppressed: Record<Suppression, number> = { inline: 0, config: 0, baseline: 0 };
  let excluded = 0;
  let failing = 0;
  for (let fi = 0; fi < manifest.files.length; fi++) {
    const f = manifest.files[fi]!;
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
    let ins: CompactInspection | undefined;
    if (rereadable(f)) {
      ins = given?.get(f);
      if (!ins) {
        readAhead();
        ins = await reading.get(fi)!;
        reading.delete(fi);
        readAhead();
      }
      if (!ins.consistent) opts.onInconsistent?.(rp);
      for (const m of ins.markers) if (m.unknownId) opts.onUnknownMarkerId?.(rp, m.line);
    }
    const xs = findingColumns(f.findings);
    if (xs.length === 0) {
      files.push({ path: rp, status: f.status === 'stripped' ? 'stripped' : 'scanned', findings: 0 });
      continue;
    }
    const exact = ins?.consistent === true ? ins : undefined;
    const markers = exact?.markers ?? [];
    // The manifest name (a detected value in a file name is already redacted there), never the
    // real name: baselines and allowlists must not hold a value either.
    const absForLists = path.join(scan.base, f.path);
    const allowed = opts.allowlist?.forFile(absForLists);
    const baselined = opts.baseline?.forFile(absForLists);
    table.paths.push(rp);
    table.columns.push(xs);
    table.firstOf.push(table.count);
    if (pathsSeen.has(rp)) table.grouped = false;
    pathsSeen.add(rp);
    // Files are already in path order (the manifest's); order each file's findings by position.
    const order = positionOrder(xs);
    let counted = 0;
    for (const i of order) {
      const detector = xs.detector(i);
      const category = xs.category(i);
      const line = xs.line(i);
      let why = 0;
      if (markers.length > 0 && allowedInline(markers, { line, detector })) why = 1;
      else if (allowed && allowed(detector, xs.fingerprint(i))) why = 2;
      else if (baselined && baselined(detector, xs.fingerprint(i))) why = 3;
      if (why) suppressed[SUPPRESSIONS[why]!]++;
      else counted++;
      const failsGate = !why && (fails[category] ?? failsAt(category, opts.failOn));
      if (failsGate) failing++;
      const k = table.count++;
      table.index[k] = i;
      setWide(table, 'endLine', k, exact ? exact.ends![2 * i]! : line);
      setWide(table, 'endColumn', k, exact ? exact.ends![2 * i + 1]! : estimatedEndColumnAt(xs, i));
      table.flags[k] = (failsGate ? 1 : 0) | (why << 1);
    }
    files.push({ path: rp, status: f.status === 'stripped' ? 'stripped' : 'scanned', findings: counted });
  }
  // The scan's inspections are not kept past the gate (16 bytes per finding).
  given?.clear();
  let materialized: GateFinding[] | undefined;
  const result: GateResult = {
    failOn: opts.failOn,
    allowUnscanned: opts.allowUnscanned,
    baseline: opts.baseline !== undefined,
    root: opts.root,
    detectors: reportedDetectors(scan.ruleset).map((d) => ({ id: d.id, category: d.category, description: d.description })),
    rulesetSha256: manifest.ruleset.sha256,
    files,
    findings: [],
    unscanned,
    failing,
    suppressed,
    excluded,
    unlisted: unlistedByCategory(manifest.files),
    passed: failing === 0 && (opts.allowUnscanned || unscanned.length === 0),
  };
  // Every finding as an object only when someone asks (reports iterate with gateFindings).
  Object.defineProperty(result, 'findings', {
    enumerable: true,
    configurable: true,
    get: () => (materialized ??= [...tableFindings(table)]),
  });
  tables.set(result, table);
  return result;
}

/** Indexes of a file's findings ordered by line, column, then detector id (ties: manifest order). */
function positionOrder(xs: FindingColumns): number[] {
  const order = Array.from({ length: xs.length }, (_, i) => i);
  const cmp = (a: number, b: number): number => {
    const da = xs.detector(a);
    const db = xs.detector(b);
    return xs.line(a) - xs.line(b) || xs.column(a) - xs.column(b) || (da < db ? -1 : da > db ? 1 : 0);
  };
  for (let k = 1; k < order.length; k++) {
    if (cmp(k - 1, k) > 0) {
      order.sort((a, b) => cmp(a, b) || a - b);
      break;
    }
  }
  return order;
}
