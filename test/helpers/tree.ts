/** Temporary folder trees for tests. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Writes `files` (relative path → content) into a new temporary folder and returns its path. */
export function tree(files: Record<string, string | Buffer>, prefix = 'aliscrub-gate-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  for (const [name, content] of Object.entries(files)) {
    const p = path.join(dir, name);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, content);
  }
  return dir;
}

/** The planted values that appear in `haystack` (a report, log or message must show none). */
export function leakedValues(haystack: string, values: readonly string[]): string[] {
  return values.filter((v) => haystack.includes(v));
}

/**
 * `--patterns` for a small built-in subset (AccessKeys, passwords, e-mail/phone, IPv4). Loading
 * every pattern file costs about a second per run; tests of the gate's mechanics do not need it.
 */
export const FAST_PATTERNS: readonly string[] = ['alibaba-keys', 'passwords', 'pii-contact', 'network'].flatMap((f) => [
  '--patterns',
  path.join(path.resolve(fileURLToPath(new URL('../..', import.meta.url))), 'patterns', `${f}.json`),
]);
