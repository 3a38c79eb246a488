/**
 * The JSON report (`scan --format json`), schema/report.schema.json, `reportVersion` 1. Bump
 * {@link REPORT_VERSION} on any incompatible change. Holds no value and no source text.
 */
import { readFileSync } from 'node:fs';
import { newAjv } from '../ajv.js';
import type { ValidateFunction } from 'ajv';
import type { Category } from '../detect/detector.js';
import { gateFindings } from '../gate/gate.js';
import type { GateFinding, GateResult } from '../gate/gate.js';
import { LazyArray, chunked, joinChunks, prettyJson } from './stream.js';
import { VERSION } from '../version.js';

export const REPORT_VERSION = 1;

export function buildJsonReport(r: GateResult): unknown {
  return reportObject(r, r.findings.map(findingObject), [...fileObjects(r)]);
}

/** A finding as the report writes it. */
function findingObject(f: GateFinding): object {
  return {
    path: f.path,
    detector: f.detector,
    category: f.category,
    line: f.line,
    column: f.column,
    endLine: f.endLine,
    endColumn: f.endColumn,
    start: f.start,
    end: f.end,
    fingerprint: f.fingerprint,
    failsGate: f.failsGate,
    ...(f.suppressed ? { suppressed: f.suppressed } : {}),
  };
}

function* findingObjects(r: GateResult): Generator<object> {
  for (const f of gateFindings(r)) yield findingObject(f);
}

/** The report; `findings` and `files` are arrays or {@link LazyArray}s. */
function reportObject(r: GateResult, findings: unknown, files: unknown): object {
  const byCategory: Record<Category, number> = { secret: 0, pii: 0, identifier: 0 };
  for (const f of gateFindings(r)) if (!f.suppressed) byCategory[f.category]++;
  let scanned = 0;
  for (const f of r.files) if (f.status === 'scanned') scanned++;
  return {
    reportVersion: REPORT_VERSION,
    tool: { name: 'aliscrub', version: VERSION },
    ruleset: { sha256: r.rulesetSha256, detectors: r.detectors.map((d) => ({ id: d.id, category: d.category })) },
    gate: {
      passed: r.passed,
      failOn: r.failOn,
      allowUnscanned: r.allowUnscanned,
      baseline: r.baseline,
      failing: r.failing,
      unscanned: r.unscanned.length,
    },
    summary: {
      files: r.files.length,
      scanned,
      unscanned: r.unscanned.length,
      excluded: r.excluded,
      findings: byCategory.secret + byCategory.pii + byCategory.identifier,
      byCategory,
      suppressed: { ...r.suppressed },
    },
    findings,
    unscanned: r.unscanned.map((u) => ({ path: u.path, status: u.status, reason: u.reason })),
    files,
  };
}

function* fileObjects(r: GateResult): Generator<object> {
  for (const f of r.files) yield { path: f.path, status: f.status, ...(f.reason ? { reason: f.reason } : {}), findings: f.findings };
}

export function renderJson(r: GateResult): string {
  return joinChunks(jsonChunks(r));
}

/** {@link renderJson} in pieces of about 64 KiB, for writing as they come. */
export function jsonChunks(r: GateResult): Generator<string> {
  return chunked(jsonPieces(r));
}

function* jsonPieces(r: GateResult): Generator<string> {
  yield* prettyJson(reportObject(r, new LazyArray(findingObjects(r), true), new LazyArray(fileObjects(r), true)));
  yield '\n';
}

let compiled: ValidateFunction | undefined;

/** Validates a JSON report against the shipped schema; one line per violation (empty when valid). */
export function validateReport(data: unknown): string[] {
  compiled ??= newAjv({ allErrors: true, strict: false }).compile(JSON.parse(readFileSync(new URL('../../schema/report.schema.json', import.meta.url), 'utf8')) as object);
  const validate = compiled;
  if (validate(data)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}`);
}
