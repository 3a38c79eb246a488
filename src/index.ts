/**
 * Library API. The pipeline: source (collect) → detect (Scanner) → redact (RedactTransform) →
 * bundle (zip or folder), with the manifest as the record.
 */
export { scan, redactToDir, pack } from './run.js';
export type { RunOptions, ScanResult, OutputResult } from './run.js';
export { verifyBundle } from './verify.js';
export type { VerifyResult } from './verify.js';
export { loadRuleset, BUILTIN_PATTERNS_DIR } from './detect/load.js';
export type { Ruleset } from './detect/load.js';
export { Scanner, scanBuffer } from './detect/scanner.js';
export type { Hit } from './detect/scanner.js';
export type { Detector, DetectorSpec, Category } from './detect/detector.js';
export { createRedactor, redactBuffer } from './redact/redactor.js';
export type { RedactionResult } from './redact/redactor.js';
export { Fingerprinter } from './fingerprint.js';
export { validateManifest } from './manifest-schema.js';
export type { Manifest, FileRecord, Finding } from './manifest.js';
export { ExitCode, UsageError, DetectorError, FileError, BundleError } from './errors.js';
export { runCli } from './cli.js';
export { evaluateGate } from './gate/gate.js';
export type { GateOptions, GateResult, GateFinding } from './gate/gate.js';
// The type of ScanResult.inspections (RunOptions.inspectForGate), so callers can name it.
export type { Inspections } from './gate/inspections.js';
export type { KeepPolicy } from './detect/policy.js';
export { renderSarif } from './report/sarif.js';
export * from './incident/index.js';
// Bulk archiving (issue 7): one bundle per incident, per-incident keys and the encrypted unmask map.
export { archive } from './bulk/archive.js';
export type { ArchiveOptions, ArchiveResult, IncidentOutcome } from './bulk/archive.js';
export type { ArchiveIndex, IndexEntry, IndexBundle, IncidentStatus } from './bulk/index-file.js';
export { discoverIncidents, digestIncident } from './bulk/incidents.js';
export type { Incident, InputDigest } from './bulk/incidents.js';
export { IncidentState, defaultStateDir, forgetIncident, stateId } from './pseudonym/state.js';
export { IncidentMinter, unmaskText, ipv4Pseudonym, isPseudonymShape } from './pseudonym/minter.js';
export type { PseudonymMode, UnmaskResult } from './pseudonym/minter.js';
export { stageBundle } from './run.js';
export type { StagedBundle } from './run.js';
export type { TokenMinter } from './redact/redactor.js';
