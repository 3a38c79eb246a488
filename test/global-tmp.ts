/**
 * Vitest global setup: every test's temporary folders (os.tmpdir(), read from TMPDIR, in test
 * workers and in the CLI processes they spawn) go under one folder per run, removed at the end.
 * Tests used to leave their folders behind: thousands of them in /tmp after a day's runs.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export default function setup(): () => void {
  const dir = mkdtempSync(path.join(tmpdir(), 'aliscrub-test-run-'));
  // Searchable by others, like /tmp: one test runs the binary as an unprivileged user.
  chmodSync(dir, 0o755);
  process.env['TMPDIR'] = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
