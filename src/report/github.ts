/**
 * GitHub Actions workflow commands (`scan --format github`): one `::error`/`::warning`/`::notice`
 * annotation per finding that is not suppressed and per input that was not scanned. Annotations
 * show on the pull request's changed files without uploading SARIF. No value, no source text.
 */
import { gateFindings } from '../gate/gate.js';
import type { GateResult } from '../gate/gate.js';
import { chunked, joinChunks } from './stream.js';

/** Escapes a workflow command's message. */
function escapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** Escapes a workflow command's property value. */
function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

export function renderGithub(r: GateResult): string {
  return joinChunks(githubChunks(r));
}

/** {@link renderGithub} in pieces of about 64 KiB, for writing as they come. */
export function githubChunks(r: GateResult): Generator<string> {
  return chunked(githubLines(r));
}

/** Each annotation, with its newline. */
function* githubLines(r: GateResult): Generator<string> {
  for (const f of gateFindings(r)) {
    if (f.suppressed) continue;
    const cmd = f.failsGate ? 'error' : f.category === 'identifier' ? 'notice' : 'warning';
    const props = [
      `file=${escapeProperty(f.path)}`,
      `line=${f.line}`,
      `col=${f.column}`,
      ...(f.endLine !== f.line ? [`endLine=${f.endLine}`] : []),
      `endColumn=${f.endColumn}`,
      `title=${escapeProperty(`aliscrub ${f.detector}`)}`,
    ].join(',');
    yield `::${cmd} ${props}::${escapeData(`${f.category} value found by ${f.detector} (fingerprint ${f.fingerprint}); the value is not shown`)}\n`;
  }
  for (const u of r.unscanned) {
    const cmd = r.allowUnscanned ? 'warning' : 'error';
    yield `::${cmd} file=${escapeProperty(u.path)},title=${escapeProperty('aliscrub not scanned')}::${escapeData(`not scanned: ${u.reason}`)}\n`;
  }
}
