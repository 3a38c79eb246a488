/**
 * The configuration allowlist: findings suppressed by path glob, detector id or fingerprint.
 * Suppressed findings are still reported (marked as suppressed) but never fail the gate; `redact`
 * and `pack` ignore the allowlist and redact them anyway.
 */
import path from 'node:path';
import micromatch from 'micromatch';
import type { AllowlistSpec } from '../config.js';

interface Rule {
  readonly paths?: readonly string[];
  readonly detectors?: ReadonlySet<string>;
  readonly fingerprints?: ReadonlySet<string>;
}

/** What a finding is matched on. `file` is an absolute path. */
export interface AllowCandidate {
  readonly file: string;
  readonly detector: string;
  readonly fingerprint: string;
}

export class Allowlist {
  private readonly rules: readonly Rule[];

  /**
   * @param spec the `allowlist` section.
   * @param dir folder that path globs are relative to (the config file's folder).
   */
  constructor(
    spec: AllowlistSpec,
    private readonly dir: string,
  ) {
    const rules: Rule[] = [];
    if (spec.paths?.length) rules.push({ paths: spec.paths });
    if (spec.detectors?.length) rules.push({ detectors: new Set(spec.detectors) });
    if (spec.fingerprints?.length) rules.push({ fingerprints: new Set(spec.fingerprints) });
    for (const r of spec.rules ?? []) {
      rules.push({
        paths: r.paths,
        detectors: r.detectors ? new Set(r.detectors) : undefined,
        fingerprints: r.fingerprints ? new Set(r.fingerprints) : undefined,
      });
    }
    this.rules = rules;
  }

  /** Every detector id the allowlist names (checked against the loaded detectors). */
  static detectorIds(spec: AllowlistSpec): string[] {
    return [...(spec.detectors ?? []), ...(spec.rules ?? []).flatMap((r) => r.detectors ?? [])];
  }

  /** True when the allowlist names any fingerprint (those need a stable key). */
  static usesFingerprints(spec: AllowlistSpec): boolean {
    return (spec.fingerprints?.length ?? 0) > 0 || (spec.rules ?? []).some((r) => (r.fingerprints?.length ?? 0) > 0);
  }

  get empty(): boolean {
    return this.rules.length === 0;
  }

  /**
   * {@link matches} for the findings of one file: the path rules are decided once per file
   * rather than once per finding.
   */
  forFile(file: string): (detector: string, fingerprint: string) => boolean {
    const rel = path.relative(this.dir, file).split(path.sep).join('/');
    const pathOk = this.rules.map((r) => !r.paths || micromatch.isMatch(rel, r.paths as string[], { dot: true }));
    return (detector, fingerprint) =>
      this.rules.some((r, i) => pathOk[i] && (!r.detectors || r.detectors.has(detector)) && (!r.fingerprints || r.fingerprints.has(fingerprint)));
  }

  matches(c: AllowCandidate): boolean {
    let rel: string | undefined;
    for (const r of this.rules) {
      if (r.detectors && !r.detectors.has(c.detector)) continue;
      if (r.fingerprints && !r.fingerprints.has(c.fingerprint)) continue;
      if (r.paths) {
        rel ??= path.relative(this.dir, c.file).split(path.sep).join('/');
        if (!micromatch.isMatch(rel, r.paths as string[], { dot: true })) continue;
      }
      return true;
    }
    return false;
  }
}
