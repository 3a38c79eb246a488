/**
 * The JSON report (`scan --format json`), schema/report.schema.json, `reportVersion` 1. Bump
 * {@link REPORT_VERSION} on any incompatible change. Holds no value and no source text.
 */
import { readFileSync } from 'node:fs';
import { newAjv } from '../ajv.js';
import type { ValidateFunction } from 'ajv';
import type { Category } from '../detect/detector.js';
import type { GateResult } from '../gate/gate.js';
import { VERSION } from '../version.js';

export const REPORT_VERSION = 1;

export function buildJsonReport(r: GateResult): unknown {
  const byCategory: Record<Category, number> = { secret: 0, pii: 0, identifier: 0 };
  for (const f of r.findings) if (!f.suppressed) byCategory[f.category]++;
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
      scanned: r.files.filter((f) => f.status === 'scanned').length,
      unscanned: r.unscanned.length,
      excluded: r.excluded,
      findings: r.findings.filter((f) => !f.suppressed).length,
      byCategory,
      suppressed: { ...r.suppressed },
    },
    findings: r.findings.map((f) => ({
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
    })),
    unscanned: r.unscanned.map((u) => ({ path: u.path, status: u.status, reason: u.reason })),
    files: r.files.map((f) => ({ path: f.path, status: f.status, ...(f.reason ? { reason: f.reason } : {}), findings: f.findings })),
  };
}

export function renderJson(r: GateResult): string {
  return `${JSON.stringify(buildJsonReport(r), null, 2)}\n`;
}

let compiled: ValidateFunction | undefined;

/** Validates a JSON report against the shipped schema; one line per violation (empty when valid). */
export function validateReport(data: unknown): string[] {
  compiled ??= newAjv({ allErrors: true, strict: false }).compile(JSON.parse(readFileSync(new URL('../../schema/report.schema.json', import.meta.url), 'utf8')) as object);
  const validate = compiled;
  if (validate(data)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}`);
}
